/**
 * @module `pnpm --filter @hookline/db migrate:dev --name <name> [--create-only]`: Prisma's
 * `migrate dev` without the native engine. Edit `prisma/schema.prisma`, run this, commit the new
 * `prisma/migrations/<timestamp>_<name>/` folder.
 *
 * 1. brings the development database (`DATABASE_URL`, default
 *    `postgresql://postgres@127.0.0.1:5432/hookline_dev`) up to date with the existing history;
 * 2. replays the history on a temporary shadow database on the same server and diffs it against
 *    the schema (the engine refuses if the development database drifted from the history);
 * 3. writes the difference as a new migration folder and, unless `--create-only`, applies it.
 */
import { parseArgs } from 'node:util'
import { migrate } from '../src/migrate.ts'
import { createMigration, openSchemaEngine } from './schema-engine.ts'

const DEFAULT_DEV_DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/hookline_dev'

const { values } = parseArgs({
  options: {
    name: { type: 'string', short: 'n' },
    'create-only': { type: 'boolean', default: false },
  },
})
if (!values.name || !/^[a-z0-9_]+$/.test(values.name)) {
  console.error('usage: migrate:dev --name <snake_case_name> [--create-only]')
  process.exit(2)
}

const databaseUrl = process.env.DATABASE_URL ?? DEFAULT_DEV_DATABASE_URL
const log = (message: string): void => console.log(message)

await migrate(databaseUrl, { log })

const session = await openSchemaEngine(databaseUrl)
const result = await createMigration(session, { name: values.name }).finally(() => session.close())
switch (result.status) {
  case 'reset-required':
    console.error(`The development database drifted from the migration history:\n${result.reason}`)
    console.error('Drop it (the next run recreates it from the history) and try again.')
    process.exitCode = 1
    break
  case 'up-to-date':
    log('schema.prisma and the migrations already agree: no migration created')
    break
  case 'created':
    log(`created prisma/migrations/${result.name}/migration.sql`)
    if (!values['create-only']) await migrate(databaseUrl, { log })
    break
}

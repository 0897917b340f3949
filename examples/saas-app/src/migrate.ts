/**
 * @module `node dist/migrate.js`: applies the app's own migrations (prisma/migrations, Prisma's
 * layout) in name order, each in a transaction, recording them in `app_migrations`. Hookline's
 * tables are migrated by Hookline (`hookline migrate`), in the schema `hookline` with a history of
 * their own.
 *
 * On a machine where Prisma's schema engine can run, `prisma migrate deploy` would do this job;
 * this runner needs nothing but `pg` (see README.md).
 */
import { createHash } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { loadDatabaseUrl } from './env.js'

const MIGRATIONS_DIR = fileURLToPath(new URL('../prisma/migrations/', import.meta.url))
/** Serialises concurrent runs (two instances deploying at once); any key the app owns. */
const LOCK_KEY = 4_711_001

/** Applies pending migrations to `databaseUrl`; resolves to the names applied. */
export async function migrateApp(databaseUrl: string): Promise<string[]> {
  const names = (await readdir(MIGRATIONS_DIR, { withFileTypes: true }))
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY])
    await client.query(`CREATE TABLE IF NOT EXISTS app_migrations (
      name text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`)
    const { rows } = await client.query<{ name: string; checksum: string }>('SELECT name, checksum FROM app_migrations')
    const done = new Map(rows.map((row) => [row.name, row.checksum]))
    const applied: string[] = []
    for (const name of names) {
      const script = await readFile(`${MIGRATIONS_DIR}${name}/migration.sql`, 'utf8')
      const checksum = createHash('sha256').update(script).digest('hex')
      if (done.has(name)) {
        if (done.get(name) !== checksum) throw new Error(`migration ${name} was edited after it was applied`)
        continue
      }
      await client.query('BEGIN')
      try {
        await client.query(script)
        await client.query('INSERT INTO app_migrations (name, checksum) VALUES ($1, $2)', [name, checksum])
        await client.query('COMMIT')
      } catch (error) {
        await client.query('ROLLBACK')
        throw new Error(`migration ${name} failed: ${(error as Error).message}`, { cause: error })
      }
      applied.push(name)
    }
    return applied
  } finally {
    // Ending the session releases the advisory lock.
    await client.end()
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const applied = await migrateApp(loadDatabaseUrl())
  console.log(applied.length ? `applied: ${applied.join(', ')}` : 'app tables are up to date')
}

/**
 * @module The committed migrations and `schema.prisma` agree, as judged by Prisma's own schema
 * engine (WebAssembly) against a real Postgres.
 */
import { randomBytes } from 'node:crypto'
import { cp, mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createMigration, diffDatabase, openSchemaEngine, paths, type SchemaEngineSession } from '../scripts/schema-engine.ts'
import { ensureDatabase, migrate } from './migrate.ts'

const SERVER_URL = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres'
const suffix = randomBytes(6).toString('hex')
const databases = { migrated: `hookline_db_schema_${suffix}`, empty: `hookline_db_schema_empty_${suffix}` }
const tempDirs: string[] = []

function urlOf(name: string): string {
  const url = new URL(SERVER_URL)
  url.pathname = `/${name}`
  return url.toString()
}

async function tempCopyOfMigrations(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'hookline-migrations-'))
  tempDirs.push(dir)
  await cp(paths.migrations, dir, { recursive: true })
  return dir
}

let migrated: SchemaEngineSession

beforeAll(async () => {
  await migrate(urlOf(databases.migrated))
  migrated = await openSchemaEngine(urlOf(databases.migrated))
})

afterAll(async () => {
  await migrated?.close()
  const admin = new pg.Client({ connectionString: SERVER_URL })
  await admin.connect()
  try {
    for (const name of Object.values(databases)) await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
  } finally {
    await admin.end()
  }
  for (const dir of tempDirs) await rm(dir, { recursive: true, force: true })
})

describe('migrations and schema.prisma', () => {
  it('a database migrated by the runner has exactly the schema of schema.prisma', async () => {
    expect(await diffDatabase(migrated)).toBeUndefined()
  })

  it("compresses the inbox's large values with lz4 (this server is PostgreSQL 14+ with lz4)", async () => {
    const client = new pg.Client({ connectionString: urlOf(databases.migrated) })
    await client.connect()
    try {
      await client.query(`INSERT INTO hookline.hookline_events (provider, event_key, type, payload, raw_body)
                          SELECT 'test', 'lz4', 'test', jsonb_build_object('text', repeat('compressible ', 400)), convert_to(repeat('compressible ', 400), 'UTF8')`)
      const { rows } = await client.query(`SELECT pg_column_compression(payload) AS payload, pg_column_compression(raw_body) AS raw FROM hookline.hookline_events WHERE event_key = 'lz4'`)
      expect(rows).toEqual([{ payload: 'lz4', raw: 'lz4' }])
    } finally {
      await client.end()
    }
  })

  it("leaves room on the pages of rows the worker updates right after inserting them, so that the updates are HOT (no index writes)", async () => {
    const client = new pg.Client({ connectionString: urlOf(databases.migrated) })
    await client.connect()
    // The share of this transaction's updates of `table` that stayed on their page (HOT).
    const hotShare = async (table: string): Promise<number> => {
      const { rows } = await client.query(`SELECT pg_stat_get_xact_tuples_hot_updated($1::regclass) AS hot, pg_stat_get_xact_tuples_updated($1::regclass) AS all`, [table])
      return Number(rows[0].hot) / Number(rows[0].all)
    }
    try {
      // As a batch's processing transaction does: entity version rows created (at the epoch) and
      // then moved to the newest applied event, all in one transaction, so nothing can be pruned.
      await client.query('BEGIN')
      await client.query(`INSERT INTO hookline.hookline_entity_versions (provider, entity_key, occurred_at, event_id)
                          SELECT 'hot-test', 'in_' || lpad(i::text, 24, '0'), 'epoch', gen_random_uuid() FROM generate_series(1, 500) i`)
      await client.query(`UPDATE hookline.hookline_entity_versions SET occurred_at = now(), event_id = gen_random_uuid(), updated_at = now() WHERE provider = 'hot-test'`)
      const versions = await hotShare('hookline.hookline_entity_versions')
      await client.query('COMMIT')

      // As the worker does: a batch's attempts opened by the claim, then closed together by the
      // processed mark's transaction.
      await client.query(`WITH ev AS (
                            INSERT INTO hookline.hookline_events (provider, event_key, type, raw_body)
                            SELECT 'hot-test', 'evt_' || i, 'test', '\\x7b7d' FROM generate_series(1, 500) i RETURNING id)
                          INSERT INTO hookline.hookline_attempts (event_id, n) SELECT id, 1 FROM ev`)
      await client.query('BEGIN')
      await client.query(`UPDATE hookline.hookline_attempts AS a SET finished_at = now(), outcome = 'succeeded'
                            FROM hookline.hookline_events AS e WHERE e.id = a.event_id AND e.provider = 'hot-test'`)
      const attempts = await hotShare('hookline.hookline_attempts')
      await client.query('COMMIT')

      // At the tables' earlier fill factors (100 and 80): 0 % and ~20 %.
      expect(versions).toBe(1)
      expect(attempts).toBeGreaterThan(0.75)
    } finally {
      await client.end()
    }
  })

  it('gives inbox events time-ordered ids (UUID version 7): a later event sorts after an earlier one', async () => {
    const client = new pg.Client({ connectionString: urlOf(databases.migrated) })
    await client.connect()
    try {
      const insert = async (key: string): Promise<string> =>
        (await client.query(`INSERT INTO hookline.hookline_events (provider, event_key, type, raw_body) VALUES ('test', $1, 'test', '\\x7b7d') RETURNING id::text`, [key])).rows[0].id
      const before = Date.now()
      const first = await insert('v7-first')
      await new Promise((resolve) => setTimeout(resolve, 5))
      const second = await insert('v7-second')
      for (const id of [first, second]) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      // The first 48 bits are the Unix time in milliseconds.
      const millis = Number.parseInt(first.replace(/-/g, '').slice(0, 12), 16)
      expect(millis).toBeGreaterThanOrEqual(before - 1_000)
      expect(millis).toBeLessThanOrEqual(Date.now() + 1_000)
      expect(second > first).toBe(true)
    } finally {
      await client.end()
    }
  })

  it('replaying the history on a shadow database yields the schema: migrate:dev has nothing to add', async () => {
    // A copy, so that a disagreement can never write a folder into the real history.
    const dir = await tempCopyOfMigrations()

    expect(await createMigration(migrated, { name: 'nothing', migrationsDir: dir })).toEqual({ status: 'up-to-date' })
    expect((await readdir(dir)).sort()).toEqual((await readdir(paths.migrations)).sort())
  })

  it('the engine still writes the newest committed migration from the history before it', async () => {
    await ensureDatabase(urlOf(databases.empty))
    const dir = await mkdtemp(path.join(tmpdir(), 'hookline-migrations-'))
    tempDirs.push(dir)
    const committed = (await readdir(paths.migrations, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort()
    // Migrations marked hand-written hold what schema.prisma cannot express (column compression):
    // the engine never writes them, so the newest one it wrote is the one to compare.
    const handWritten = async (name: string) => (await readFile(path.join(paths.migrations, name, 'migration.sql'), 'utf8')).startsWith('-- Hand-written')
    const generated = []
    for (const name of committed) if (!(await handWritten(name))) generated.push(name)
    const newest = generated.at(-1)!
    for (const name of committed.filter((name) => name < newest)) await cp(path.join(paths.migrations, name), path.join(dir, name), { recursive: true })
    // As `migrate:dev` does: the dev database is first brought up to date with the history.
    await migrate(urlOf(databases.empty), { migrationsDir: dir })
    const session = await openSchemaEngine(urlOf(databases.empty))
    try {
      const result = await createMigration(session, { name: newest.replace(/^\d+_/, ''), migrationsDir: dir })

      expect(result.status).toBe('created')
      if (result.status !== 'created') return
      expect(result.script).toBe(await readFile(path.join(paths.migrations, newest, 'migration.sql'), 'utf8'))
      expect(await readFile(path.join(dir, result.name, 'migration.sql'), 'utf8')).toBe(result.script)
      expect(await readFile(path.join(dir, 'migration_lock.toml'), 'utf8')).toBe(
        await readFile(path.join(paths.migrations, 'migration_lock.toml'), 'utf8'),
      )
    } finally {
      await session.close()
    }
  })

  it('a database that drifted from schema.prisma shows the difference', async () => {
    const client = new pg.Client({ connectionString: urlOf(databases.migrated) })
    await client.connect()
    try {
      await client.query('DROP INDEX hookline."hookline_events_received_at_idx"')
      expect(await diffDatabase(migrated)).toContain('CREATE INDEX "hookline_events_received_at_idx"')
    } finally {
      await client.query('CREATE INDEX "hookline_events_received_at_idx" ON hookline."hookline_events"("received_at")')
      await client.end()
    }
  })
})

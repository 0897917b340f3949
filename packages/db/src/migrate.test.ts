/** @module The offline migration runner against a real Postgres, one fresh database per test. */
import { createHash, randomBytes } from 'node:crypto'
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import {
  DatabaseUrlError,
  MigrationChecksumMismatchError,
  MigrationFailedError,
  PreviousMigrationFailedError,
} from './errors.ts'
import { ensureDatabase, migrate } from './migrate.ts'

const SERVER_URL = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres'
const MIGRATIONS_DIR = fileURLToPath(new URL('../prisma/migrations/', import.meta.url))
const committed = (await readdir(MIGRATIONS_DIR, { withFileTypes: true }))
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort()

const databases: string[] = []
const tempDirs: string[] = []

/** A name (and URL) for a database that does not exist yet; dropped after the file. */
function freshDatabase(): { name: string; url: string } {
  const name = `hookline_db_migrate_${randomBytes(6).toString('hex')}`
  databases.push(name)
  const url = new URL(SERVER_URL)
  url.pathname = `/${name}`
  return { name, url: url.toString() }
}

/** A writable copy of the committed migrations, to edit or extend in one test. */
async function copyOfMigrations(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'hookline-migrations-'))
  tempDirs.push(dir)
  await cp(MIGRATIONS_DIR, dir, { recursive: true })
  return dir
}

async function addMigration(dir: string, name: string, script: string): Promise<void> {
  await mkdir(path.join(dir, name))
  await writeFile(path.join(dir, name, 'migration.sql'), script)
}

async function query<R extends pg.QueryResultRow>(url: string, sql: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query<R>(sql, values)).rows
  } finally {
    await client.end()
  }
}

interface MigrationRow {
  id: string
  checksum: string
  migration_name: string
  finished_at: Date | null
  rolled_back_at: Date | null
  logs: string | null
  applied_steps_count: number
}

const migrationRows = (url: string): Promise<MigrationRow[]> =>
  query<MigrationRow>(url, 'SELECT * FROM "_prisma_migrations" ORDER BY started_at, migration_name')

afterAll(async () => {
  for (const name of databases) await query(SERVER_URL, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
  for (const dir of tempDirs) await rm(dir, { recursive: true, force: true })
})

describe('migrate', () => {
  it('creates the missing database and applies every migration once, recorded as Prisma does', async () => {
    const db = freshDatabase()

    expect(await migrate(db.url)).toEqual({ applied: committed })

    const rows = await migrationRows(db.url)
    expect(rows.map((row) => row.migration_name)).toEqual(committed)
    for (const row of rows) {
      const script = await readFile(path.join(MIGRATIONS_DIR, row.migration_name, 'migration.sql'))
      expect(row.checksum).toBe(createHash('sha256').update(script).digest('hex'))
      expect(row.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      expect(row).toMatchObject({ logs: null, rolled_back_at: null, applied_steps_count: 1 })
      expect(row.finished_at).toBeInstanceOf(Date)
    }
    const tables = await query<{ tablename: string }>(
      db.url,
      `SELECT tablename FROM pg_tables WHERE tablename LIKE 'hookline\\_%' ORDER BY tablename`,
    )
    expect(tables.map((t) => t.tablename)).toEqual([
      'hookline_attempts',
      'hookline_audit_log',
      'hookline_due_events',
      'hookline_entity_versions',
      'hookline_events',
      'hookline_reconcile_cursors',
      'hookline_reconcile_runs',
    ])
  })

  it('applies nothing on a second run', async () => {
    const db = freshDatabase()
    await migrate(db.url)
    const messages: string[] = []

    expect(await migrate(db.url, { log: (m) => messages.push(m) })).toEqual({ applied: [] })
    expect(messages).toEqual(['database is up to date'])
    expect(await migrationRows(db.url)).toHaveLength(committed.length)
  })

  it('applies only the migrations added since the last run', async () => {
    const db = freshDatabase()
    const dir = await copyOfMigrations()
    await migrate(db.url, { migrationsDir: dir })
    await addMigration(dir, '20990101000000_add_note_index', 'CREATE INDEX "x_note_idx" ON "hookline_events"("note");')

    expect(await migrate(db.url, { migrationsDir: dir })).toEqual({ applied: ['20990101000000_add_note_index'] })
  })

  it('refuses when an applied migration was edited afterwards', async () => {
    const db = freshDatabase()
    const dir = await copyOfMigrations()
    await migrate(db.url, { migrationsDir: dir })
    const first = committed[0]!
    await writeFile(path.join(dir, first, 'migration.sql'), '\n-- edited', { flag: 'a' })

    const error = await migrate(db.url, { migrationsDir: dir }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(MigrationChecksumMismatchError)
    expect(error).toMatchObject({
      name: 'MigrationChecksumMismatchError',
      code: 'hookline.db.migration_checksum_mismatch',
      migrationName: first,
    })
  })

  it('accepts an applied migration whose line endings changed, as Prisma does', async () => {
    const db = freshDatabase()
    const dir = await copyOfMigrations()
    await migrate(db.url, { migrationsDir: dir })
    const file = path.join(dir, committed[0]!, 'migration.sql')
    await writeFile(file, (await readFile(file, 'utf8')).replaceAll('\n', '\r\n'))

    expect(await migrate(db.url, { migrationsDir: dir })).toEqual({ applied: [] })
  })

  it('stops at a failing migration, logs it, and refuses to go on until it is rolled back', async () => {
    const db = freshDatabase()
    const dir = await copyOfMigrations()
    const broken = '20990101000000_broken'
    await addMigration(dir, broken, 'CREATE TABLE "half_done" (id int);\nSELECT * FROM "no_such_table";\n')
    await addMigration(dir, '20990102000000_after', 'CREATE TABLE "after_broken" (id int);')

    const failure = await migrate(db.url, { migrationsDir: dir }).catch((e: unknown) => e)
    expect(failure).toBeInstanceOf(MigrationFailedError)
    expect(failure).toMatchObject({ code: 'hookline.db.migration_failed', migrationName: broken })
    const row = (await migrationRows(db.url)).find((r) => r.migration_name === broken)
    expect(row).toMatchObject({ finished_at: null, rolled_back_at: null, applied_steps_count: 0 })
    expect(row?.logs).toContain('no_such_table')
    // The script ran as one implicit transaction: nothing of it stayed, and nothing after it ran.
    const leftovers = await query(db.url, `SELECT 1 FROM pg_tables WHERE tablename IN ('half_done', 'after_broken')`)
    expect(leftovers).toEqual([])

    const refusal = await migrate(db.url, { migrationsDir: dir }).catch((e: unknown) => e)
    expect(refusal).toBeInstanceOf(PreviousMigrationFailedError)
    expect(refusal).toMatchObject({
      name: 'PreviousMigrationFailedError',
      code: 'hookline.db.previous_migration_failed',
      migrationNames: [broken],
    })

    // The documented way out: fix the script, mark the failed row rolled back, migrate again.
    await writeFile(path.join(dir, broken, 'migration.sql'), 'CREATE TABLE "half_done" (id int);\n')
    await query(db.url, `UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE migration_name = $1`, [broken])
    expect(await migrate(db.url, { migrationsDir: dir })).toEqual({ applied: [broken, '20990102000000_after'] })
  })

  it('moves the unfinished and dead events of an existing inbox into the work list', async () => {
    const db = freshDatabase()
    const dir = await mkdtemp(path.join(tmpdir(), 'hookline-migrations-'))
    tempDirs.push(dir)
    // The inbox as it was before the work list existed, with one event in each status.
    for (const name of committed.filter((name) => name < '20261124010322_due_events')) await cp(path.join(MIGRATIONS_DIR, name), path.join(dir, name), { recursive: true })
    await migrate(db.url, { migrationsDir: dir })
    await query(
      db.url,
      `INSERT INTO hookline_events (provider, event_key, type, payload, status, next_attempt_at)
       SELECT 'stripe', s::text, 'invoice.paid', '{}', s, timestamptz '2026-11-20 10:00:00+00'
         FROM unnest(enum_range(NULL::hookline_event_status)) s`,
    )
    await migrate(db.url)

    const due = await query<{ status: string; due_at: Date | null }>(
      db.url,
      `SELECT e.status::text, d.due_at FROM hookline_due_events d JOIN hookline_events e ON e.id = d.event_id ORDER BY 1`,
    )
    const then = new Date('2026-11-20T10:00:00Z')
    expect(due).toEqual([
      { status: 'dead', due_at: null },
      { status: 'failed', due_at: then },
      { status: 'processing', due_at: then },
      { status: 'received', due_at: then },
    ])
  })

  it('serialises concurrent runs on the advisory lock: each migration is applied once', async () => {
    const db = freshDatabase()
    const dir = await copyOfMigrations()
    // Keeps the first run inside the lock long enough for the second to be waiting on it.
    await addMigration(dir, '20990101000000_slow', 'SELECT pg_sleep(0.5);')

    const results = await Promise.all([migrate(db.url, { migrationsDir: dir }), migrate(db.url, { migrationsDir: dir })])

    const applied = results.map((r) => r.applied).sort((a, b) => b.length - a.length)
    expect(applied).toEqual([[...committed, '20990101000000_slow'], []])
    expect(await migrationRows(db.url)).toHaveLength(committed.length + 1)
  })
})

describe('ensureDatabase', () => {
  it('creates the database once and reports whether it did', async () => {
    const db = freshDatabase()

    expect(await ensureDatabase(db.url)).toBe(true)
    expect(await ensureDatabase(db.url)).toBe(false)
    expect(await query(SERVER_URL, 'SELECT 1 FROM pg_database WHERE datname = $1', [db.name])).toHaveLength(1)
  })

  it('tolerates concurrent callers', async () => {
    const db = freshDatabase()

    const created = await Promise.all([ensureDatabase(db.url), ensureDatabase(db.url), ensureDatabase(db.url)])
    expect(created.filter(Boolean)).toHaveLength(1)
    expect(await query(SERVER_URL, 'SELECT 1 FROM pg_database WHERE datname = $1', [db.name])).toHaveLength(1)
  })

  it('rejects a URL that names no database', async () => {
    await expect(ensureDatabase('postgresql://postgres@127.0.0.1:5432')).rejects.toMatchObject({
      name: 'DatabaseUrlError',
      code: 'hookline.db.database_url_invalid',
    })
    await expect(ensureDatabase('not a url')).rejects.toBeInstanceOf(DatabaseUrlError)
  })
})

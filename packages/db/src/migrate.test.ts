/** @module The offline migration runner against a real Postgres, one fresh database per test. */
import { createHash, randomBytes, randomUUID } from 'node:crypto'
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

/** Hookline's tables, schema-qualified, in name order. */
const HOOKLINE_TABLES = ['attempts', 'audit_log', 'due_events', 'entity_versions', 'events', 'issue_events', 'issues', 'outbox', 'pauses', 'prune_cursors', 'reconcile_cursors', 'reconcile_runs'].map((t) => `hookline.hookline_${t}`)

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
  query<MigrationRow>(url, 'SELECT * FROM hookline."_prisma_migrations" ORDER BY started_at, migration_name')

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
      `SELECT schemaname || '.' || tablename AS tablename FROM pg_tables WHERE tablename LIKE 'hookline\\_%' ORDER BY tablename`,
    )
    expect(tables.map((t) => t.tablename)).toEqual(HOOKLINE_TABLES)
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
    await addMigration(dir, '20990101000000_add_note_index', 'CREATE INDEX "x_note_idx" ON hookline."hookline_events"("note");')

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
    await query(db.url, `UPDATE hookline."_prisma_migrations" SET rolled_back_at = now() WHERE migration_name = $1`, [broken])
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
      `INSERT INTO hookline.hookline_events (provider, event_key, type, payload, status, next_attempt_at)
       SELECT 'stripe', s::text, 'invoice.paid', '{}', s, timestamptz '2026-11-20 10:00:00+00'
         FROM unnest(enum_range(NULL::hookline.hookline_event_status)) s`,
    )
    await migrate(db.url)

    const due = await query<{ status: string; due_at: Date | null }>(
      db.url,
      `SELECT e.status::text, d.due_at FROM hookline.hookline_due_events d JOIN hookline.hookline_events e ON e.id = d.event_id ORDER BY 1`,
    )
    const then = new Date('2026-11-20T10:00:00Z')
    expect(due).toEqual([
      { status: 'dead', due_at: null },
      { status: 'failed', due_at: then },
      { status: 'processing', due_at: then },
      { status: 'received', due_at: then },
    ])
  })

  it('numbers the unfinished events of an existing inbox in arrival order, with their entities, ahead of new ones', async () => {
    const db = freshDatabase()
    const dir = await mkdtemp(path.join(tmpdir(), 'hookline-migrations-'))
    tempDirs.push(dir)
    for (const name of committed.filter((name) => name < '20261207075607_entity_arrival_order')) await cp(path.join(MIGRATIONS_DIR, name), path.join(dir, name), { recursive: true })
    await migrate(db.url, { migrationsDir: dir })
    // Stored in this order (ids are time-ordered); the work list's rows written in the reverse one.
    for (const [key, entity] of [['evt_1', 'in_a'], ['evt_2', null], ['evt_3', 'in_a']] as const) {
      await query(db.url, `INSERT INTO hookline.hookline_events (provider, event_key, type, entity_key, raw_body) VALUES ('stripe', $1, 'invoice.paid', $2, '\\x7b7d')`, [key, entity])
      await new Promise((resolve) => setTimeout(resolve, 3))
    }
    await query(db.url, `INSERT INTO hookline.hookline_due_events (event_id, due_at) SELECT id, now() FROM hookline.hookline_events ORDER BY id DESC`)
    await migrate(db.url)
    await query(db.url, `INSERT INTO hookline.hookline_events (provider, event_key, type, raw_body) VALUES ('stripe', 'evt_4', 'invoice.paid', '\\x7b7d')`)
    await query(db.url, `INSERT INTO hookline.hookline_due_events (event_id, due_at) SELECT id, now() FROM hookline.hookline_events WHERE event_key = 'evt_4'`)

    const rows = await query<{ event_key: string; provider: string | null; entity_key: string | null }>(
      db.url,
      `SELECT e.event_key, d.provider, d.entity_key FROM hookline.hookline_due_events d JOIN hookline.hookline_events e ON e.id = d.event_id ORDER BY d.seq`,
    )
    expect(rows).toEqual([
      { event_key: 'evt_1', provider: 'stripe', entity_key: 'in_a' },
      { event_key: 'evt_2', provider: null, entity_key: null },
      { event_key: 'evt_3', provider: 'stripe', entity_key: 'in_a' },
      { event_key: 'evt_4', provider: null, entity_key: null },
    ])
  })

  it("moves a previous release's tables out of public, with their rows and history, leaving the application's own", async () => {
    const db = freshDatabase()
    // What a previous release had applied; the migrations added since run after the move.
    const previousRelease = committed.filter((name) => name <= '20261207075608_entity_arrival_order_backfill')
    // The previous release, as it left a database: Hookline's tables in public and its history in
    // public._prisma_migrations, recorded there next to the application's own Prisma migration.
    await ensureDatabase(db.url)
    const previous = new pg.Client({ connectionString: db.url })
    await previous.connect()
    try {
      await previous.query(`CREATE TABLE "_prisma_migrations" (id varchar(36) PRIMARY KEY, checksum varchar(64) NOT NULL, finished_at timestamptz,
        migration_name varchar(255) NOT NULL, logs text, rolled_back_at timestamptz, started_at timestamptz NOT NULL DEFAULT now(),
        applied_steps_count integer NOT NULL DEFAULT 0)`)
      await previous.query(`CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL)`)
      await previous.query(`INSERT INTO "_prisma_migrations" VALUES ($1, 'app', now(), '20260101000000_app_init', NULL, NULL, now(), 1)`, [randomUUID()])
      for (const name of previousRelease) {
        const script = await readFile(path.join(MIGRATIONS_DIR, name, 'migration.sql'))
        await previous.query(script.toString('utf8'))
        await previous.query(`INSERT INTO "_prisma_migrations" VALUES ($1, $2, now(), $3, NULL, NULL, now(), 1)`, [randomUUID(), createHash('sha256').update(script).digest('hex'), name])
      }
      await previous.query(`INSERT INTO hookline_events (provider, event_key, type, status) VALUES ('stripe', 'evt_before', 'invoice.paid', 'dead')`)
      await previous.query(`INSERT INTO customers (name) VALUES ('Ada')`)
    } finally {
      await previous.end()
    }

    // Moved first, then brought up to date in its schema.
    expect(await migrate(db.url)).toEqual({ applied: committed.slice(previousRelease.length) })

    const tables = await query<{ at: string }>(db.url, `SELECT schemaname || '.' || tablename AS at FROM pg_tables WHERE tablename LIKE 'hookline\\_%' OR tablename = 'customers' ORDER BY 1`)
    expect(tables.map((t) => t.at)).toEqual([...HOOKLINE_TABLES, 'public.customers'])
    const types = await query<{ at: string }>(db.url, `SELECT n.nspname || '.' || t.typname AS at FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.typname LIKE 'hookline\\_%' AND t.typtype = 'e' ORDER BY 1`)
    expect(types.map((t) => t.at)).toEqual(['hookline.hookline_attempt_outcome', 'hookline.hookline_event_source', 'hookline.hookline_event_status', 'hookline.hookline_issue_status', 'hookline.hookline_reconcile_status'])
    expect((await migrationRows(db.url)).map((row) => row.migration_name)).toEqual(committed)
    expect(await query(db.url, `SELECT migration_name FROM public."_prisma_migrations"`)).toEqual([{ migration_name: '20260101000000_app_init' }])
    // The rows came along, and new ids are still UUID v7 (the default's function moved too).
    expect(await query(db.url, `SELECT event_key, status::text FROM hookline.hookline_events`)).toEqual([{ event_key: 'evt_before', status: 'dead' }])
    const [inserted] = await query<{ id: string }>(db.url, `INSERT INTO hookline.hookline_events (provider, event_key, type) VALUES ('stripe', 'evt_after', 'invoice.paid') RETURNING id::text`)
    expect(inserted!.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/)
    expect(await query(db.url, `SELECT name FROM public.customers`)).toEqual([{ name: 'Ada' }])
    expect(await migrate(db.url)).toEqual({ applied: [] })
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

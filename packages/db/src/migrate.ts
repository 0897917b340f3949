/**
 * @module Offline migration runner: applies `prisma/migrations` over `pg` inside Hookline's own
 * Postgres schema (default `hookline`) and records them in that schema's own `_prisma_migrations`
 * exactly as Prisma's schema engine does — so that `prisma migrate status` pointed at the schema
 * sees the same history, and an application's own `public._prisma_migrations` holds none of it.
 */
import { createHash, randomUUID } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import {
  DatabaseUrlError,
  MigrationChecksumMismatchError,
  MigrationFailedError,
  MigrationsDirectoryError,
  PreviousMigrationFailedError,
} from './errors.ts'

/** This package's own migration history. */
const DEFAULT_MIGRATIONS_DIR = fileURLToPath(new URL('../prisma/migrations/', import.meta.url))

/** The Postgres schema Hookline's tables live in unless told otherwise. */
export const DEFAULT_SCHEMA = 'hookline'

/**
 * What the previous releases created in `public`, moved into the schema on the first run of this
 * one (their indexes, constraints and sequences move with their tables).
 */
const PREVIOUS_RELEASE_OBJECTS = {
  tables: ['hookline_events', 'hookline_due_events', 'hookline_attempts', 'hookline_entity_versions', 'hookline_audit_log', 'hookline_reconcile_runs', 'hookline_reconcile_cursors'],
  types: ['hookline_event_status', 'hookline_event_source', 'hookline_attempt_outcome', 'hookline_reconcile_status'],
  functions: ['hookline_uuid_v7()'],
}

/** Prisma's own definition of its bookkeeping table. */
const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`

// SQLSTATEs: the database does not exist / was created concurrently by someone else.
const INVALID_CATALOG_NAME = '3D000'
const DUPLICATE_DATABASE = '42P04'
const UNIQUE_VIOLATION = '23505'

/** Options of {@link migrate}. */
export interface MigrateOptions {
  /**
   * Receives one human-readable line per step (database created, migration applied, …).
   * @defaultValue no logging
   */
  log?: (message: string) => void
  /**
   * Directory of `<timestamp>_<name>/migration.sql` folders, applied in name order.
   * @defaultValue this package's `prisma/migrations`
   */
  migrationsDir?: string
  /**
   * The Postgres schema holding Hookline's tables and their migration history.
   * @defaultValue 'hookline'
   */
  schema?: string
}

/** Outcome of {@link migrate}. */
export interface MigrateResult {
  /** Names of the migrations applied by this run, in order; empty when already up to date. */
  applied: string[]
}

interface LocalMigration {
  name: string
  script: string
  checksum: string
}

interface MigrationRow {
  id: string
  checksum: string
  migration_name: string
  finished_at: Date | null
  rolled_back_at: Date | null
}

function sha256(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex')
}

/**
 * Whether `script` is the one recorded with `checksum`. Like Prisma's engine, a checkout that
 * only changed line endings (git's autocrlf) still matches.
 */
function matchesChecksum(script: string, checksum: string): boolean {
  const lf = script.replaceAll('\r\n', '\n')
  return [script, lf, lf.replaceAll('\n', '\r\n')].some((variant) => sha256(variant) === checksum)
}

function parseDatabaseUrl(databaseUrl: string): { url: URL; database: string } {
  let url: URL
  try {
    url = new URL(databaseUrl)
  } catch (error) {
    throw new DatabaseUrlError('the database URL is not a valid URL', { cause: error })
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''))
  if (database === '') throw new DatabaseUrlError(`the database URL names no database: ${url.host}`)
  return { url, database }
}

function pgCode(error: unknown): string | undefined {
  return error instanceof pg.DatabaseError ? error.code : undefined
}

/**
 * Creates the database named in `databaseUrl` if it does not exist, connecting to the `postgres`
 * maintenance database of the same server to do so. Safe to call concurrently.
 *
 * @returns `true` when this call created the database.
 * @example
 * ```ts
 * await ensureDatabase('postgresql://postgres@127.0.0.1:5432/hookline')
 * ```
 */
export async function ensureDatabase(databaseUrl: string): Promise<boolean> {
  const { url, database } = parseDatabaseUrl(databaseUrl)
  // Try the database itself first: a role may own its database without access to `postgres`.
  const probe = new pg.Client({ connectionString: databaseUrl })
  try {
    await probe.connect()
    return false
  } catch (error) {
    if (pgCode(error) !== INVALID_CATALOG_NAME) throw error
  } finally {
    await probe.end()
  }

  url.pathname = '/postgres'
  const admin = new pg.Client({ connectionString: url.toString() })
  await admin.connect()
  try {
    await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(database)}`)
    return true
  } catch (error) {
    // A concurrent caller won the race; the database exists, which is all that was asked.
    const code = pgCode(error)
    if (code === DUPLICATE_DATABASE || code === UNIQUE_VIOLATION) return false
    throw error
  } finally {
    await admin.end()
  }
}

async function readMigrations(migrationsDir: string): Promise<LocalMigration[]> {
  const entries = await readdir(migrationsDir, { withFileTypes: true }).catch((error: unknown) => {
    throw new MigrationsDirectoryError(`cannot read migrations directory ${migrationsDir}`, {
      cause: error,
    })
  })
  const names = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    // The same order as Prisma's CLI, which hands the engine the folders sorted this way.
    .sort((a, b) => a.localeCompare(b))
  return Promise.all(
    names.map(async (name) => {
      const file = path.join(migrationsDir, name, 'migration.sql')
      const bytes = await readFile(file).catch((error: unknown) => {
        throw new MigrationsDirectoryError(`migration "${name}" has no readable ${file}`, {
          cause: error,
        })
      })
      return { name, script: bytes.toString('utf8'), checksum: sha256(bytes) }
    }),
  )
}

/** The text Prisma's engine stores in `logs` for a failed migration, closely enough to read. */
function failureLogs(error: unknown): string {
  if (error instanceof pg.DatabaseError) {
    const detail = error.detail ? `\n\nDETAIL: ${error.detail}` : ''
    const position = error.position ? `\n\nPosition: ${error.position}` : ''
    return `Database error code: ${error.code}\n\nDatabase error:\nERROR: ${error.message}${detail}${position}`
  }
  return error instanceof Error ? (error.stack ?? error.message) : String(error)
}

/**
 * Moves a previous release's tables, types and function from `public` into `schema`, with their
 * history: the rows of Hookline's migrations leave `public._prisma_migrations` (which the previous
 * release wrote) for the schema's own. One transaction; nothing happens when the schema already
 * holds the inbox or `public` holds none.
 */
async function adoptPreviousRelease(client: pg.Client, schema: string, migrations: readonly LocalMigration[], log: (message: string) => void): Promise<void> {
  const { rows } = await client.query<{ previous: boolean }>(
    `SELECT to_regclass('public.hookline_events') IS NOT NULL AND to_regclass($1) IS NULL
            AND to_regclass('public._prisma_migrations') IS NOT NULL AS previous`,
    [`${client.escapeIdentifier(schema)}.hookline_events`],
  )
  if (!rows[0]?.previous) return
  const target = client.escapeIdentifier(schema)
  await client.query('BEGIN')
  try {
    for (const table of PREVIOUS_RELEASE_OBJECTS.tables) await client.query(`ALTER TABLE IF EXISTS public.${table} SET SCHEMA ${target}`)
    for (const type of PREVIOUS_RELEASE_OBJECTS.types) {
      const { rows: found } = await client.query(`SELECT to_regtype($1) AS t`, [`public.${type}`])
      if (found[0]?.t) await client.query(`ALTER TYPE public.${type} SET SCHEMA ${target}`)
    }
    for (const fn of PREVIOUS_RELEASE_OBJECTS.functions) {
      const { rows: found } = await client.query(`SELECT to_regprocedure($1) AS f`, [`public.${fn}`])
      if (found[0]?.f) await client.query(`ALTER FUNCTION public.${fn} SET SCHEMA ${target}`)
    }
    await client.query(CREATE_MIGRATIONS_TABLE)
    const names = migrations.map((m) => m.name)
    await client.query(
      `WITH moved AS (DELETE FROM public."_prisma_migrations" WHERE migration_name = ANY($1::text[]) RETURNING *)
       INSERT INTO "_prisma_migrations" SELECT * FROM moved`,
      [names],
    )
    await client.query('COMMIT')
  } catch (error) {
    await client.query('ROLLBACK')
    throw error
  }
  log(`moved Hookline's tables from public into schema ${schema}`)
}

async function applyPending(
  client: pg.Client,
  migrations: readonly LocalMigration[],
  log: (message: string) => void,
): Promise<string[]> {
  await client.query(CREATE_MIGRATIONS_TABLE)
  const { rows } = await client.query<MigrationRow>(
    `SELECT id, checksum, migration_name, finished_at, rolled_back_at
       FROM "_prisma_migrations" ORDER BY started_at, migration_name`,
  )

  const failed = rows.filter((row) => row.finished_at === null && row.rolled_back_at === null)
  if (failed.length > 0) throw new PreviousMigrationFailedError(failed.map((row) => row.migration_name))

  const applied = new Map(
    rows.filter((row) => row.rolled_back_at === null).map((row) => [row.migration_name, row]),
  )
  for (const migration of migrations) {
    const row = applied.get(migration.name)
    if (row && !matchesChecksum(migration.script, row.checksum)) {
      throw new MigrationChecksumMismatchError(migration.name, row.checksum, migration.checksum)
    }
  }

  const appliedNow: string[] = []
  for (const migration of migrations.filter((m) => !applied.has(m.name))) {
    const id = randomUUID()
    await client.query(
      `INSERT INTO "_prisma_migrations" (id, checksum, started_at, migration_name)
       VALUES ($1, $2, now(), $3)`,
      [id, migration.checksum, migration.name],
    )
    try {
      // One simple-protocol query: Postgres runs a multi-statement script as one implicit
      // transaction, so a failing script leaves nothing half-applied (as with Prisma's engine).
      await client.query(migration.script)
    } catch (error) {
      await client.query(`UPDATE "_prisma_migrations" SET logs = $2 WHERE id = $1`, [
        id,
        failureLogs(error),
      ])
      throw new MigrationFailedError(migration.name, { cause: error })
    }
    await client.query(
      `UPDATE "_prisma_migrations" SET applied_steps_count = applied_steps_count + 1 WHERE id = $1`,
      [id],
    )
    await client.query(`UPDATE "_prisma_migrations" SET finished_at = now() WHERE id = $1`, [id])
    log(`applied migration ${migration.name}`)
    appliedNow.push(migration.name)
  }
  return appliedNow
}

/**
 * Brings Hookline's schema in the database at `databaseUrl` up to date with the migration
 * history: creates the database and the schema if missing, takes an advisory lock of its own (so
 * concurrent runs serialise and apply each migration once), moves a previous release's tables out
 * of `public`, refuses to go on after an earlier failed migration or when an applied migration was
 * edited, then applies each pending migration in name order inside the schema.
 *
 * @throws {@link PreviousMigrationFailedError}, {@link MigrationChecksumMismatchError},
 *   {@link MigrationFailedError}, {@link MigrationsDirectoryError}, {@link DatabaseUrlError}
 * @example
 * ```ts
 * const { applied } = await migrate(process.env.DATABASE_URL!, { log: console.log })
 * ```
 */
export async function migrate(databaseUrl: string, options: MigrateOptions = {}): Promise<MigrateResult> {
  const log = options.log ?? (() => {})
  const migrations = await readMigrations(options.migrationsDir ?? DEFAULT_MIGRATIONS_DIR)
  if (await ensureDatabase(databaseUrl)) log(`created database ${parseDatabaseUrl(databaseUrl).database}`)

  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    const schema = options.schema ?? DEFAULT_SCHEMA
    await client.query(`SELECT pg_advisory_lock(hashtextextended('hookline-migrate' || chr(31) || $1, 0))`, [schema])
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${client.escapeIdentifier(schema)}`)
    // Unqualified names in the scripts, and the history table, are the schema's.
    await client.query(`SET search_path TO ${client.escapeIdentifier(schema)}`)
    await adoptPreviousRelease(client, schema, migrations, log)
    const applied = await applyPending(client, migrations, log)
    log(applied.length === 0 ? 'database is up to date' : `applied ${applied.length} migration(s)`)
    return { applied }
  } finally {
    // Ending the session releases the session-level advisory lock, even after an error.
    await client.end()
  }
}

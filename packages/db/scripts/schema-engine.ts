/**
 * @module Prisma's schema engine as WebAssembly, driven through `@prisma/adapter-pg`: computes
 * diffs and new migrations where the native `schema-engine` binary cannot be downloaded.
 * A development tool over an internal, unversioned API; the versions are pinned exactly.
 */
import { randomUUID } from 'node:crypto'
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { PrismaPg } from '@prisma/adapter-pg'
import { DEFAULT_SCHEMA } from '../src/migrate.ts'
import {
  bindMigrationAwareSqlAdapterFactory,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
} from '@prisma/driver-adapter-utils'
import * as bindings from '@prisma/schema-engine-wasm/schema_engine_bg'
import type {
  MigrationList,
  SchemaEngine,
  SchemaFilter,
  SchemasContainer,
} from '@prisma/schema-engine-wasm/schema_engine_bg'
import pg from 'pg'

const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/** Where this package keeps its schema and migration history. */
export const paths = {
  schema: path.join(packageRoot, 'prisma', 'schema.prisma'),
  migrations: path.join(packageRoot, 'prisma', 'migrations'),
} as const

const LOCKFILE = 'migration_lock.toml'
const MIGRATION_FILE = 'migration.sql'
const NO_FILTER: SchemaFilter = { externalTables: [], externalEnums: [] }

// The base tsconfig has no DOM lib, which is where TypeScript declares `WebAssembly`; Node has
// it as a global. This is the part used here.
declare const WebAssembly: {
  instantiate(
    bytes: Uint8Array,
    imports: Record<string, object>,
  ): Promise<{ instance: { exports: Record<string, unknown> } }>
}

let loading: Promise<void> | undefined

/**
 * Instantiates the engine's WebAssembly once per process. The package's own entry does
 * `import * as wasm from "./schema_engine_bg.wasm"`, which Node 20 cannot load, so the bytes are
 * instantiated here against the package's JS glue instead.
 */
function loadWasm(): Promise<void> {
  loading ??= (async () => {
    const require = createRequire(import.meta.url)
    const glue = require.resolve('@prisma/schema-engine-wasm/schema_engine_bg')
    const bytes = await readFile(glue.replace(/\.js$/, '.wasm'))
    const { instance } = await WebAssembly.instantiate(bytes, { './schema_engine_bg.js': bindings })
    const exports = instance.exports as { __wbindgen_start(): void }
    ;(bindings as unknown as { __wbg_set_wasm(wasm: object): void }).__wbg_set_wasm(exports)
    exports.__wbindgen_start()
  })()
  return loading
}

/** The same URL with another database name. */
function withDatabase(databaseUrl: string, database: string): string {
  const url = new URL(databaseUrl)
  url.pathname = `/${encodeURIComponent(database)}`
  return url.toString()
}

async function adminQuery(databaseUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}

// Postgres's one-byte internal type `"char"` (e.g. `pg_constraint.contype`, read by the engine's
// catalog queries) has no mapping in adapter-pg, which rejects the whole result set. Its values
// arrive as one-character strings, so they are declared `text`, which the engine reads as-is.
const PG_CHAR = 18
const PG_TEXT = 25

/** The part of adapter-pg's queryables (internal, hence the pinned version) that sees field types. */
interface PgQueryable {
  performIO(query: unknown): Promise<{ fields: Array<{ dataTypeID: number }> }>
}

/** The part of adapter-pg's adapter (internal too) that runs scripts: its `pg` client, its error mapping. */
interface PgScriptRunner {
  client: { query(sql: string): Promise<unknown> }
  onError(error: unknown): never
}

// adapter-pg runs a script by splitting it at every `;`, which cuts a `DO $$ … $$` block (as in a
// hand-written migration) apart. Postgres takes the whole script as one simple query, which is
// also how the migration runner (`migrate.ts`) applies it: the engine's shadow replay does the same.
function runScriptsWhole<T extends SqlDriverAdapter>(adapter: T): T {
  const internal = adapter as T & PgScriptRunner
  adapter.executeScript = async (script) => {
    try {
      // Hookline's migrations name no schema: they are applied inside its own (as `migrate` does).
      await internal.client.query(`CREATE SCHEMA IF NOT EXISTS "${DEFAULT_SCHEMA}";\n${script}`)
    } catch (error) {
      internal.onError(error)
    }
  }
  return adapter
}

function readCharAsText<T extends object>(queryable: T): T {
  const target = queryable as T & PgQueryable
  const performIO = target.performIO.bind(target)
  target.performIO = async (query) => {
    const result = await performIO(query)
    for (const field of result.fields) if (field.dataTypeID === PG_CHAR) field.dataTypeID = PG_TEXT
    return result
  }
  return queryable
}

async function connectAdapter(databaseUrl: string): Promise<SqlDriverAdapter> {
  const adapter = runScriptsWhole(readCharAsText(await new PrismaPg({ connectionString: databaseUrl, options: `-c search_path=${DEFAULT_SCHEMA}` }, { schema: DEFAULT_SCHEMA }).connect()))
  const startTransaction = adapter.startTransaction.bind(adapter)
  adapter.startTransaction = async (isolationLevel) => readCharAsText(await startTransaction(isolationLevel))
  return adapter
}

/**
 * An adapter factory for the engine. `PrismaPg#connectToShadowDb` is not used because it builds
 * the shadow pool as `{ connectionString, database }`, and `pg` lets the connection string win:
 * the migration history would be replayed on the main database instead of the new shadow one.
 */
function adapterFactory(
  databaseUrl: string,
  opened: SqlDriverAdapter[],
): SqlMigrationAwareDriverAdapterFactory {
  return {
    provider: 'postgres',
    adapterName: '@prisma/adapter-pg',
    async connect(): Promise<SqlDriverAdapter> {
      const adapter = await connectAdapter(databaseUrl)
      opened.push(adapter)
      return adapter
    },
    async connectToShadowDb(): Promise<SqlDriverAdapter> {
      const name = `prisma_migrate_shadow_db_${randomUUID()}`
      await adminQuery(databaseUrl, `CREATE DATABASE "${name}"`)
      const shadow = await connectAdapter(withDatabase(databaseUrl, name))
      const dispose = shadow.dispose.bind(shadow)
      shadow.dispose = async () => {
        await dispose()
        await adminQuery(databaseUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
      }
      return shadow
    },
  }
}

/** Reads a migrations directory the way Prisma's CLI does (folders sorted by name). */
async function readMigrationsList(migrationsDir: string): Promise<MigrationList> {
  const lockContent = await readFile(path.join(migrationsDir, LOCKFILE), 'utf8').catch(() => null)
  const entries = await readdir(migrationsDir, { withFileTypes: true }).catch(() => [])
  const migrationDirectories = await Promise.all(
    entries
      .filter((entry) => entry.isDirectory())
      .map(async (entry) => ({
        path: entry.name,
        migrationFile: {
          path: MIGRATION_FILE,
          content: await readFile(path.join(migrationsDir, entry.name, MIGRATION_FILE), 'utf8').then(
            (value) => ({ tag: 'ok' as const, value }),
            (error: Error) => ({ tag: 'error' as const, value: error.message }),
          ),
        },
      })),
  )
  migrationDirectories.sort((a, b) => a.path.localeCompare(b.path))
  return {
    baseDir: migrationsDir,
    lockfile: { path: LOCKFILE, content: lockContent },
    shadowDbInitScript: '',
    migrationDirectories,
  }
}

/** A running engine bound to one database; its shadow databases live on the same server. */
export interface SchemaEngineSession {
  /** The raw engine, for calls this module does not wrap. */
  readonly engine: SchemaEngine
  /** The schema files the engine was started with. */
  readonly schema: SchemasContainer
  /** Releases the engine and its connections to the main database. */
  close(): Promise<void>
}

/**
 * Starts the engine on `databaseUrl` with `schemaPath` as its datamodel. Shadow databases are
 * created on the same server and dropped when the engine is done with them.
 *
 * @example
 * ```ts
 * const session = await openSchemaEngine('postgresql://postgres@127.0.0.1:5432/postgres')
 * try { console.log(await diffDatabase(session)) } finally { await session.close() }
 * ```
 */
export async function openSchemaEngine(
  databaseUrl: string,
  schemaPath: string = paths.schema,
): Promise<SchemaEngineSession> {
  await loadWasm()
  const content = await readFile(schemaPath, 'utf8')
  const file = { path: path.basename(schemaPath), content }
  // The engine calls the factory's methods unbound and expects `{ ok, value }` results: the
  // binding from driver-adapter-utils provides both, as it does for Prisma's own wasm engines.
  // Freeing the engine does not dispose what it connected: without this, the idle pool keeps the
  // process alive.
  const opened: SqlDriverAdapter[] = []
  const engine = await bindings.SchemaEngine.new(
    { datamodels: [[file.path, file.content]] },
    () => {},
    bindMigrationAwareSqlAdapterFactory(adapterFactory(databaseUrl, opened)),
  )
  return {
    engine,
    schema: { files: [file] },
    async close() {
      engine.free()
      await Promise.all(opened.splice(0).map((adapter) => adapter.dispose()))
    },
  }
}

/**
 * The SQL that would bring the session's database to its schema; `undefined` when they agree.
 *
 * @example
 * ```ts
 * expect(await diffDatabase(session)).toBeUndefined()
 * ```
 */
export async function diffDatabase(session: SchemaEngineSession): Promise<string | undefined> {
  const result = await session.engine.diff({
    from: { tag: 'schemaDatasource', files: session.schema.files, configDir: packageRoot },
    to: { tag: 'schemaDatamodel', files: session.schema.files },
    script: true,
    exitCode: true,
    filters: NO_FILTER,
  })
  // Exit code 2 is the engine's "the diff is not empty" (the CLI's `--exit-code`).
  return result.exitCode === 2 ? (result.stdout ?? '') : undefined
}

/** Outcome of {@link createMigration}. */
export type CreateMigrationResult =
  /** A new folder `<timestamp>_<name>` was written. */
  | { status: 'created'; name: string; script: string }
  /** The history already produces the schema: nothing was written. */
  | { status: 'up-to-date' }
  /** The session's database drifted from the history (Prisma's `migrate dev` would reset it). */
  | { status: 'reset-required'; reason: string }

/**
 * Replays `migrationsDir` on a temporary shadow database, diffs it against the session's schema
 * and writes the difference as a new migration folder (plus `migration_lock.toml`), laid out
 * exactly as `prisma migrate dev --create-only` does. Writes nothing if the session's database
 * drifted from the history.
 *
 * @example
 * ```ts
 * const result = await createMigration(session, { name: 'add_tenant_index' })
 * if (result.status === 'created') console.log(result.name)
 * ```
 */
export async function createMigration(
  session: SchemaEngineSession,
  options: { name: string; migrationsDir?: string },
): Promise<CreateMigrationResult> {
  const migrationsDir = options.migrationsDir ?? paths.migrations
  const migrationsList = await readMigrationsList(migrationsDir)
  // The wasm engine's `createMigration` cannot open a shadow database itself (only `diff` and the
  // diagnostics receive the adapter factory): it reuses the schema that `devDiagnostic` computed
  // on the shadow database, cached by migration list, just as Prisma's CLI sequences `migrate dev`.
  const { action } = await session.engine.devDiagnostic({ migrationsList, filters: NO_FILTER })
  if (action.tag === 'reset') return { status: 'reset-required', reason: action.reason }

  const output = await session.engine.createMigration({
    draft: false,
    migrationName: options.name,
    migrationsList,
    schema: session.schema,
    filters: NO_FILTER,
  })
  if (output.migrationScript === null) return { status: 'up-to-date' }
  const folder = path.join(migrationsDir, output.generatedMigrationName)
  await mkdir(folder, { recursive: true })
  await writeFile(path.join(folder, `migration.${output.extension}`), output.migrationScript, 'utf8')
  await writeFile(
    path.join(migrationsDir, LOCKFILE),
    '# Please do not edit this file manually\n' +
      '# It should be added in your version-control system (e.g., Git)\n' +
      `provider = "${output.connectorType}"\n`,
    'utf8',
  )
  return { status: 'created', name: output.generatedMigrationName, script: output.migrationScript }
}

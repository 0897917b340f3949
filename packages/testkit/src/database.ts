/** @module Isolated, fully migrated Postgres databases for tests, and their removal. */
import { randomBytes } from 'node:crypto'
import { migrate } from '@hookline/db'
import pg from 'pg'

/** The Postgres server tests use unless `TEST_DATABASE_URL` says otherwise. */
const DEFAULT_BASE_URL = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres'

/** Options of {@link createTestDatabase}. */
export interface CreateTestDatabaseOptions {
  /**
   * Any URL on the server to create the database on; only its host, port and credentials are
   * used (the database is created through the server's `postgres` maintenance database).
   * @defaultValue `process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres'`
   */
  baseUrl?: string
  /**
   * The Postgres schema Hookline's migrations go into.
   * @defaultValue 'hookline'
   */
  schema?: string
}

/** A database of one's own, with Hookline's migrations applied. */
export interface TestDatabase {
  /** Connection URL of the new database. */
  url: string
  /** Its name, `hookline_test_<random hex>`. */
  name: string
  /** Terminates its remaining connections and drops it. Safe to call more than once. */
  drop(): Promise<void>
}

function withDatabase(baseUrl: string, database: string): string {
  const url = new URL(baseUrl)
  url.pathname = `/${database}`
  return url.toString()
}

/**
 * Creates `hookline_test_<random>` on the server of `baseUrl` and applies Hookline's migrations
 * with `migrate()` from `@hookline/db`, so each test file works on a database nobody else
 * touches and can run in parallel with the others.
 *
 * @example
 * ```ts
 * const db = await createTestDatabase()
 * afterAll(() => db.drop())
 * const prisma = createPrismaClient(db.url)
 * ```
 */
export async function createTestDatabase(options: CreateTestDatabaseOptions = {}): Promise<TestDatabase> {
  const baseUrl = options.baseUrl ?? DEFAULT_BASE_URL
  const name = `hookline_test_${randomBytes(6).toString('hex')}`
  const url = withDatabase(baseUrl, name)
  const drop = async (): Promise<void> => {
    const admin = new pg.Client({ connectionString: withDatabase(baseUrl, 'postgres') })
    await admin.connect()
    try {
      // FORCE terminates connections a test left open (an undisposed pool would block the drop).
      await admin.query(`DROP DATABASE IF EXISTS ${admin.escapeIdentifier(name)} WITH (FORCE)`)
    } finally {
      await admin.end()
    }
  }
  try {
    await migrate(url, { schema: options.schema })
  } catch (error) {
    // Do not leave a half-migrated database behind when the caller never gets `drop()`.
    await drop().catch(() => {})
    throw error
  }
  return { url, name, drop }
}

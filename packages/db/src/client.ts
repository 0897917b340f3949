/**
 * @module Builds Hookline's database access over one `pg` pool: a Prisma client through the driver
 * adapter (no native engine), and the pool itself for the few hot statements that skip the ORM.
 */
import { PrismaPg } from '@prisma/adapter-pg'
import pg from 'pg'
import { PrismaClient } from './generated/prisma/client.ts'
import { DEFAULT_SCHEMA } from './migrate.ts'

/** Options of {@link createPrismaClient} and {@link createDatabase}. */
export interface CreatePrismaClientOptions {
  /**
   * Most connections the client's `pg` pool opens.
   * @defaultValue 10 (`pg`'s default)
   */
  poolMax?: number
  /**
   * The Postgres schema of Hookline's tables (what `migrate` was given).
   * @defaultValue 'hookline'
   */
  schema?: string
}

/**
 * How long {@link createDatabase}'s pool keeps an idle connection, in milliseconds. Longer than
 * `pg`'s 10 s: a burst after a quiet spell would otherwise begin by opening its connections again
 * and preparing every statement on them, with fresh backends' cold caches.
 */
export const POOL_IDLE_TIMEOUT_MS = 60_000

/** A Prisma client and the `pg` pool it runs on. */
export interface Database {
  prisma: PrismaClient
  /** The pool under `prisma`: raw statements on it skip the ORM's per-query work. */
  pool: pg.Pool
  /** Disconnects the client and ends the pool. */
  close(): Promise<void>
}

/**
 * Creates a Prisma client for Hookline's tables on `databaseUrl`. The caller owns it and should
 * `$disconnect()` it on shutdown.
 *
 * @example
 * ```ts
 * const prisma = createPrismaClient('postgresql://postgres@127.0.0.1:5432/hookline', { poolMax: 5 })
 * const pending = await prisma.event.count({ where: { status: 'received' } })
 * await prisma.$disconnect()
 * ```
 */
export function createPrismaClient(
  databaseUrl: string,
  options: CreatePrismaClientOptions = {},
): PrismaClient {
  const adapter = new PrismaPg(
    { connectionString: databaseUrl, ...(options.poolMax === undefined ? {} : { max: options.poolMax }) },
    { schema: options.schema ?? DEFAULT_SCHEMA },
  )
  return new PrismaClient({ adapter })
}

/**
 * Creates a `pg` pool on `databaseUrl` and a Prisma client sharing it, so that both count against
 * one connection limit.
 *
 * @example
 * ```ts
 * const db = createDatabase('postgresql://postgres@127.0.0.1:5432/hookline', { poolMax: 20 })
 * const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM hookline.hookline_events')
 * await db.close()
 * ```
 */
export function createDatabase(databaseUrl: string, options: CreatePrismaClientOptions = {}): Database {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    idleTimeoutMillis: POOL_IDLE_TIMEOUT_MS,
    ...(options.poolMax === undefined ? {} : { max: options.poolMax }),
  })
  // An idle connection that breaks (Postgres restarted) is dropped by the pool; the next query
  // reports the outage. Without a listener the 'error' event would end the process.
  pool.on('error', () => undefined)
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool, { schema: options.schema ?? DEFAULT_SCHEMA }) })
  return {
    prisma,
    pool,
    async close() {
      await prisma.$disconnect()
      await pool.end()
    },
  }
}

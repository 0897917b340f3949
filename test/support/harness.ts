/**
 * @module A Hookline instance for one test file: its own database and queue prefix, the Express
 * routes on a free port, an `effects` table that handlers write to, and cleanup.
 */
import { Writable } from 'node:stream'
import { createHookline, type Handler, type Hookline, type HooklineOptions, type ProviderAdapter, type ReconcileRequest, type ReconcileRun } from '@hookline/core'
import { createPrismaClient, type PrismaClient } from '@hookline/db'
import { opsRouter, webhookRouter } from '@hookline/express'
import { stripeAdapter } from '@hookline/stripe'
import { createTestDatabase, listenOnFreePort, signedStripeDelivery, STRIPE_TEST_SECRET, stripeEvent, TEST_REDIS_URL, testQueuePrefix, waitFor } from '@hookline/testkit'
import express from 'express'
import { pino } from 'pino'
import { expect } from 'vitest'

/** Options of {@link startHarness}. */
export interface HarnessOptions extends Partial<Omit<HooklineOptions<never>, 'databaseUrl'>> {
  /** Stripe secrets the default adapter accepts (ignored when `adapters` is given). */
  secrets?: string[]
  /** Start the worker in the test process. @defaultValue true */
  startWorker?: boolean
  /** Override the database URL Hookline uses (to simulate an unreachable Postgres). */
  databaseUrl?: string
}

/** A running test instance. */
export interface Harness {
  hookline: Hookline
  url: string
  databaseUrl: string
  /** The BullMQ prefix of this harness (give it to worker processes the test spawns). */
  queuePrefix: string
  /** Prisma client on the test database, for assertions. */
  prisma: PrismaClient
  /** Every log line Hookline wrote, as text. */
  logs: string[]
  /** Posts a body with headers to `/webhooks/<provider>`. */
  post(provider: string, body: string | Buffer, headers: Record<string, string>): Promise<{ status: number; body: any; headers: Headers }>
  /** Posts a signed Stripe event built by `stripeEvent(options)`; expects 200 and returns the inbox id. */
  sendStripeEvent(options: Parameters<typeof stripeEvent>[0]): Promise<string>
  /** Runs a `SELECT count(*)::int AS n …` and returns `n`. */
  count(sql: string, ...values: unknown[]): Promise<number>
  /** Waits until every event of the inbox is processed (or finished as skipped_stale). */
  waitAllProcessed(timeoutMs?: number): Promise<void>
  /** Waits until the event is in `status`; returns its row. */
  waitForStatus(id: string, status: string, timeoutMs?: number): Promise<EventRow>
  close(): Promise<void>
}

/** An inbox row as tests read it. */
export interface EventRow {
  id: string
  status: string
  attempts: number
  deliveries: number
  stale: boolean
  last_error: string | null
}

/** A handler that records one `effects` row per run, in the handler's transaction. */
export const recordEffect: Handler = async (event, { tx }) => {
  await tx.$executeRawUnsafe(`INSERT INTO effects (event_id, entity_key, label) VALUES ($1::uuid, $2, $3)`, event.id, event.entityKey, (event.payload as any)?.data?.object?.label ?? null)
}

/** Starts a harness; call `close()` in `afterAll`. */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const db = await createTestDatabase({ schema: options.schema })
  const queue = testQueuePrefix(options.redisUrl ?? TEST_REDIS_URL)
  const prisma = createPrismaClient(db.url)
  await prisma.$executeRawUnsafe(`CREATE TABLE effects (id serial PRIMARY KEY, event_id uuid NOT NULL, entity_key text, label text, at timestamptz NOT NULL DEFAULT clock_timestamp())`)
  const logs: string[] = []
  const logger = pino({ level: 'info' }, new Writable({ write(chunk, _enc, cb) { logs.push(String(chunk)); cb() } }))
  const { secrets, startWorker, databaseUrl, ...rest } = options
  const hookline = createHookline({
    databaseUrl: databaseUrl ?? db.url,
    redisUrl: TEST_REDIS_URL,
    adapters: rest.adapters ?? [stripeAdapter({ secrets: secrets ?? [STRIPE_TEST_SECRET], maxBodyBytes: 64 * 1024 })],
    handlers: { '*': recordEffect },
    logger,
    // Test files run in parallel on one Postgres: keep each instance's pool small.
    poolMax: 8,
    ...rest,
    queue: { prefix: queue.prefix, ...rest.queue },
    retry: { backoffMs: 20, ...rest.retry },
  })
  const app = express()
  app.use(webhookRouter(hookline, { retryAfterSeconds: 7 }))
  app.use(opsRouter(hookline))
  const server = await listenOnFreePort(app)
  if (startWorker !== false) await hookline.startWorker()
  const post: Harness['post'] = async (provider, body, headers) => {
    const res = await fetch(`${server.url}/webhooks/${provider}`, { method: 'POST', body, headers })
    const text = await res.text()
    return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers }
  }
  const count = async (sql: string, ...values: unknown[]): Promise<number> => {
    const rows = await prisma.$queryRawUnsafe<{ n: number }[]>(sql, ...values)
    return rows[0]!.n
  }

  return {
    hookline,
    url: server.url,
    databaseUrl: db.url,
    queuePrefix: queue.prefix,
    prisma,
    logs,
    post,
    async sendStripeEvent(options) {
      const { body, headers } = signedStripeDelivery(stripeEvent(options))
      const res = await post('stripe', body, headers)
      expect(res.status).toBe(200)
      return res.body.id as string
    },
    count,
    async waitAllProcessed(timeoutMs = 60_000) {
      await waitFor(
        async () => (await count(`SELECT count(*)::int AS n FROM hookline.hookline_events WHERE status NOT IN ('processed', 'skipped_stale')`)) === 0,
        { what: 'every event processed', timeoutMs },
      )
    },
    async waitForStatus(id, status, timeoutMs = 20_000) {
      return waitFor(
        async () => {
          const rows = await prisma.$queryRawUnsafe<EventRow[]>(
            `SELECT id::text, status::text, attempts, deliveries, stale, last_error FROM hookline.hookline_events WHERE id = $1::uuid`,
            id,
          )
          return rows[0]?.status === status ? rows[0] : undefined
        },
        { timeoutMs, what: `event ${id} to be ${status}` },
      )
    },
    async close() {
      try {
        await server.close()
        await hookline.close()
        await prisma.$disconnect()
        await queue.cleanup()
      } finally {
        // Even when a step failed (a test that left its Redis down): no database left behind.
        await db.drop()
      }
    },
  }
}

/**
 * Runs a reconciliation on a second Hookline instance sharing the harness's database and queue,
 * as another service process would (with a short lease, so that it takes over a stalled run).
 */
export async function reconcileOnAnotherInstance(h: Harness, adapter: ProviderAdapter<any>, request: ReconcileRequest, leaseMs = 500): Promise<ReconcileRun> {
  const other = createHookline({
    databaseUrl: h.databaseUrl,
    redisUrl: TEST_REDIS_URL,
    adapters: [adapter],
    queue: { prefix: h.queuePrefix },
    reconcile: { leaseMs },
    poolMax: 4,
    logger: pino({ level: 'silent' }),
  })
  try {
    return await other.reconcileNow(request)
  } finally {
    await other.close()
  }
}

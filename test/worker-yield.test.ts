/**
 * Workers yield to a saturated ingress: during a burst against `pnpm start` the worker process
 * holds its batches back (counted on `/metrics`) and then processes every answered event once; the
 * gate itself, against real Redis, waits for the ingress's report to lapse, at most `yieldMs`.
 */
import { randomUUID } from 'node:crypto'
import autocannon from 'autocannon'
import { createPrismaClient, type PrismaClient } from '@hookline/db'
import { createTestDatabase, signedStripeDelivery, STRIPE_TEST_SECRET, stripeEvent, TEST_REDIS_URL, type TestDatabase, testQueuePrefix, waitFor } from '@hookline/testkit'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Dispatcher } from '../packages/core/src/queue/dispatcher.ts'
import { retryPolicy } from '../packages/core/src/worker/retry-policy.ts'
import { saturationKey } from '../packages/core/src/yield/saturation-signal.ts'
import { YieldGate } from '../packages/core/src/yield/yield-gate.ts'
import { type StartedService, startService } from './support/service-launcher.ts'

const queue = testQueuePrefix()
let db: TestDatabase
let service: StartedService
let prisma: PrismaClient
let redis: Redis

beforeAll(async () => {
  db = await createTestDatabase()
  service = await startService({
    DATABASE_URL: db.url,
    HOOKLINE_QUEUE_PREFIX: queue.prefix,
    STRIPE_WEBHOOK_SECRET: STRIPE_TEST_SECRET,
    HOOKLINE_LOG_LEVEL: 'warn',
    HOOKLINE_WORKER_YIELD_MS: '60000',
  })
  prisma = createPrismaClient(db.url)
  redis = new Redis(TEST_REDIS_URL)
})

afterAll(async () => {
  await service?.stop()
  await prisma?.$disconnect()
  redis?.disconnect()
  await queue.cleanup()
  await db?.drop()
})

/** Seconds the worker processes held batches back, from the service's one `/metrics`. */
async function yieldedSeconds(): Promise<number> {
  const text = await (await fetch(`${service.url}/metrics`)).text()
  return Number(/^hookline_worker_yield_seconds_total (\S+)$/m.exec(text)?.[1] ?? 0)
}

/** Unique signed Stripe events at 50 connections for `seconds`; resolves to the 2xx answers. */
async function burst(seconds: number): Promise<number> {
  const result = await autocannon({
    url: `${service.url}/webhooks/stripe`,
    connections: 50,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        setupRequest: (req) => {
          const { body, headers } = signedStripeDelivery(stripeEvent({ id: `evt_${randomUUID().replaceAll('-', '')}` }), { secret: STRIPE_TEST_SECRET })
          return { ...req, body, headers }
        },
      },
    ],
  })
  expect(result.non2xx).toBe(0)
  return result['2xx']
}

describe('a burst against pnpm start', () => {
  it('is answered while the worker holds back, then every event is processed once', async () => {
    let answered = 0
    // A loaded machine may starve the ingress of requests rather than of CPU: burst again until it saturates.
    for (let round = 0; round < 5 && (await yieldedSeconds()) === 0; round++) answered += await burst(3)
    expect(await yieldedSeconds()).toBeGreaterThan(0)
    await waitFor(async () => (await prisma.$queryRawUnsafe<{ n: number }[]>(`SELECT count(*)::int AS n FROM hookline.hookline_due_events`))[0]!.n === 0, {
      what: `the backlog to be processed:\n${service.output()}`,
      timeoutMs: 120_000,
      intervalMs: 250,
    })
    const [row] = await prisma.$queryRawUnsafe<{ events: number; processed: number; onceEach: number }[]>(
      `SELECT count(*)::int AS events, count(*) FILTER (WHERE status = 'processed')::int AS processed,
              count(*) FILTER (WHERE attempts = 1)::int AS "onceEach"
         FROM hookline.hookline_events`,
    )
    // Requests still in flight when a burst ends are stored but not counted by autocannon.
    expect(row!.events).toBeGreaterThanOrEqual(answered)
    expect(row).toEqual({ events: row!.events, processed: row!.events, onceEach: row!.events })
    expect((await prisma.$queryRawUnsafe<{ n: number }[]>(`SELECT count(*)::int AS n FROM hookline.hookline_attempts`))[0]!.n).toBe(row!.events)
  }, 240_000)
})

describe('the yield gate', () => {
  const gateQueue = testQueuePrefix()
  const key = saturationKey(gateQueue.prefix, 'events')
  let dispatcher: Dispatcher
  beforeAll(async () => {
    dispatcher = new Dispatcher({ redisUrl: TEST_REDIS_URL, prefix: gateQueue.prefix, name: 'events' }, retryPolicy())
    await waitFor(() => dispatcher.ping().then(() => true, () => false), { what: 'the dispatcher to connect' })
  })
  afterAll(async () => {
    await dispatcher.close()
    await gateQueue.cleanup()
  })

  it('waits until the ingress no longer reports saturation, and counts the wait', async () => {
    let yielded = 0
    const gate = new YieldGate(redis, key, 60_000, (s) => (yielded += s))
    await dispatcher.reportSaturated(400)
    await gate.turn()
    expect(await redis.exists(key)).toBe(0)
    expect(yielded).toBeGreaterThan(0)
  })

  it('holds back at most yieldMs while the saturation lasts, and not at all with 0', async () => {
    const reporting = setInterval(() => void dispatcher.reportSaturated(400), 50)
    try {
      await dispatcher.reportSaturated(400)
      let yielded = 0
      await new YieldGate(redis, key, 300, (s) => (yielded += s)).turn()
      expect(await redis.exists(key)).toBe(1)
      expect(yielded).toBeGreaterThan(0)
      let never = 0
      await new YieldGate(redis, key, 0, (s) => (never += s)).turn()
      expect(never).toBe(0)
    } finally {
      clearInterval(reporting)
    }
  })
})

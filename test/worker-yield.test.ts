/**
 * Workers yield to a saturated ingress: during a burst against `pnpm start` the worker process
 * holds its batches back (counted on `/metrics`) and then processes every answered event once; with
 * default settings it runs its batches one at a time meanwhile, each event still processed once; the
 * gate itself, against real Redis, waits for the ingress's report to lapse, at most `yieldMs`, and
 * past it lets one batch run at a time until the report lapses.
 */
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import autocannon from 'autocannon'
import type { PrismaClient } from '@hookline/db'
import { signedStripeDelivery, STRIPE_TEST_SECRET, stripeEvent, TEST_REDIS_URL, testQueuePrefix, waitFor } from '@hookline/testkit'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Dispatcher } from '../packages/core/src/queue/dispatcher.ts'
import { retryPolicy } from '../packages/core/src/worker/retry-policy.ts'
import { saturationKey } from '../packages/core/src/yield/saturation-signal.ts'
import { YieldGate } from '../packages/core/src/yield/yield-gate.ts'
import type { StartedService } from './support/service-launcher.ts'
import { type ServiceSandbox, startServiceSandbox } from './support/service-sandbox.ts'

let yielding: ServiceSandbox
let service: StartedService
let prisma: PrismaClient
let redis: Redis

beforeAll(async () => {
  yielding = await startServiceSandbox({ HOOKLINE_LOG_LEVEL: 'warn', HOOKLINE_WORKER_YIELD_MS: '60000' })
  ;({ service, prisma } = yielding)
  redis = new Redis(TEST_REDIS_URL)
})

afterAll(async () => {
  await yielding?.stop()
  redis?.disconnect()
})

/** A counter of `pnpm start`'s one `/metrics` (the worker processes' included). */
async function counter(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text()
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0)
}

/** Seconds the worker processes held batches back. */
const yieldedSeconds = () => counter(service.url, 'hookline_worker_yield_seconds_total')

/** Unique signed Stripe events at 50 connections for `seconds`; resolves to the 2xx answers. */
async function burst(seconds: number, url = service.url): Promise<number> {
  const result = await autocannon({
    url: `${url}/webhooks/stripe`,
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
    await expectProcessedOnce(prisma, service, answered)
  }, 240_000)
})

/** Waits for the backlog to be processed, then checks every stored event was processed by one attempt. */
async function expectProcessedOnce(client: PrismaClient, started: StartedService, answered: number): Promise<void> {
  await waitFor(async () => (await client.$queryRawUnsafe<{ n: number }[]>(`SELECT count(*)::int AS n FROM hookline.hookline_due_events`))[0]!.n === 0, {
    what: `the backlog to be processed:\n${started.output()}`,
    timeoutMs: 120_000,
    intervalMs: 250,
  })
  const [row] = await client.$queryRawUnsafe<{ events: number; processed: number; onceEach: number }[]>(
    `SELECT count(*)::int AS events, count(*) FILTER (WHERE status = 'processed')::int AS processed,
            count(*) FILTER (WHERE attempts = 1)::int AS "onceEach"
       FROM hookline.hookline_events`,
  )
  // Requests still in flight when a burst ends are stored but not counted by autocannon.
  expect(row!.events).toBeGreaterThanOrEqual(answered)
  expect(row).toEqual({ events: row!.events, processed: row!.events, onceEach: row!.events })
  expect((await client.$queryRawUnsafe<{ n: number }[]>(`SELECT count(*)::int AS n FROM hookline.hookline_attempts`))[0]!.n).toBe(row!.events)
}

describe('a burst against pnpm start with default settings', () => {
  let sandbox: ServiceSandbox
  beforeAll(async () => void (sandbox = await startServiceSandbox({ HOOKLINE_LOG_LEVEL: 'warn' })))
  afterAll(() => sandbox?.stop())

  it('is processed meanwhile, one batch at a time, every event once', async () => {
    const { url } = sandbox.service
    const batchesAlone = () => counter(url, 'hookline_worker_batches_alone_total')
    let answered = 0
    for (let round = 0; round < 5 && (await batchesAlone()) === 0; round++) answered += await burst(3, url)
    expect(await batchesAlone()).toBeGreaterThan(0)
    expect(await counter(url, 'hookline_worker_yield_seconds_total')).toBe(0)
    await expectProcessedOnce(sandbox.prisma, sandbox.service, answered)
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

  it('runs batches one at a time while the saturation lasts past the yield, and side by side after it', async () => {
    const gate = new YieldGate(redis, key, 0, () => undefined)
    const order: string[] = []
    const batch = async (name: string, ms: number) => {
      const turn = await gate.turn()
      order.push(`${name} ${turn.alone ? 'alone' : 'beside'}`)
      await sleep(ms)
      order.push(`${name} end`)
      turn.done()
    }
    await dispatcher.reportSaturated(2000)
    await Promise.all([batch('a', 150), batch('b', 10)])
    expect(order).toEqual(['a alone', 'a end', 'b alone', 'b end'])
    await redis.del(key)
    await sleep(150) // the gate reads the report at most once a sample
    order.length = 0
    await Promise.all([batch('c', 150), batch('d', 10)])
    expect(order).toEqual(['c beside', 'd beside', 'd end', 'c end'])
  })
})

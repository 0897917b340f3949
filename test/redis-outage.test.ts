/**
 * Redis is only the dispatch queue: with Redis down a delivery is still acknowledged once it is in
 * Postgres, and when Redis comes back empty the sweeper dispatches it, processed exactly once; an
 * event whose retry could not be queued is dispatched by the sweeper too, and so are events a
 * reconciliation recovered while Redis was down — but not an event whose job is still waiting
 * behind a backlog; and a service told to stop while Redis is down stops.
 */
import { spawn } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Handler } from '@hookline/core'
import { stripeAdapter } from '@hookline/stripe'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { type DisposableRedis, freePort, signedStripeDelivery, STRIPE_TEST_SECRET, startDisposableRedis, startFakeStripeApi, stripeEvent, TEST_REDIS_URL, testQueuePrefix, waitFor } from '@hookline/testkit'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { type Harness, recordEffect, startHarness } from './support/harness.ts'
import { ROOT_DIR, rootScript } from './support/root-script.ts'

let redis: DisposableRedis
let h: Harness

beforeAll(async () => {
  redis = await startDisposableRedis()
  h = await startHarness({ redisUrl: redis.url, sweeper: { intervalMs: 500, graceMs: 500 } })
})
afterAll(async () => {
  await h?.close()
  await redis?.kill()
})

it('acknowledges while Redis is down, then processes once Redis is back (sweeper)', async () => {
  const warmup = signedStripeDelivery(stripeEvent())
  const first = await h.post('stripe', warmup.body, warmup.headers)
  expect(first.status).toBe(200)
  await h.waitForStatus(first.body.id, 'processed')

  await redis.kill()
  const events = [stripeEvent(), stripeEvent(), stripeEvent()]
  const ids: string[] = []
  for (const event of events) {
    const { body, headers } = signedStripeDelivery(event)
    const res = await h.post('stripe', body, headers)
    expect(res.status).toBe(200)
    ids.push(res.body.id)
  }
  const ready = await fetch(`${h.url}/readyz`)
  expect(ready.status).toBe(503)
  expect(await ready.json()).toEqual({ postgres: true, redis: false })
  const stored = await h.prisma.event.findMany({ where: { id: { in: ids } } })
  expect(stored.map((e) => e.status)).toEqual(['received', 'received', 'received'])

  // A fresh, empty Redis: every job and the sweeper's scheduler are gone.
  await redis.start()
  for (const id of ids) {
    const row = await h.waitForStatus(id, 'processed', 30_000)
    expect(row.attempts).toBe(1)
  }
  const effects = await h.prisma.$queryRawUnsafe<{ n: number }[]>(`SELECT count(*)::int AS n FROM effects WHERE event_id = ANY($1::uuid[])`, ids)
  expect(effects[0]!.n).toBe(3)
  const metrics = await (await fetch(`${h.url}/metrics`)).text()
  expect(metrics).toMatch(/hookline_enqueue_failures_total\{provider="stripe"\} 3/)
})

it('an event whose first attempt fails while Redis goes down is retried by the sweeper once Redis is back', async () => {
  const own = await startDisposableRedis()
  // Its first attempt takes Redis down, then fails: the worker cannot queue the retry's own job.
  const handler: Handler = async (event, ctx) => {
    if (ctx.attempt === 1) {
      await own.kill()
      throw new Error('downstream unavailable')
    }
    await recordEffect(event, ctx)
  }
  const lost = await startHarness({
    redisUrl: own.url,
    handlers: { 'stripe:invoice.payment_failed': handler, '*': recordEffect },
    retry: { backoffMs: 100 },
    worker: { lockDurationMs: 1000 },
    sweeper: { intervalMs: 500, graceMs: 500 },
  })
  try {
    const { body, headers } = signedStripeDelivery(stripeEvent({ type: 'invoice.payment_failed' }))
    const res = await lost.post('stripe', body, headers)
    expect(res.status).toBe(200)
    const failed = await lost.waitForStatus(res.body.id, 'failed')
    expect(failed.attempts).toBe(1)
    await own.start()
    const row = await lost.waitForStatus(res.body.id, 'processed', 30_000)
    expect(row.attempts).toBe(2)
    const attempts = await lost.prisma.attempt.findMany({ where: { eventId: res.body.id }, orderBy: { n: 'asc' } })
    expect(attempts.map((a) => [a.outcome, a.error])).toEqual([['failed', 'Error: downstream unavailable'], ['succeeded', null]])
    expect(await lost.count(`SELECT count(*)::int AS n FROM effects WHERE event_id = $1::uuid`, res.body.id)).toBe(1)
  } finally {
    await lost.close()
    await own.kill()
  }
})

it('events a reconciliation recovers while Redis is down are counted as enqueue failures, made due at once and processed as soon as Redis is back', async () => {
  const own = await startDisposableRedis()
  const api = await startFakeStripeApi()
  const now = Math.floor(Date.now() / 1000)
  api.events.push(...Array.from({ length: 30 }, (_, i) => stripeEvent({ created: now - 600 + i })))
  const down = await startHarness({
    redisUrl: own.url,
    adapters: [stripeAdapter({ secrets: [STRIPE_TEST_SECRET], api: { apiKey: 'sk_test_fake', baseUrl: api.url, maxNetworkRetries: 0 } })],
    // A grace far beyond the test's waits: only an event made due at once can be dispatched in time.
    sweeper: { intervalMs: 500, graceMs: 600_000 },
  })
  try {
    await own.kill()
    const run = await down.hookline.reconcileNow({ provider: 'stripe', trigger: 'test' })
    expect(run).toMatchObject({ status: 'succeeded', recovered: 30 })
    expect(await down.count(`SELECT count(*)::int AS n FROM hookline.hookline_due_events WHERE due_at <= now()`)).toBe(30)
    // Counted where an operator watches for Redis refusing jobs, as the webhooks' are.
    expect(await (await fetch(`${down.url}/metrics`)).text()).toMatch(/hookline_enqueue_failures_total\{provider="stripe"\} 30/)

    await own.start()
    await down.waitAllProcessed(30_000)
    expect(await down.count(`SELECT count(*)::int AS n FROM hookline.hookline_events WHERE source = 'reconcile' AND status = 'processed' AND attempts = 1`)).toBe(30)
    expect(await down.count(`SELECT count(DISTINCT event_id)::int AS n FROM effects`)).toBe(30)
  } finally {
    await down.close()
    await api.close()
    await own.kill()
  }
})

it('a service told to stop while Redis is down stops, its worker process with it, and what it acknowledged is processed later', async () => {
  const own = await startDisposableRedis()
  const queue = testQueuePrefix(own.url)
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  // Exactly the command of `pnpm start` (an ingress and a worker process), on this file's database.
  const [command, args] = rootScript('start')
  const service = spawn(command, args, {
    cwd: ROOT_DIR,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PORT: String(port), DATABASE_URL: h.databaseUrl, REDIS_URL: own.url, HOOKLINE_QUEUE_PREFIX: queue.prefix, STRIPE_WEBHOOK_SECRET: STRIPE_TEST_SECRET },
  })
  let output = ''
  service.stdout!.on('data', (d) => (output += d))
  service.stderr!.on('data', (d) => (output += d))
  const exited = new Promise<number | null>((r) => service.once('exit', (code) => r(code)))
  try {
    await waitFor(async () => /"msg":"worker started"/.test(output) && (await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200, { what: `the service to be ready:\n${output}`, timeoutMs: 45_000, intervalMs: 200 })
    await own.kill()
    const { body, headers } = signedStripeDelivery(stripeEvent())
    const res = await fetch(`${url}/webhooks/stripe`, { method: 'POST', body, headers })
    expect(res.status).toBe(200)
    const { id } = (await res.json()) as { id: string }

    // BullMQ's own close never returns while its Redis is unreachable (taskforcesh/bullmq#4656).
    service.kill('SIGTERM')
    const code = await Promise.race([exited, sleep(30_000, 'still running after 30 s', { ref: false })])
    expect(code, output).toBe(0)
    const workerPid = Number(/"workerPid":(\d+)/.exec(output)![1])
    expect(() => process.kill(workerPid, 0)).toThrow()
    // Acknowledged during the outage, it was in Postgres: this file's instance (its sweeper, its
    // own Redis) processes it.
    await h.waitForStatus(id, 'processed', 30_000)
  } finally {
    if (service.exitCode === null) service.kill('SIGKILL')
    await own.kill()
  }
}, 90_000)

it('a worker stopping while Redis goes down lets its running handler commit, and stops', async () => {
  const own = await startDisposableRedis()
  let started!: () => void
  const running = new Promise<void>((r) => (started = r))
  let release!: () => void
  const released = new Promise<void>((r) => (release = r))
  const stopping = await startHarness({
    redisUrl: own.url,
    handlers: { '*': async (event, ctx) => {
      started()
      await released
      await recordEffect(event, ctx)
    } },
  })
  try {
    const id = await stopping.sendStripeEvent({})
    await running
    // BullMQ's close waits for the running job, then for a Redis that is gone.
    const closing = stopping.hookline.close()
    await own.kill()
    release()
    expect(await Promise.race([closing.then(() => 'stopped'), sleep(30_000, 'still closing after 30 s', { ref: false })])).toBe('stopped')
    const row = await stopping.waitForStatus(id, 'processed')
    expect(row.attempts).toBe(1)
    expect(await stopping.count(`SELECT count(*)::int AS n FROM effects WHERE event_id = $1::uuid`, id)).toBe(1)
  } finally {
    await own.start()
    await stopping.close()
    await own.kill()
  }
}, 90_000)

it('the sweeper leaves overdue events whose jobs still wait behind a backlog alone, and queues them once those jobs are lost', async () => {
  // No worker yet (it is behind, or down), and events overdue a tenth of a second after arriving.
  const behind = await startHarness({ startWorker: false, sweeper: { intervalMs: 600_000, graceMs: 100 } })
  const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null })
  const queue = new Queue('events', { connection, prefix: behind.queuePrefix })
  try {
    const ids: string[] = []
    for (let i = 0; i < 5; i++) ids.push(await behind.sendStripeEvent({}))
    await sleep(300)
    expect(await behind.count(`SELECT count(*)::int AS n FROM hookline.hookline_due_events WHERE due_at <= now()`)).toBe(5)
    const waiting = await queue.getJobCounts('wait')
    expect(waiting.wait).toBeGreaterThan(0)

    // Their jobs wait: not queued twice.
    expect(await behind.hookline.sweep()).toBe(0)
    expect(await queue.getJobCounts('wait')).toEqual(waiting)

    // Their jobs lost (Redis emptied), they are the sweeper's, then processed once each.
    await queue.drain()
    expect(await behind.hookline.sweep()).toBe(5)
    expect((await queue.getJobCounts('wait')).wait).toBe(5)
    await behind.hookline.startWorker()
    await behind.waitAllProcessed()
    expect(await behind.count(`SELECT count(*)::int AS n FROM effects WHERE event_id = ANY($1::uuid[])`, ids)).toBe(5)
    expect(await behind.count(`SELECT count(*)::int AS n FROM hookline.hookline_events WHERE attempts <> 1`)).toBe(0)
  } finally {
    await queue.close()
    connection.disconnect()
    await behind.close()
  }
})

/**
 * The nightly reconciliation is a BullMQ job scheduler: with two service instances both
 * configured with it, every firing produces exactly one run.
 */
import { Writable } from 'node:stream'
import { createHookline, type Hookline, PRUNE_SCHEDULER_ID, RECONCILE_SCHEDULER_ID, SWEEPER_SCHEDULER_ID } from '@hookline/core'
import { stripeAdapter } from '@hookline/stripe'
import { type FakeStripeApi, STRIPE_TEST_SECRET, startFakeStripeApi, stripeEvent, TEST_REDIS_URL, waitFor } from '@hookline/testkit'
import { pino } from 'pino'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { type Harness, startHarness } from './support/harness.ts'

let api: FakeStripeApi
let h: Harness
const logs: string[] = []
const instances: Hookline[] = []

function instance(): Hookline {
  const hookline = createHookline({
    databaseUrl: h.databaseUrl,
    redisUrl: TEST_REDIS_URL,
    adapters: [stripeAdapter({ secrets: [STRIPE_TEST_SECRET], api: { apiKey: 'sk_test_fake', baseUrl: api.url, maxNetworkRetries: 0 } })],
    queue: { prefix: h.queuePrefix },
    // Every second, so that a few firings happen within the test.
    reconcile: { cron: '* * * * * *' },
    poolMax: 5,
    logger: pino({ level: 'info' }, new Writable({ write(chunk, _enc, cb) { logs.push(String(chunk)); cb() } })),
  })
  instances.push(hookline)
  return hookline
}

beforeAll(async () => {
  api = await startFakeStripeApi([stripeEvent(), stripeEvent()])
  h = await startHarness({ startWorker: false })
})
afterAll(async () => {
  for (const i of instances) await i.close()
  await h?.close()
  await api?.close()
})

it('two instances with the scheduler on run each scheduled reconciliation once', async () => {
  const [a, b] = [instance(), instance()]
  await Promise.all([a.startWorker(), b.startWorker()])
  const schedulers = await a.dispatcher.queue.getJobSchedulers()
  // Both instances upserted the same schedulers (retention's too, on by default): one of each exists.
  expect(schedulers.map((s) => s.key).sort()).toEqual([PRUNE_SCHEDULER_ID, RECONCILE_SCHEDULER_ID, SWEEPER_SCHEDULER_ID].sort())

  const runs = await waitFor(async () => {
    const rows = await h.prisma.reconcileRun.findMany({ where: { trigger: 'schedule', status: 'succeeded' }, orderBy: { startedAt: 'asc' } })
    return rows.length >= 3 ? rows : undefined
  }, { what: 'three scheduled runs', timeoutMs: 20_000 })
  await a.close()
  await b.close()
  instances.length = 0

  // One run per firing: a firing handled by both instances would show up as a second run right
  // after the first, or as one refused as busy.
  for (let i = 1; i < runs.length; i++) {
    expect(runs[i]!.startedAt.getTime() - runs[i - 1]!.startedAt.getTime()).toBeGreaterThan(500)
  }
  expect(logs.join('')).not.toContain('already running; skipped')
  expect(runs[0]).toMatchObject({ provider: 'stripe', scanned: 2, recovered: 2 })
})

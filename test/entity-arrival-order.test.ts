/**
 * Arrival order within an entity, against real Postgres and Redis: deliveries of one object sent
 * one after another, with one `created` second (Stripe's times are whole seconds), run in the order
 * they were stored — across group commits, batches, retries and two worker instances — and none
 * of them is stale.
 */
import { createHookline, type Handler, type Hookline, PermanentError } from '@hookline/core'
import { stripeAdapter } from '@hookline/stripe'
import { STRIPE_TEST_SECRET, TEST_REDIS_URL } from '@hookline/testkit'
import { afterEach, describe, expect, it } from 'vitest'
import { type Harness, recordEffect, startHarness } from './support/harness.ts'

const ENTITIES = 10
const DELIVERIES = 30

/** Labels of the events whose first attempt fails (their successors must wait for the retry). */
const failOnce = new Set(['e3:05', 'e7:00', 'e7:17'])

const handlers: Record<string, Handler> = {
  'stripe:*': async (event, ctx) => {
    const label = (event.payload as { data: { object: { label: string } } }).data.object.label
    // Handlers that take a little time let the worker take later events of the entity meanwhile.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 4))
    if (failOnce.has(label) && ctx.attempt === 1) throw new Error(`${label} fails once`)
    if (label === 'e9:10') throw new PermanentError('never applies')
    await recordEffect(event, ctx)
  },
}

let h: Harness | undefined
let second: Hookline | undefined
afterEach(async () => {
  await second?.close()
  await h?.close()
  second = h = undefined
})

describe('arrival order within an entity', () => {
  it(`${ENTITIES} entities × ${DELIVERIES} sequential deliveries with one created second: each entity's events run in arrival order`, async () => {
    h = await startHarness({ handlers: handlers as never, retry: { maxAttempts: 3, backoffMs: 50 }, worker: { concurrency: 50, batchSize: 10 } })
    // A second instance's worker on the same inbox and queue: events of one entity go to both.
    second = createHookline({
      databaseUrl: h.databaseUrl,
      redisUrl: TEST_REDIS_URL,
      adapters: [stripeAdapter({ secrets: [STRIPE_TEST_SECRET] })],
      handlers: handlers as never,
      poolMax: 8,
      queue: { prefix: h.queuePrefix },
      retry: { maxAttempts: 3, backoffMs: 50 },
      worker: { concurrency: 50, batchSize: 10 },
    })
    await second.startWorker()

    const created = Math.floor(Date.now() / 1000)
    await Promise.all(
      Array.from({ length: ENTITIES }, async (_, e) => {
        for (let n = 0; n < DELIVERIES; n++) {
          const label = `e${e}:${String(n).padStart(2, '0')}`
          await h!.sendStripeEvent({ type: 'invoice.updated', created, object: { id: `in_order_${e}`, label } })
        }
      }),
    )
    const harness = h
    await expect
      .poll(async () => harness.count(`SELECT count(*)::int AS n FROM hookline.hookline_events WHERE status NOT IN ('processed', 'skipped_stale', 'dead')`), { timeout: 60_000, interval: 100 })
      .toBe(0)

    for (let e = 0; e < ENTITIES; e++) {
      const labels = (await harness.prisma.$queryRawUnsafe<{ label: string }[]>(`SELECT label FROM effects WHERE entity_key = $1 ORDER BY at, id`, `in_order_${e}`)).map((r) => r.label)
      const expected = Array.from({ length: DELIVERIES }, (_, n) => `e${e}:${String(n).padStart(2, '0')}`).filter((label) => label !== 'e9:10')
      expect(labels).toEqual(expected)
    }
    expect(await harness.count(`SELECT count(*)::int AS n FROM hookline.hookline_events WHERE stale`)).toBe(0)
    expect(await harness.count(`SELECT count(*)::int AS n FROM hookline.hookline_events WHERE status = 'dead'`)).toBe(1)
    // Waiting spends no attempt: only the events that failed have more than one.
    expect(await harness.count(`SELECT count(*)::int AS n FROM hookline.hookline_events WHERE attempts > 1`)).toBe(failOnce.size)
    expect(await harness.count(`SELECT count(*)::int AS n FROM hookline.hookline_attempts WHERE outcome IS NULL`)).toBe(0)
  })
})

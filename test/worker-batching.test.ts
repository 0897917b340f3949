/**
 * The worker's batches against real Postgres and Redis: first attempts of events queued together
 * share one transaction, yet each event keeps its own outcome — a failing event costs its
 * neighbours nothing, events of one entity apply in source-time order, every effect exactly once.
 */
import { type Handler, PermanentError, PROCESS_BATCH_JOB } from '@hookline/core/internal'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { waitFor } from '@hookline/testkit'
import { type Harness, recordEffect, startHarness } from './support/harness.ts'

/** Every run of the flaky handler: which attempt it was called for. */
const flakyRuns: number[] = []

/** Holds the retry of `test.held-retry` until the test opens it. */
let openGate: () => void = () => undefined
let gate = Promise.resolve()

const handlers: Record<string, Handler> = {
  // Fails every first attempt (so also inside the batch it first runs in), then succeeds.
  'stripe:test.first-fails': async (event, ctx) => {
    flakyRuns.push(ctx.attempt)
    await recordEffect(event, ctx)
    if (ctx.attempt === 1) throw new Error('first attempt fails')
  },
  'stripe:test.permanent': async (event, ctx) => {
    await recordEffect(event, ctx)
    throw new PermanentError('cannot be applied')
  },
  // Fails its first attempt; its retry then waits for the test's gate.
  'stripe:test.held-retry': async (event, ctx) => {
    if (ctx.attempt === 1) throw new Error('first attempt fails')
    await gate
    await recordEffect(event, ctx)
  },
  '*': recordEffect,
}

let h: Harness
beforeEach(async () => {
  // The worker starts after the events are queued, so that it takes them in batches.
  h = await startHarness({ handlers: handlers as never, startWorker: false, retry: { maxAttempts: 3, backoffMs: 20 }, worker: { concurrency: 40, batchSize: 20 } })
})
afterEach(async () => h?.close())

/** Transactions that wrote the final state of the inbox rows (one per batch or lone attempt). */
async function committingTransactions(): Promise<number> {
  return h.count(`SELECT count(DISTINCT xmin::text)::int AS n FROM hookline.hookline_events`)
}

describe('worker batches', () => {
  it('60 queued events of 10 entities: processed in shared transactions, each effect once, entities in source-time order', async () => {
    const t = Math.floor(Date.now() / 1000)
    // Each entity's six events are queued newest first, the order that makes events stale when
    // they are taken one at a time.
    const sent: { id: string; entity: string; created: number }[] = []
    for (let step = 5; step >= 0; step--) {
      for (let e = 0; e < 10; e++) {
        const entity = `in_batch_${e}`
        sent.push({ id: await h.sendStripeEvent({ type: 'invoice.updated', created: t + step, object: { id: entity, label: `v${step}` } }), entity, created: t + step })
      }
    }
    await h.hookline.startWorker()
    await h.waitAllProcessed()

    expect(await committingTransactions()).toBeLessThanOrEqual(30)
    expect(await h.count(`SELECT count(*)::int AS n FROM hookline.hookline_attempts`)).toBe(60)
    expect(await h.count(`SELECT count(*)::int AS n FROM hookline.hookline_attempts WHERE outcome NOT IN ('succeeded', 'stale')`)).toBe(0)
    // Every event that ran left exactly one effect; the stale ones left none.
    const ran = await h.count(`SELECT count(*)::int AS n FROM hookline.hookline_events WHERE NOT stale`)
    expect(await h.count(`SELECT count(*)::int AS n FROM effects`)).toBe(ran)
    expect(await h.count(`SELECT count(*)::int AS n FROM (SELECT event_id FROM effects GROUP BY event_id HAVING count(*) > 1) d`)).toBe(0)
    for (let e = 0; e < 10; e++) {
      const entity = `in_batch_${e}`
      // Within an entity the effects were applied oldest first, never an older after a newer one.
      const labels = (await h.prisma.$queryRawUnsafe<{ label: string }[]>(`SELECT label FROM effects WHERE entity_key = $1 ORDER BY at, id`, entity)).map((r) => r.label)
      expect(labels).toEqual([...labels].sort())
      expect(labels.at(-1)).toBe('v5')
      const version = await h.prisma.entityVersion.findUniqueOrThrow({ where: { provider_entityKey: { provider: 'stripe', entityKey: entity } } })
      expect(version.eventId).toBe(sent.find((s) => s.entity === entity && s.created === t + 5)!.id)
      expect(version.occurredAt.getTime()).toBe((t + 5) * 1000)
    }
  })

  it('a failing event rolls its batch back, yet its neighbours end with one attempt and one effect each', async () => {
    const neighbours = await Promise.all(Array.from({ length: 12 }, (_, i) => h.sendStripeEvent({ type: 'invoice.paid', object: { id: `in_neighbour_${i}` } })))
    const flaky = await h.sendStripeEvent({ type: 'test.first-fails', object: { id: 'in_flaky' } })
    const permanent = await h.sendStripeEvent({ type: 'test.permanent', object: { id: 'in_permanent' } })
    await h.hookline.startWorker()

    await h.waitForStatus(permanent, 'dead')
    const flakyRow = await h.waitForStatus(flaky, 'processed')
    for (const id of neighbours) await h.waitForStatus(id, 'processed')

    for (const id of neighbours) {
      expect(await h.count(`SELECT count(*)::int AS n FROM hookline.hookline_attempts WHERE event_id = $1::uuid AND outcome = 'succeeded'`, id)).toBe(1)
      expect(await h.count(`SELECT count(*)::int AS n FROM hookline.hookline_attempts WHERE event_id = $1::uuid`, id)).toBe(1)
      expect(await h.count(`SELECT count(*)::int AS n FROM effects WHERE event_id = $1::uuid`, id)).toBe(1)
    }
    // The flaky handler ran in the batch, which rolled back, then alone for attempt 1, then 2.
    expect(flakyRuns).toEqual([1, 1, 2])
    // The failing events' outcomes are their own: the flaky one failed once, then succeeded…
    expect(flakyRow.attempts).toBe(2)
    const flakyAttempts = await h.prisma.attempt.findMany({ where: { eventId: flaky }, orderBy: { n: 'asc' } })
    expect(flakyAttempts.map((a) => [a.outcome, a.error])).toEqual([['failed', 'Error: first attempt fails'], ['succeeded', null]])
    expect(await h.count(`SELECT count(*)::int AS n FROM effects WHERE event_id = $1::uuid`, flaky)).toBe(1)
    // …the permanent one is dead after one attempt, and nothing it wrote was kept.
    expect(await h.count(`SELECT count(*)::int AS n FROM hookline.hookline_attempts WHERE event_id = $1::uuid`, permanent)).toBe(1)
    expect(await h.count(`SELECT count(*)::int AS n FROM effects WHERE event_id = $1::uuid`, permanent)).toBe(0)
  })

  it('deliveries committed together are queued as few jobs; a failing one is retried in a job of its own, its neighbours never again', async () => {
    await h.close()
    // Deliveries wait up to a second for each other, so that they share commits even on a busy machine.
    h = await startHarness({ handlers: handlers as never, startWorker: false, retry: { maxAttempts: 3, backoffMs: 20 }, worker: { concurrency: 40, batchSize: 20 }, ingest: { maxWaitMs: 1000 } })
    flakyRuns.length = 0
    const ids = await Promise.all([
      ...Array.from({ length: 12 }, (_, i) => h.sendStripeEvent({ type: 'invoice.paid', object: { id: `in_together_${i}` } })),
      h.sendStripeEvent({ type: 'test.first-fails', object: { id: 'in_together_flaky' } }),
      h.sendStripeEvent({ type: 'test.permanent', object: { id: 'in_together_permanent' } }),
    ])
    const [flaky, permanent] = ids.slice(12)
    // One job per group commit, holding that commit's inbox ids: every event once, in fewer jobs.
    const jobs = await h.hookline.dispatcher.queue.getJobs(['waiting'])
    expect(jobs.every((job) => job.name === PROCESS_BATCH_JOB)).toBe(true)
    expect(jobs.flatMap((job) => job.data.ids as string[]).sort()).toEqual([...ids].sort())
    expect(jobs.length).toBeLessThan(ids.length)

    await h.hookline.startWorker()
    await h.waitForStatus(permanent!, 'dead')
    expect((await h.waitForStatus(flaky!, 'processed')).attempts).toBe(2)
    for (const id of ids.slice(0, 12)) {
      await h.waitForStatus(id, 'processed')
      expect(await h.count(`SELECT count(*)::int AS n FROM hookline.hookline_attempts WHERE event_id = $1::uuid`, id)).toBe(1)
      expect(await h.count(`SELECT count(*)::int AS n FROM effects WHERE event_id = $1::uuid`, id)).toBe(1)
    }
    // Attempt 1 ran in the shared transaction and again alone; attempt 2 came from its own job.
    expect(flakyRuns).toEqual([1, 1, 2])
    expect(await h.count(`SELECT count(*)::int AS n FROM effects WHERE event_id = $1::uuid`, flaky)).toBe(1)
    expect(await h.count(`SELECT count(*)::int AS n FROM hookline.hookline_attempts WHERE event_id = $1::uuid`, permanent)).toBe(1)
  })

  it('with batchSize 1 every event commits alone', async () => {
    await h.close()
    h = await startHarness({ handlers: handlers as never, startWorker: false, worker: { concurrency: 40, batchSize: 1 } })
    await Promise.all(Array.from({ length: 20 }, (_, i) => h.sendStripeEvent({ type: 'invoice.paid', object: { id: `in_alone_${i}` } })))
    await h.hookline.startWorker()
    await h.waitAllProcessed()
    expect(await committingTransactions()).toBe(20)
    expect(await h.count(`SELECT count(*)::int AS n FROM effects`)).toBe(20)
  })

  it('a retry that takes long holds up no first attempts: they keep committing in batches meanwhile', async () => {
    await h.close()
    // One batch slot only: a retry occupying it would stop every other event.
    h = await startHarness({ handlers: handlers as never, retry: { backoffMs: 20 }, worker: { concurrency: 20, batchSize: 20 } })
    gate = new Promise((open) => {
      openGate = open
    })
    const held = await h.sendStripeEvent({ type: 'test.held-retry', object: { id: 'in_held' } })
    await waitFor(async () => (await h.count(`SELECT count(*)::int AS n FROM hookline.hookline_attempts WHERE event_id = $1::uuid`, held)) === 2, { what: 'the retry to start' })
    const fresh = await Promise.all(Array.from({ length: 30 }, (_, i) => h.sendStripeEvent({ type: 'invoice.paid', object: { id: `in_fresh_${i}` } })))
    for (const id of fresh) await h.waitForStatus(id, 'processed')
    expect((await h.waitForStatus(held, 'processing')).attempts).toBe(2)
    openGate()
    await h.waitForStatus(held, 'processed')
    expect(await h.count(`SELECT count(*)::int AS n FROM effects`)).toBe(31)
  })
})

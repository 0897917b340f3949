/**
 * Circuit breakers against real Postgres and Redis: while a downstream is down its route's events
 * are held instead of retried into the DLQ, only probes reach it, and after recovery every event
 * runs once; the state is shared by every worker and survives a worker's restart.
 */
import { type BreakerState, createHookline, DownstreamError, type Handler, type Hookline, PermanentError } from '@hookline/core'
import { stripeAdapter } from '@hookline/stripe'
import { STRIPE_TEST_SECRET, TEST_REDIS_URL, waitFor } from '@hookline/testkit'
import { Redis } from 'ioredis'
import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { type Harness, recordEffect, startHarness } from './support/harness.ts'

/** Calls to the downstream, with whether it was up: what it "saw". */
let calls: { at: number; up: boolean; id?: string }[] = []

/** Reads the downstream's flag row; fails (naming the downstream) while it is down. */
const callsCrm: Handler = async (event, ctx) => {
  const [row] = await ctx.tx.$queryRawUnsafe<{ up: boolean }[]>(`SELECT up FROM crm_status`)
  calls.push({ at: Date.now(), up: row!.up })
  if (!row!.up) throw new DownstreamError('crm', new Error('503 Service Unavailable'))
  await recordEffect(event, ctx)
}

const handlers = {
  'stripe:invoice.paid': callsCrm,
  'stripe:customer.deleted': async () => {
    throw new PermanentError('customer does not exist')
  },
}
const BREAKER = { failures: 3, cooldownMs: 500, maxCooldownMs: 1000 }

let h: Harness | undefined
const workers: Hookline[] = []
afterEach(async () => {
  for (const w of workers.splice(0)) await w.close()
  await h?.close()
  h = undefined
  calls = []
})

async function setCrm(harness: Harness, up: boolean): Promise<void> {
  await harness.prisma.$executeRawUnsafe(`UPDATE crm_status SET up = $1`, up)
}

async function withCrm(options: Parameters<typeof startHarness>[0]): Promise<Harness> {
  const harness = await startHarness(options)
  await harness.prisma.$executeRawUnsafe(`CREATE TABLE crm_status (up boolean NOT NULL)`)
  await harness.prisma.$executeRawUnsafe(`INSERT INTO crm_status VALUES (false)`)
  return harness
}

/** A worker of the same deployment as `harness` (its database and queue), as another process runs one. */
async function startWorker(harness: Harness, cooldownMs: number): Promise<Hookline> {
  const worker = createHookline({
    databaseUrl: harness.databaseUrl,
    redisUrl: TEST_REDIS_URL,
    adapters: [stripeAdapter({ secrets: [STRIPE_TEST_SECRET] })],
    handlers: handlers as never,
    queue: { prefix: harness.queuePrefix },
    retry: { maxAttempts: 3, backoffMs: 50 },
    breaker: { ...BREAKER, cooldownMs, maxCooldownMs: cooldownMs },
    worker: { concurrency: 2, batchSize: 1 },
    poolMax: 4,
    logger: pino({ level: 'silent' }),
  })
  workers.push(worker)
  await worker.startWorker()
  return worker
}

const dead = (harness: Harness) => harness.count(`SELECT count(*)::int AS n FROM hookline.hookline_events WHERE status = 'dead'`)

describe('circuit breaker', () => {
  it('holds a failing downstream\'s events without dead letters, lets only probes through, then runs each once', async () => {
    const opened: BreakerState[] = []
    const openedAt: number[] = []
    h = await withCrm({
      handlers: handlers as never,
      retry: { maxAttempts: 3, backoffMs: 50, jitter: 0 },
      breaker: BREAKER,
      onBreakerOpen: (b) => {
        opened.push(b)
        openedAt.push(Date.now())
      },
      worker: { concurrency: 4, batchSize: 1 },
    })
    const ids: string[] = []
    for (let i = 0; i < 40; i++) ids.push(await h.sendStripeEvent({ type: 'invoice.paid' }))
    await waitFor(async () => opened.length > 0, { what: 'the breaker to open' })
    const openAt = openedAt[0]!
    const seenOpen = await waitFor(async () => (await h!.hookline.breakers()).find((b) => b.route === 'crm' && b.state === 'open'), { what: 'GET breakers shows it open' })
    expect(seenOpen).toMatchObject({ route: 'crm', state: 'open' })
    expect(seenOpen.failures).toBeGreaterThanOrEqual(3)
    // Stay down long enough for several cool-downs, each ended by one failing probe.
    await waitFor(async () => opened.length >= 4, { what: 'three failed probes', timeoutMs: 20_000 })
    // Held now, by the breaker: most of the 40 (a few may be running or retrying).
    const heldNow = Number((await h.hookline.metrics.render()).match(/^hookline_events_held\{provider="stripe",reason="breaker"\} (\d+)$/m)?.[1])
    expect(heldNow).toBeGreaterThan(ids.length / 2)
    expect(heldNow).toBeLessThanOrEqual(ids.length)
    await setCrm(h, true)
    const recoveredAt = Date.now()
    await h.waitAllProcessed(30_000)

    expect(await dead(h)).toBe(0)
    const effects = await h.prisma.$queryRawUnsafe<{ event_id: string }[]>(`SELECT event_id::text FROM effects`)
    expect(effects).toHaveLength(ids.length)
    expect(new Set(effects.map((e) => e.event_id))).toEqual(new Set(ids))
    // Once open, the downstream saw at most one probe per cool-down (plus the attempts that were
    // already running when it opened), not the backlog's retries.
    const whileOpen = calls.filter((c) => !c.up && c.at > openAt && c.at < recoveredAt)
    expect(whileOpen.length).toBeLessThanOrEqual(opened.length - 1 + 3)
    expect(calls.filter((c) => !c.up).length).toBeLessThan(ids.length)
    expect((await h.hookline.breakers()).find((b) => b.route === 'crm')).toMatchObject({ state: 'closed', failures: 0, openUntil: null })
    expect(h.logs.join('')).not.toContain('circuit breakers unreadable')
    // Only the attempts that counted before the breaker opened were spent: nobody came near maxAttempts.
    expect(await h.count(`SELECT count(*)::int AS n FROM hookline.hookline_events WHERE attempts > 2`)).toBe(0)
    const metrics = await h.hookline.metrics.render()
    expect(metrics).toMatch(/hookline_breaker_state\{route="crm"\} 0/)
    expect(metrics).toMatch(/hookline_events_held_total\{provider="stripe",reason="breaker"\} [1-9]/)
    // A closed breaker holds nothing.
    await waitFor(async () => !(await h!.hookline.metrics.render()).includes('hookline_events_held{'), { what: 'no event counted as held', timeoutMs: 20_000 })
  })

  it('is shared by two workers, and a restarted worker keeps it open', async () => {
    h = await withCrm({ handlers: handlers as never, startWorker: false })
    const first = await startWorker(h, 4000)
    await startWorker(h, 4000)
    for (let i = 0; i < 3; i++) await h.sendStripeEvent({ type: 'invoice.paid' })
    const open = await waitFor(async () => (await h!.hookline.breakers()).find((b) => b.state === 'open'), { what: 'the breaker to open' })
    expect(open.route).toBe('crm')
    // Restart one of the two workers while the breaker is open.
    await first.close()
    workers.splice(workers.indexOf(first), 1)
    await startWorker(h, 4000)
    const callsBefore = calls.length
    const held = await h.sendStripeEvent({ type: 'invoice.paid' })
    await waitFor(
      async () => (await h!.count(`SELECT count(*)::int AS n FROM hookline.hookline_events e JOIN hookline.hookline_due_events d ON d.event_id = e.id
                                   WHERE e.id = $1::uuid AND e.status = 'received' AND e.attempts = 0 AND d.waits > 0`, held)) === 1,
      { what: 'the new event held' },
    )
    expect(calls.length).toBe(callsBefore)
    const detail = await h.hookline.events.get(held)
    const reason = await h.hookline.heldReason(detail)
    expect(reason).toMatchObject({ reason: 'breaker', route: 'crm' })
    expect(reason!.until!.getTime()).toBe(open.openUntil!.getTime())
    await setCrm(h, true)
    // The probe's success releases what it held at once (not at the end of the probe's lease).
    await h.waitAllProcessed(30_000)
    expect(await dead(h)).toBe(0)
    expect(await h.count(`SELECT count(*)::int AS n FROM effects`)).toBe(4)
  })

  it("counts a handler's failures against the downstream it declares, whose open breaker holds every handler declaring it", async () => {
    /** Like {@link callsCrm}, but fails with a plain error: the declaration names the downstream. */
    const crmCall: Handler = async (event, ctx) => {
      const [row] = await ctx.tx.$queryRawUnsafe<{ up: boolean }[]>(`SELECT up FROM crm_status`)
      calls.push({ at: Date.now(), up: row!.up, id: event.id })
      if (!row!.up) throw new Error('503 Service Unavailable')
      await recordEffect(event, ctx)
    }
    const declared = {
      'stripe:invoice.paid': { downstream: 'crm', handle: crmCall },
      'stripe:customer.updated': { downstream: ['crm'], handle: crmCall },
    }
    h = await withCrm({ handlers: declared as never, retry: { maxAttempts: 3, backoffMs: 50 }, breaker: { ...BREAKER, cooldownMs: 2000, maxCooldownMs: 2000 }, worker: { concurrency: 2, batchSize: 1 } })
    for (let i = 0; i < 3; i++) await h.sendStripeEvent({ type: 'invoice.paid' })
    const open = await waitFor(async () => (await h!.hookline.breakers()).find((b) => b.state === 'open'), { what: 'the breaker to open' })
    // The plain errors counted against the declared downstream, not the handler's key.
    expect(open.route).toBe('crm')
    // A route that never failed is held before its handler runs: it declares the open downstream.
    const other = await h.sendStripeEvent({ type: 'customer.updated' })
    await waitFor(
      async () => (await h!.count(`SELECT count(*)::int AS n FROM hookline.hookline_events e JOIN hookline.hookline_due_events d ON d.event_id = e.id
                                   WHERE e.id = $1::uuid AND e.status = 'received' AND e.attempts = 0 AND d.waits > 0`, other)) === 1,
      { what: 'the customer.updated event held' },
    )
    expect(calls.filter((c) => c.id === other)).toEqual([])
    expect(await h.hookline.heldReason(await h.hookline.events.get(other))).toMatchObject({ reason: 'breaker', route: 'crm' })
    await setCrm(h, true)
    await h.waitAllProcessed(30_000)
    expect(await dead(h)).toBe(0)
    expect(await h.count(`SELECT count(*)::int AS n FROM effects`)).toBe(4)
    expect((await h.hookline.breakers()).map((b) => [b.route, b.state])).toEqual([['crm', 'closed']])
  })

  it("counts a shared batch's failures: the breaker they open holds its events, each failure in its issue, no attempt spent", async () => {
    const crmCall: Handler = async (event, ctx) => {
      const [row] = await ctx.tx.$queryRawUnsafe<{ up: boolean }[]>(`SELECT up FROM crm_status`)
      calls.push({ at: Date.now(), up: row!.up, id: event.id })
      if (!row!.up) throw new DownstreamError('crm', new Error('503 Service Unavailable'))
      await recordEffect(event, ctx)
    }
    // Queued while no worker runs, then claimed in shared batches; the first failure opens the breaker.
    h = await withCrm({
      handlers: { 'stripe:invoice.paid': crmCall } as never,
      startWorker: false,
      retry: { maxAttempts: 3, backoffMs: 50 },
      breaker: { failures: 1, cooldownMs: 60_000, maxCooldownMs: 60_000 },
      worker: { concurrency: 8, batchSize: 8 },
    })
    const ids = await Promise.all(Array.from({ length: 8 }, () => h!.sendStripeEvent({ type: 'invoice.paid' })))
    await h.hookline.startWorker()
    await waitFor(
      async () => (await h!.count(`SELECT count(*)::int AS n FROM hookline.hookline_events e JOIN hookline.hookline_due_events d ON d.event_id = e.id
                                   WHERE e.status = 'received' AND d.waits > 0`)) === ids.length,
      { what: 'every event held' },
    )
    // Each event that reached the CRM reached it once: a failure in the rolled-back batch counted,
    // so its event was held rather than run again alone.
    const called = calls.map((c) => c.id!)
    expect(called.length).toBeGreaterThan(0)
    expect(new Set(called).size).toBe(called.length)
    expect(await h.count(`SELECT count(*)::int AS n FROM hookline.hookline_events WHERE attempts > 0`)).toBe(0)
    // The failures that opened the breaker and were held are in their issue, naming their events.
    const { issues } = await h.hookline.issues.list({ status: 'open', limit: 10 })
    expect(issues).toMatchObject([{ route: 'stripe:invoice.paid', errorClass: 'DownstreamError', count: called.length, events: called.length }])
    const detail = await h.hookline.issues.get(issues[0]!.fingerprint, { limit: 50 })
    expect(new Set(detail.events.map((e) => e.id))).toEqual(new Set(called))
  })

  it('holds the event that opened the breaker even when its issue cannot be written, and runs it once after', async () => {
    h = await withCrm({ handlers: handlers as never, retry: { maxAttempts: 3, backoffMs: 50 }, breaker: { failures: 1, cooldownMs: 500, maxCooldownMs: 500 }, worker: { concurrency: 1, batchSize: 1 } })
    // Postgres refuses every write to the issues while the breaker opens.
    await h.prisma.$executeRawUnsafe(`CREATE FUNCTION refuse_issue() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'issues unavailable'; END $$`)
    await h.prisma.$executeRawUnsafe(`CREATE TRIGGER refuse_issue BEFORE INSERT OR UPDATE ON hookline.hookline_issues FOR EACH ROW EXECUTE FUNCTION refuse_issue()`)
    const id = await h.sendStripeEvent({ type: 'invoice.paid' })
    await waitFor(async () => h!.logs.join('').includes('held failure not counted in its issue'), { what: 'the issue write to fail' })
    const [held] = await h.prisma.$queryRawUnsafe<{ status: string; attempts: number; last_error: string }[]>(
      `SELECT status::text, attempts, last_error FROM hookline.hookline_events WHERE id = $1::uuid`,
      id,
    )
    expect(held).toEqual({ status: 'received', attempts: 0, last_error: expect.stringContaining('503 Service Unavailable') })
    await h.prisma.$executeRawUnsafe(`DROP TRIGGER refuse_issue ON hookline.hookline_issues`)
    await setCrm(h, true)
    await h.waitAllProcessed(30_000)
    expect(await h.count(`SELECT count(*)::int AS n FROM effects WHERE event_id = '${id}'`)).toBe(1)
    expect(await dead(h)).toBe(0)
  })

  it('refuses a handler declaration without a handle function or with a nameless downstream', () => {
    const options = { databaseUrl: 'postgresql://postgres@127.0.0.1:5432/unused', redisUrl: TEST_REDIS_URL, adapters: [] }
    expect(() => createHookline({ ...options, handlers: { 'stripe:*': { downstream: 'crm' } as never } })).toThrow(/"stripe:\*" is neither a function nor \{ handle, downstream\? \}/)
    expect(() => createHookline({ ...options, handlers: { 'stripe:*': { handle: callsCrm, downstream: [''] } } })).toThrow(/downstream must be a name or a list of names/)
  })

  it('is not tripped by PermanentError: those events go to the DLQ at once', async () => {
    h = await withCrm({ handlers: handlers as never, breaker: BREAKER })
    const ids: string[] = []
    for (let i = 0; i < 6; i++) ids.push(await h.sendStripeEvent({ type: 'customer.deleted' }))
    for (const id of ids) expect((await h.waitForStatus(id, 'dead')).attempts).toBe(1)
    expect(await h.hookline.breakers()).toEqual([])
  })

  it('loses no event when Redis loses the breaker state while it is open', async () => {
    h = await withCrm({ handlers: handlers as never, retry: { maxAttempts: 3, backoffMs: 50 }, breaker: { ...BREAKER, cooldownMs: 60_000, maxCooldownMs: 60_000 } })
    const ids: string[] = []
    for (let i = 0; i < 6; i++) ids.push(await h.sendStripeEvent({ type: 'invoice.paid' }))
    await waitFor(async () => (await h!.hookline.breakers()).some((b) => b.state === 'open'), { what: 'the breaker to open' })
    await waitFor(async () => (await h!.count(`SELECT count(*)::int AS n FROM hookline.hookline_events WHERE status IN ('received', 'failed')`)) === ids.length, { what: 'every event held' })
    // The breaker's state vanishes from Redis; the inbox in Postgres still has every held event.
    const redis = new Redis(TEST_REDIS_URL)
    try {
      const keys = await redis.keys(`${h.queuePrefix}:*:breaker*`)
      expect(keys.length).toBeGreaterThan(0)
      await redis.del(...keys)
    } finally {
      redis.disconnect()
    }
    expect(await h.hookline.breakers()).toEqual([])
    await setCrm(h, true)
    // Held for the minute's cool-down, the events are due then: make that now, and run a sweeper pass.
    await h.prisma.$executeRawUnsafe(`UPDATE hookline.hookline_due_events SET due_at = now()`)
    await h.hookline.sweep()
    await h.waitAllProcessed(30_000)
    expect(await dead(h)).toBe(0)
    expect(await h.count(`SELECT count(*)::int AS n FROM effects`)).toBe(ids.length)
  })
})

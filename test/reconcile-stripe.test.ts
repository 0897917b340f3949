/**
 * Stripe reconciliation against a local fake of the events API (through the official client),
 * with real Postgres and Redis: exactly the missing events are recovered and processed once,
 * interrupted runs resume, rate limits are waited out, and failures are visible.
 */
import { createHookline, type ReconcileRun } from '@hookline/core'
import { stripeAdapter } from '@hookline/stripe'
import { type FakeStripeApi, signedStripeDelivery, STRIPE_TEST_SECRET, startFakeStripeApi, stripeEvent, TEST_REDIS_URL, waitFor } from '@hookline/testkit'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, reconcileOnAnotherInstance, startHarness } from './support/harness.ts'

let api: FakeStripeApi
let h: Harness
const alerts: ReconcileRun[] = []
const now = Math.floor(Date.now() / 1000)

function adapterFor(fake: FakeStripeApi) {
  return stripeAdapter({ secrets: [STRIPE_TEST_SECRET], api: { apiKey: 'sk_test_fake', baseUrl: fake.url, maxNetworkRetries: 0 } })
}

/** `n` events, 7 s apart, starting `ageSeconds` ago. */
function makeEvents(n: number, prefix: string, ageSeconds = 5 * 3600): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => stripeEvent({ id: `evt_${prefix}_${String(i).padStart(4, '0')}`, created: now - ageSeconds + i * 7 }))
}

async function deliver(events: Record<string, unknown>[]): Promise<string[]> {
  const ids: string[] = []
  for (let i = 0; i < events.length; i += 25) {
    const batch = await Promise.all(events.slice(i, i + 25).map(async (e) => {
      const { body, headers } = signedStripeDelivery(e)
      const res = await h.post('stripe', body, headers)
      expect(res.status).toBe(200)
      return res.body.id as string
    }))
    ids.push(...batch)
  }
  return ids
}

beforeAll(async () => {
  api = await startFakeStripeApi()
  h = await startHarness({
    adapters: [adapterFor(api)],
    reconcile: { leaseMs: 500, onAlert: (run) => void alerts.push(run) },
    worker: { concurrency: 20 },
  })
})
afterAll(async () => {
  await h?.close()
  await api?.close()
})

describe('Stripe reconciliation', () => {
  it('recovers exactly the events the webhooks missed, each processed once; a second run recovers none', async () => {
    const events = makeEvents(500, 'a')
    api.events.push(...events)
    const dropped = new Set([3, 50, 51, 120, 200, 260, 333, 404, 450, 499])
    const delivered = events.filter((_, i) => !dropped.has(i))
    await deliver(delivered)
    await deliver([delivered[10]!, delivered[20]!]) // two delivered twice
    await h.waitAllProcessed()
    expect(await h.count(`SELECT count(*)::int AS n FROM hookline.hookline_events`)).toBe(490)

    const first = await h.hookline.reconcileNow({ provider: 'stripe', trigger: 'test' })
    expect(first).toMatchObject({ status: 'succeeded', scanned: 500, known: 490, recovered: 10, errors: 0, pages: 5 })
    await h.waitAllProcessed()
    const recovered = await h.prisma.event.findMany({ where: { source: 'reconcile' } })
    expect(recovered.map((e) => e.eventKey).sort()).toEqual([...dropped].map((i) => events[i]!.id).sort())
    // No delivery, no raw body: the payload is the event as the API listed it.
    const sample = events[3]!
    expect(recovered.find((e) => e.eventKey === sample.id)).toMatchObject({ rawBody: null, payload: { id: sample.id, type: sample.type, data: sample.data } })
    expect(await h.count(`SELECT count(*)::int AS n FROM effects`)).toBe(500)
    expect(await h.count(`SELECT count(DISTINCT event_id)::int AS n FROM effects`)).toBe(500)
    expect(alerts.map((a) => a.id)).toEqual([first.id])

    const second = await h.hookline.reconcileNow({ provider: 'stripe', trigger: 'test' })
    expect(second).toMatchObject({ status: 'succeeded', scanned: 500, known: 500, recovered: 0 })
    expect(alerts).toHaveLength(1)
    const runs = await h.hookline.reconcileRuns()
    expect(runs.map((r) => r.id).slice(0, 2)).toEqual([second.id, first.id])
  })

  it('a dry run counts what is missing and ingests nothing', async () => {
    api.events.push(...makeEvents(3, 'dry'))
    const run = await h.hookline.reconcileNow({ provider: 'stripe', dryRun: true })
    expect(run).toMatchObject({ status: 'succeeded', dryRun: true, recovered: 3 })
    expect(await h.count(`SELECT count(*)::int AS n FROM hookline.hookline_events WHERE event_key LIKE 'evt_dry_%'`)).toBe(0)
    api.events.splice(api.events.length - 3, 3)
  })

  it('a run killed after its first page is resumed by another instance, without duplicates', async () => {
    api.events.push(...makeEvents(250, 'resume'))
    api.followingPages('hold')
    // Instance A: reads page 1 (the 100 newest of 750), then hangs on page 2 until it "dies".
    const before = api.requests.length
    const stuck = h.hookline.reconcileNow({ provider: 'stripe', trigger: 'test' })
    // Wait for the held request itself: serving again any earlier would let A go on to page 2.
    await waitFor(async () => api.requests.slice(before).some((r) => r.query.starting_after !== undefined), { what: 'A to ask for page 2' })
    // Page 2 is asked for while page 1 is stored: wait for page 1's progress to commit.
    const run = await waitFor(async () => (await h.prisma.reconcileRun.findMany({ where: { status: 'running', pages: 1 } }))[0], { what: 'A to store page 1' })
    const runId = run.id
    api.followingPages('serve')
    await new Promise((r) => setTimeout(r, 700)) // A's lease (500 ms) expires: it is presumed dead

    const resumed = await reconcileOnAnotherInstance(h, adapterFor(api), { provider: 'stripe', trigger: 'test' })
    expect(resumed.id).toBe(runId)
    expect(resumed).toMatchObject({ status: 'succeeded', pages: 8, scanned: 750, recovered: 250 })
    api.dropHeld() // A's stuck request fails now; A must not touch the run B finished
    const fromA = await stuck
    expect(fromA.status).toBe('succeeded')
    await h.waitAllProcessed()
    expect(await h.count(`SELECT count(*)::int AS n FROM hookline.hookline_events WHERE event_key LIKE 'evt_resume_%'`)).toBe(250)
    expect(await h.count(`SELECT count(*)::int AS n FROM effects`)).toBe(750)
    expect(await h.count(`SELECT count(DISTINCT event_id)::int AS n FROM effects`)).toBe(750)
  })

  it('fetches the next page while it stores the current one, one page ahead at most', async () => {
    const before = api.requests.length
    let run: Promise<ReconcileRun> | undefined
    // Inserts into the inbox wait for this transaction's SHARE lock: page 1 cannot be stored.
    await h.prisma.$transaction(async (tx) => {
      await tx.$executeRawUnsafe(`LOCK TABLE hookline.hookline_events IN SHARE MODE`)
      run = h.hookline.reconcileNow({ provider: 'stripe', trigger: 'test' })
      await waitFor(async () => api.requests.length - before >= 2, { timeoutMs: 10_000, what: 'page 2 to be asked for while page 1 waits' })
      const [running] = await tx.$queryRawUnsafe<{ pages: number }[]>(`SELECT pages FROM hookline.hookline_reconcile_runs WHERE status = 'running'`)
      expect(running).toEqual({ pages: 0 })
      // Page 3 waits for page 2 to be handed out, which waits for page 1 to be stored.
      await new Promise((r) => setTimeout(r, 300))
      expect(api.requests.length - before).toBe(2)
    }, { timeout: 30_000 })
    expect(await run).toMatchObject({ status: 'succeeded', pages: 8, scanned: 750, known: 750, recovered: 0 })
    expect(api.requests.length - before).toBe(8)
  })

  it('waits out a 429 with Retry-After instead of failing', async () => {
    const before = api.requests.length
    api.rateLimitNext(2, 1)
    const run = await h.hookline.reconcileNow({ provider: 'stripe', trigger: 'test' })
    expect(run).toMatchObject({ status: 'succeeded', errors: 0, recovered: 0, scanned: 750 })
    expect(api.requests.length - before).toBe(2 + 8)
  })

  it('a persistent 5xx fails the run visibly and keeps what it ingested', async () => {
    // The newest events of all: the first page holds 100 of them.
    api.events.push(...makeEvents(150, 'fail', 1200))
    api.followingPages('fail')
    const run = await h.hookline.reconcileNow({ provider: 'stripe', trigger: 'test' })
    api.followingPages('serve')
    expect(run).toMatchObject({ status: 'failed', errors: 1, recovered: 100 })
    expect(run.lastError).toMatch(/unknown error/i)
    expect(alerts.at(-1)).toMatchObject({ id: run.id, status: 'failed' })
    const metrics = await (await fetch(`${h.url}/metrics`)).text()
    expect(metrics).toMatch(/hookline_reconcile_runs_total\{provider="stripe",status="failed"\} 1/)
    await h.waitAllProcessed()
    expect(await h.count(`SELECT count(*)::int AS n FROM hookline.hookline_events WHERE event_key LIKE 'evt_fail_%'`)).toBe(100)
    // The cursor did not move: the next run covers the same window and recovers the rest.
    const retry = await h.hookline.reconcileNow({ provider: 'stripe', trigger: 'test' })
    expect(retry).toMatchObject({ status: 'succeeded', recovered: 50 })
  })

  it('a provider call hanging past the run\'s timeout fails the run cleanly', async () => {
    api.events.push(...makeEvents(150, 'timeout', 600))
    api.followingPages('hold')
    const quick = createHookline({
      databaseUrl: h.databaseUrl,
      redisUrl: TEST_REDIS_URL,
      adapters: [adapterFor(api)],
      queue: { prefix: h.queuePrefix },
      reconcile: { timeoutMs: 1000 },
      poolMax: 4,
      logger: pino({ level: 'silent' }),
    })
    try {
      const run = await quick.reconcileNow({ provider: 'stripe', trigger: 'test' })
      expect(run).toMatchObject({ status: 'failed', errors: 1, pages: 1, lastError: 'timed out after 1000 ms' })
      // What the first page ingested is kept, and counted.
      expect(run.recovered).toBeGreaterThan(0)
      expect(await h.count(`SELECT count(*)::int AS n FROM hookline.hookline_events WHERE event_key LIKE 'evt_timeout_%'`)).toBe(run.recovered)
    } finally {
      api.followingPages('serve')
      api.dropHeld()
      await quick.close()
    }
  })
})

/**
 * @module GitHub reconciliation against the testkit's fake deliveries API (through the official
 * client), with real Postgres and Redis: exactly the deliveries the webhook path lost are
 * recovered and processed once (or redelivered), interrupted runs resume, rate limits are waited
 * out, and failures are visible.
 */
import { randomUUID } from 'node:crypto'
import { createHookline, type Hookline, type ReconcileRun } from '@hookline/core'
import { githubAdapter } from '@hookline/github'
import {
  type FakeGithubApi,
  GITHUB_TEST_SECRET,
  githubIssueOpened,
  githubPullRequestSynchronize,
  githubPush,
  signedGithubDelivery,
  startFakeGithubApi,
  TEST_REDIS_URL,
  waitFor,
} from '@hookline/testkit'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, reconcileOnAnotherInstance, startHarness } from './support/harness.ts'

const TOKEN = 'ghp_reconcile_e2e'
const HOOK_ID = 40_501
const HOOK = `repos/octo-org/hello-world/hooks/${HOOK_ID}`
const REDELIVER_HOOK_ID = 40_502
const REDELIVER_HOOK = `orgs/octo-org/hooks/${REDELIVER_HOOK_ID}`
const MINUTE = 60_000
const now = Date.now()

let api: FakeGithubApi
let h: Harness
const alerts: ReconcileRun[] = []

function adapterFor(fake: FakeGithubApi, mode: 'ingest' | 'redeliver' = 'ingest') {
  return githubAdapter({ secrets: [GITHUB_TEST_SECRET], api: { token: TOKEN, baseUrl: fake.url, hooks: [HOOK, REDELIVER_HOOK], mode, maxRetries: 0 } })
}

/** One event as GitHub recorded it and as the webhook path would receive it. */
interface Event {
  guid: string
  event: string
  payload: Record<string, unknown>
  deliveredAt: Date
}

/** `n` events (issues, pushes, pull requests, each about its own entity), 7 s apart, from `ageMs` ago. */
function makeEvents(n: number, label: string, ageMs: number): Event[] {
  return Array.from({ length: n }, (_, i) => {
    const deliveredAt = new Date(now - ageMs + i * 7_000)
    const kind = i % 3
    if (kind === 0) return { guid: randomUUID(), event: 'push', payload: githubPush({ ref: `refs/heads/${label}-${i}`, at: deliveredAt }), deliveredAt }
    if (kind === 1) return { guid: randomUUID(), event: 'issues', payload: githubIssueOpened({ repository: `octo-org/${label}`, number: i, at: deliveredAt }), deliveredAt }
    return { guid: randomUUID(), event: 'pull_request', payload: githubPullRequestSynchronize({ repository: `octo-org/${label}`, number: i, at: deliveredAt }), deliveredAt }
  })
}

/** Records each event's delivery in the fake; `failed` ones as timed out. */
function record(hook: string, events: Event[], failed: ReadonlySet<Event> = new Set()): void {
  for (const e of events) api.addDelivery({ hook, event: e.event, payload: e.payload, deliveredAt: e.deliveredAt, guid: e.guid, statusCode: failed.has(e) ? 0 : 200 })
}

async function deliver(events: Event[], hookId = HOOK_ID): Promise<void> {
  for (let i = 0; i < events.length; i += 25) {
    await Promise.all(events.slice(i, i + 25).map(async (e) => {
      const { body, headers } = await signedGithubDelivery(e.payload, { event: e.event, hookId, deliveryId: e.guid })
      const res = await h.post('github', body, headers)
      expect(res.status).toBe(200)
    }))
  }
}

const detailRequests = () => api.requests.filter((r) => /\/deliveries\/\d+$/.test(r.path)).length

beforeAll(async () => {
  api = await startFakeGithubApi({ token: TOKEN })
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

describe('GitHub reconciliation', () => {
  it('recovers exactly the deliveries the webhooks missed, each processed once; a second run recovers none', async () => {
    const events = makeEvents(500, 'a', 5 * 3_600_000)
    const dropped = new Set([3, 50, 51, 120, 200, 260, 333, 404, 450, 499].map((i) => events[i]!))
    const delivered = events.filter((e) => !dropped.has(e))
    record(HOOK, events, dropped)
    // Redeliveries list a GUID again: two that reached Hookline twice, three that failed again.
    const twice = [delivered[10]!, delivered[20]!]
    const failedAgain = [...dropped].slice(0, 3)
    for (const e of [...twice, ...failedAgain]) {
      api.addDelivery({ hook: HOOK, event: e.event, payload: e.payload, deliveredAt: new Date(e.deliveredAt.getTime() + 3_000), guid: e.guid, statusCode: dropped.has(e) ? 502 : 200, redelivery: true })
    }
    await deliver(delivered)
    await deliver(twice)
    await h.waitAllProcessed()
    expect(await h.count(`SELECT count(*)::int AS n FROM hookline.hookline_events`)).toBe(490)

    const first = await h.hookline.reconcileNow({ provider: 'github', tenant: HOOK, trigger: 'test' })
    // 505 deliveries listed on 6 pages; 500 GUIDs.
    expect(first).toMatchObject({ status: 'succeeded', tenant: HOOK, pages: 6, scanned: 500, known: 490, recovered: 10, errors: 0, warnings: [] })
    expect(detailRequests()).toBe(10)
    await h.waitAllProcessed()
    const recovered = await h.prisma.event.findMany({ where: { source: 'reconcile' } })
    expect(recovered.map((e) => e.eventKey).sort()).toEqual([...dropped].map((e) => `${HOOK_ID}:${e.guid}`).sort())
    const sample = [...dropped][0]!
    expect(recovered.find((e) => e.eventKey.endsWith(sample.guid))).toMatchObject({
      type: 'push',
      tenant: 'octo-org',
      entityKey: 'ref:octo-org/hello-world:refs/heads/a-3',
      status: 'processed',
      headers: expect.objectContaining({ 'x-github-delivery': sample.guid, 'x-github-event': 'push', 'x-github-hook-id': String(HOOK_ID) }),
    })
    expect(await h.count(`SELECT count(*)::int AS n FROM effects`)).toBe(500)
    expect(await h.count(`SELECT count(DISTINCT event_id)::int AS n FROM effects`)).toBe(500)
    expect(alerts.map((a) => a.id)).toEqual([first.id])

    const second = await h.hookline.reconcileNow({ provider: 'github', tenant: HOOK, trigger: 'test' })
    expect(second).toMatchObject({ status: 'succeeded', scanned: 500, known: 500, recovered: 0 })
    expect(detailRequests()).toBe(10)
    expect(alerts).toHaveLength(1)
  })

  it('in redeliver mode asks GitHub to redeliver each missing GUID once and ingests nothing itself', async () => {
    const events = makeEvents(50, 'r', 4 * 3_600_000)
    const dropped = new Set([0, 7, 8, 15, 22, 29, 30, 41, 48, 49].map((i) => events[i]!))
    record(REDELIVER_HOOK, events, dropped)
    const retried = [...dropped][4]!
    const latest = api.addDelivery({ hook: REDELIVER_HOOK, event: retried.event, payload: retried.payload, deliveredAt: new Date(retried.deliveredAt.getTime() + 3_000), guid: retried.guid, statusCode: 0, redelivery: true })
    await deliver(events.filter((e) => !dropped.has(e)), REDELIVER_HOOK_ID)
    await h.waitAllProcessed()
    const rows = await h.count(`SELECT count(*)::int AS n FROM hookline.hookline_events`)

    const redeliverer: Hookline = createHookline({
      databaseUrl: h.databaseUrl,
      redisUrl: TEST_REDIS_URL,
      adapters: [adapterFor(api, 'redeliver')],
      queue: { prefix: h.queuePrefix },
      logger: pino({ level: 'silent' }),
    })
    try {
      const run = await redeliverer.reconcileNow({ provider: 'github', tenant: REDELIVER_HOOK, trigger: 'test' })
      expect(run).toMatchObject({ status: 'succeeded', scanned: 50, known: 40, recovered: 10 })
    } finally {
      await redeliverer.close()
    }
    expect(api.redeliveries).toHaveLength(10)
    expect(new Set(api.redeliveries.map((r) => r.guid))).toEqual(new Set([...dropped].map((e) => e.guid)))
    expect(api.redeliveries.find((r) => r.guid === retried.guid)?.deliveryId).toBe(latest.id)
    expect(api.redeliveries.every((r) => r.hook === REDELIVER_HOOK)).toBe(true)
    expect(await h.count(`SELECT count(*)::int AS n FROM hookline.hookline_events`)).toBe(rows)
    expect(await h.count(`SELECT count(*)::int AS n FROM hookline.hookline_events WHERE source = 'reconcile' AND event_key LIKE $1`, `${REDELIVER_HOOK_ID}:%`)).toBe(0)
  })

  it('a run killed after its first page is resumed by another instance, without duplicates', async () => {
    // The newest deliveries of the hook, none received: page 1 holds 100 of them.
    const events = makeEvents(250, 'resume', 3_600_000)
    record(HOOK, events)
    api.followingPages('hold')
    // Instance A: reads page 1, then hangs on page 2 until it "dies".
    const before = api.requests.length
    const stuck = h.hookline.reconcileNow({ provider: 'github', tenant: HOOK, trigger: 'test' })
    // Wait for the held request itself: serving again any earlier would let A go on to page 2.
    await waitFor(async () => api.requests.slice(before).some((r) => r.path.endsWith('/deliveries') && r.query.cursor !== undefined), { what: 'A to ask for page 2' })
    // Page 2 is asked for while page 1 is stored: wait for page 1's progress to commit.
    const run = await waitFor(async () => (await h.prisma.reconcileRun.findMany({ where: { status: 'running', pages: 1 } }))[0], { what: 'A to store page 1' })
    const runId = run.id
    api.followingPages('serve')
    await new Promise((r) => setTimeout(r, 700)) // A's lease (500 ms) expires: it is presumed dead

    const resumed = await reconcileOnAnotherInstance(h, adapterFor(api), { provider: 'github', tenant: HOOK, trigger: 'test' })
    expect(resumed.id).toBe(runId)
    // 755 deliveries on 8 pages; 750 GUIDs.
    expect(resumed).toMatchObject({ status: 'succeeded', pages: 8, scanned: 750, known: 500, recovered: 250 })
    api.dropHeld() // A's stuck request fails now; A must not touch the run B finished
    const fromA = await stuck
    expect(fromA.status).toBe('succeeded')
    await h.waitAllProcessed()
    const keys = events.map((e) => `${HOOK_ID}:${e.guid}`)
    expect(await h.count(`SELECT count(*)::int AS n FROM hookline.hookline_events WHERE event_key = ANY($1::text[])`, keys)).toBe(250)
    expect(await h.count(`SELECT count(*)::int AS n FROM effects`)).toBe(750 + 40)
    expect(await h.count(`SELECT count(DISTINCT event_id)::int AS n FROM effects`)).toBe(750 + 40)
  })

  it('waits out a 429 with Retry-After instead of failing', async () => {
    const before = api.requests.length
    api.rateLimitNext(2, { status: 429, retryAfterSeconds: 1 })
    const run = await h.hookline.reconcileNow({ provider: 'github', tenant: HOOK, trigger: 'test' })
    expect(run).toMatchObject({ status: 'succeeded', errors: 0, recovered: 0, scanned: 750 })
    expect(api.requests.length - before).toBe(2 + 8)
  })

  it('a persistent 5xx fails the run visibly and keeps what it ingested', async () => {
    // The newest deliveries of all: the first page holds 100 of them.
    const events = makeEvents(150, 'fail', 20 * MINUTE)
    record(HOOK, events)
    api.followingPages('fail')
    const run = await h.hookline.reconcileNow({ provider: 'github', tenant: HOOK, trigger: 'test' })
    api.followingPages('serve')
    expect(run).toMatchObject({ status: 'failed', errors: 1, recovered: 100 })
    expect(run.lastError).toMatch(/Server Error/)
    expect(alerts.at(-1)).toMatchObject({ id: run.id, status: 'failed' })
    const metrics = await (await fetch(`${h.url}/metrics`)).text()
    expect(metrics).toMatch(/hookline_reconcile_runs_total\{provider="github",status="failed"\} 1/)
    await h.waitAllProcessed()
    const keys = events.map((e) => `${HOOK_ID}:${e.guid}`)
    expect(await h.count(`SELECT count(*)::int AS n FROM hookline.hookline_events WHERE event_key = ANY($1::text[])`, keys)).toBe(100)
    // The cursor did not move: the next run covers the same window and recovers the rest.
    const retry = await h.hookline.reconcileNow({ provider: 'github', tenant: HOOK, trigger: 'test' })
    expect(retry).toMatchObject({ status: 'succeeded', recovered: 50 })
  })
})

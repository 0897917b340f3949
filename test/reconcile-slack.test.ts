/**
 * @module Slack reconciliation against a local fake of the Web API (through the official
 * `@slack/web-api` client), with real Postgres and Redis: the messages the Events API lost are
 * found in `conversations.history` and processed once, whichever path delivers a message first;
 * interrupted runs resume, rate limits are waited out, and failures are visible.
 */
import { createHash } from 'node:crypto'
import type { ReconcileRun } from '@hookline/core'
import { slackAdapter } from '@hookline/slack'
import {
  type FakeSlackApi,
  signedSlackRequest,
  SLACK_TEST_SECRET,
  SLACK_TEST_TEAM_ID,
  slackEventCallback,
  slackHistoryMessage,
  startFakeSlackApi,
  waitFor,
} from '@hookline/testkit'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, reconcileOnAnotherInstance, startHarness } from './support/harness.ts'

const TOKEN = 'xoxb-0000000000-hookline-test'
const [GENERAL, DEPLOYS] = ['C0RECGEN01', 'C0RECDEP02']
const TENANT = SLACK_TEST_TEAM_ID
const now = Math.floor(Date.now() / 1000)

let api: FakeSlackApi
let h: Harness
const alerts: ReconcileRun[] = []

function adapterFor(fake: FakeSlackApi) {
  return slackAdapter({
    secrets: [SLACK_TEST_SECRET],
    api: { token: TOKEN, apiUrl: fake.url, channels: [GENERAL, DEPLOYS], pageSize: 100, retries: 0 },
  })
}

interface Posted {
  channel: string
  message: Record<string, unknown>
}

/** `n` messages posted in `channel`, 7 s apart, starting `ageSeconds` ago (appended to the fake). */
function post(channel: string, n: number, ageSeconds: number, label: string): Posted[] {
  const messages = Array.from({ length: n }, (_, i) => slackHistoryMessage({ ts: `${now - ageSeconds + i * 7}.${String(i).padStart(6, '0')}`, text: `${label} ${i}` }))
  api.channels.set(channel, [...(api.channels.get(channel) ?? []), ...messages])
  return messages.map((message) => ({ channel, message }))
}

function keyOf(p: Posted): string {
  return `message:${p.channel}:${p.message.ts as string}`
}

/**
 * The Events API delivery of a posted message, signed now; the same body on every call (one
 * `event_id` per message), as Slack resends it on a retry.
 */
function webhookFor(p: Posted, retryNum?: number) {
  const ts = p.message.ts as string
  const eventId = `Ev${createHash('sha256').update(keyOf(p)).digest('hex').slice(0, 10).toUpperCase()}`
  const envelope = slackEventCallback({ ...p.message, channel: p.channel, event_ts: ts, channel_type: 'channel' }, { eventId, eventTime: Math.floor(Number(ts)) })
  return signedSlackRequest(JSON.stringify(envelope), retryNum === undefined ? {} : { retryNum })
}

async function deliver(posted: Posted[]): Promise<void> {
  for (let i = 0; i < posted.length; i += 25) {
    await Promise.all(posted.slice(i, i + 25).map(async (p) => {
      const { body, headers } = webhookFor(p)
      const res = await h.post('slack', body, headers)
      expect(res.status).toBe(200)
    }))
  }
}

/** Every message processed exactly once: one effect per message (entity), none twice. */
async function expectEachProcessedOnce(messages: number): Promise<void> {
  expect(await h.count(`SELECT count(*)::int AS n FROM effects`)).toBe(messages)
  expect(await h.count(`SELECT count(DISTINCT entity_key)::int AS n FROM effects`)).toBe(messages)
  expect(await h.count(`SELECT count(DISTINCT event_id)::int AS n FROM effects`)).toBe(messages)
}

beforeAll(async () => {
  api = await startFakeSlackApi({ token: TOKEN })
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

describe('Slack reconciliation', () => {
  const dropped: Posted[] = []

  it('recovers exactly the messages the Events API lost, each processed once; a second run recovers none', async () => {
    const all = [...post(GENERAL, 300, 5 * 3600, 'general'), ...post(DEPLOYS, 200, 5 * 3600 + 3, 'deploys')]
    const lost = new Set([3, 50, 51, 120, 299, 300, 333, 404, 450, 499])
    dropped.push(...all.filter((_, i) => lost.has(i)))
    const delivered = all.filter((_, i) => !lost.has(i))
    await deliver(delivered)
    // Two Slack retries: the same body again, with X-Slack-Retry-Num.
    for (const p of [delivered[10]!, delivered[400]!]) {
      const { body, headers } = webhookFor(p, 1)
      expect((await h.post('slack', body, headers)).body).toMatchObject({ duplicate: true })
    }
    await h.waitAllProcessed()
    expect(await h.count(`SELECT count(*)::int AS n FROM hookline.hookline_events`)).toBe(490)

    const first = await h.hookline.reconcileNow({ provider: 'slack', tenant: TENANT, trigger: 'test' })
    // 300 + 200 messages at 100 a page: 3 + 2 pages.
    expect(first).toMatchObject({ status: 'succeeded', tenant: TENANT, scanned: 500, known: 490, recovered: 10, errors: 0, pages: 5 })
    await h.waitAllProcessed()
    const recovered = await h.prisma.event.findMany({ where: { source: 'reconcile' } })
    expect(recovered.map((e) => e.eventKey).sort()).toEqual(dropped.map(keyOf).sort())
    const sample = dropped[0]!
    const stored = recovered.find((e) => e.eventKey === keyOf(sample))!
    expect(stored).toMatchObject({ type: 'message', tenant: TENANT, entityKey: `${sample.channel}:${sample.message.ts as string}`, status: 'processed' })
    expect(stored.occurredAt?.getTime()).toBe(Math.floor(Number(sample.message.ts) * 1000))
    // The Events API shape, so that handlers read one shape whichever path came first.
    expect(stored.payload).toMatchObject({
      type: 'event_callback',
      synthesized: true,
      team_id: TENANT,
      event: { type: 'message', channel: sample.channel, ts: sample.message.ts, event_ts: sample.message.ts, text: sample.message.text, user: sample.message.user },
    })
    await expectEachProcessedOnce(500)
    expect(alerts.map((a) => a.id)).toEqual([first.id])

    const second = await h.hookline.reconcileNow({ provider: 'slack', tenant: TENANT, trigger: 'test' })
    expect(second).toMatchObject({ status: 'succeeded', scanned: 500, known: 500, recovered: 0 })
    expect(alerts).toHaveLength(1)
    // Every history call asked for the run's window, inclusively, a page at a time.
    const calls = api.requests.filter((r) => r.method === 'conversations.history')
    expect(calls.every((r) => r.token === TOKEN && r.params.inclusive === 'true' && r.params.limit === '100' && Number(r.params.oldest) < now - 5 * 3600)).toBe(true)
  })

  it('a late Events API delivery of a message reconciliation already ingested is a duplicate', async () => {
    const late = dropped[4]!
    const { id } = await h.prisma.event.findUniqueOrThrow({ where: { provider_eventKey: { provider: 'slack', eventKey: keyOf(late) } } })
    const { body, headers } = webhookFor(late)
    const res = await h.post('slack', body, headers)
    expect(res).toMatchObject({ status: 200, body: { id, duplicate: true } })
    await new Promise((r) => setTimeout(r, 300)) // time for a wrongly enqueued second run to show
    expect(await h.count(`SELECT count(*)::int AS n FROM effects WHERE event_id = $1::uuid`, id)).toBe(1)
    expect(await h.prisma.event.findUniqueOrThrow({ where: { id } })).toMatchObject({ source: 'reconcile', deliveries: 2, status: 'processed' })
  })

  it('a run killed after its first page is resumed by another instance, without duplicates', async () => {
    // The newest messages of #general: the first page (100) and half of the second are new.
    post(GENERAL, 250, 3600, 'resume')
    api.followingPages('hold')
    // Instance A: reads page 1, then hangs on page 2 until it "dies".
    const before = api.requests.length
    const stuck = h.hookline.reconcileNow({ provider: 'slack', tenant: TENANT, trigger: 'test' })
    // Wait for the held call itself: serving again any earlier would let A go on to page 2.
    await waitFor(async () => api.requests.slice(before).some((r) => r.method === 'conversations.history' && r.params.cursor !== undefined), { what: 'A to ask for page 2' })
    // Page 2 is asked for while page 1 is stored: wait for page 1's progress to commit.
    const run = await waitFor(async () => (await h.prisma.reconcileRun.findMany({ where: { provider: 'slack', status: 'running', pages: 1 } }))[0], { what: 'A to store page 1' })
    const runId = run.id
    api.followingPages('serve')
    await new Promise((r) => setTimeout(r, 700)) // A's lease (500 ms) expires: it is presumed dead

    const resumed = await reconcileOnAnotherInstance(h, adapterFor(api), { provider: 'slack', tenant: TENANT, trigger: 'test' })
    expect(resumed.id).toBe(runId)
    // #general: 550 messages = 6 pages; #deploys: 2.
    expect(resumed).toMatchObject({ status: 'succeeded', pages: 8, scanned: 750, known: 500, recovered: 250 })
    api.dropHeld() // A's stuck call fails now; A must not touch the run B finished
    expect((await stuck).status).toBe('succeeded')
    await h.waitAllProcessed()
    await expectEachProcessedOnce(750)
  })

  it('waits out a 429 with Retry-After instead of failing', async () => {
    const before = api.requests.length
    const started = Date.now()
    api.rateLimitNext(2, 1, 'conversations.history')
    const run = await h.hookline.reconcileNow({ provider: 'slack', tenant: TENANT, trigger: 'test' })
    expect(run).toMatchObject({ status: 'succeeded', errors: 0, recovered: 0, scanned: 750 })
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000)
    // Each wait restarts from the last page: auth.test + the refused page, twice; then the run.
    const calls = api.requests.slice(before).map((r) => r.method)
    expect(calls.filter((m) => m === 'auth.test')).toHaveLength(3)
    expect(calls.filter((m) => m === 'conversations.history')).toHaveLength(2 + 8)
  })

  it('a persistent 5xx fails the run visibly and keeps what it ingested', async () => {
    // The newest messages of all: the first page of #general holds 100 of them.
    post(GENERAL, 150, 1200, 'fail')
    api.followingPages('fail')
    const run = await h.hookline.reconcileNow({ provider: 'slack', tenant: TENANT, trigger: 'test' })
    api.followingPages('serve')
    expect(run).toMatchObject({ status: 'failed', errors: 1, recovered: 100 })
    expect(run.lastError).toMatch(new RegExp(`conversations.history of ${GENERAL} failed: .*500`))
    expect(alerts.at(-1)).toMatchObject({ id: run.id, status: 'failed' })
    const metrics = await (await fetch(`${h.url}/metrics`)).text()
    expect(metrics).toMatch(/hookline_reconcile_runs_total\{provider="slack",status="failed"\} 1/)
    await h.waitAllProcessed()
    expect(await h.count(`SELECT count(*)::int AS n FROM hookline.hookline_events WHERE payload->'event'->>'text' LIKE 'fail %'`)).toBe(100)
    // The cursor did not move: the next run covers the same window and recovers the rest.
    const retry = await h.hookline.reconcileNow({ provider: 'slack', tenant: TENANT, trigger: 'test' })
    expect(retry).toMatchObject({ status: 'succeeded', recovered: 50 })
    await h.waitAllProcessed()
    await expectEachProcessedOnce(900)
  })

  it('the scheduled run covers the token\'s own installation; another tenant is refused', async () => {
    const scheduled = await h.hookline.reconcileNow({ provider: 'slack', trigger: 'test' })
    expect(scheduled).toMatchObject({ status: 'succeeded', tenant: null, scanned: 900, known: 900, recovered: 0 })
    const other = await h.hookline.reconcileNow({ provider: 'slack', tenant: 'T0OTHER001', trigger: 'test' })
    expect(other).toMatchObject({ status: 'failed', errors: 1, scanned: 0 })
    expect(other.lastError).toBe(`the Slack bot token belongs to ${TENANT}, not to tenant T0OTHER001`)
  })

  it('a Slack error answer (ok: false) fails the run and names the channel and the error', async () => {
    api.failNext(1, { error: 'not_in_channel', method: 'conversations.history' })
    const run = await h.hookline.reconcileNow({ provider: 'slack', tenant: TENANT, trigger: 'test' })
    expect(run).toMatchObject({ status: 'failed', errors: 1 })
    expect(run.lastError).toBe(`conversations.history of ${GENERAL} failed: An API error occurred: not_in_channel`)
  })
})

/**
 * @module Slack requests through the HTTP ingress, against real Postgres and Redis: Events API
 * events, slash commands and block actions are stored and processed once whatever Slack retries,
 * protocol requests are answered without storing anything, forgeries are refused.
 */
import { PROCESS_BATCH_JOB, PROCESS_JOB } from '@hookline/core/internal'
import { slackAdapter } from '@hookline/slack'
import {
  signedSlackRequest,
  SLACK_TEST_SECRET,
  SLACK_TEST_TEAM_ID,
  slackBlockActionsPayload,
  slackCommandBody,
  slackInteractivityBody,
  slackMessageEvent,
  slackSlashCommand,
  slackUrlVerification,
} from '@hookline/testkit'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, startHarness } from './support/harness.ts'

const ROTATED_SECRET = 'a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5'
let h: Harness

beforeAll(async () => {
  h = await startHarness({ adapters: [slackAdapter({ secrets: [ROTATED_SECRET, SLACK_TEST_SECRET] })] })
})
afterAll(async () => h?.close())

/** Signs `body` as Slack does (now, unless told otherwise) and posts it to /webhooks/slack. */
function post(body: string, options: Parameters<typeof signedSlackRequest>[1] = {}) {
  const signed = signedSlackRequest(body, { secret: SLACK_TEST_SECRET, ...options })
  return h.post('slack', signed.body, signed.headers)
}

async function slackRows(eventKey?: string): Promise<number> {
  const rows = await h.prisma.$queryRawUnsafe<{ n: number }[]>(
    `SELECT count(*)::int AS n FROM hookline.hookline_events WHERE provider = 'slack' AND ($1::text IS NULL OR event_key = $1)`,
    eventKey ?? null,
  )
  return rows[0]!.n
}

async function effectsOf(id: string): Promise<number> {
  const rows = await h.prisma.$queryRawUnsafe<{ n: number }[]>(`SELECT count(*)::int AS n FROM effects WHERE event_id = $1::uuid`, id)
  return rows[0]!.n
}

/** The inbox id of a stored event, by its key. */
async function idOf(eventKey: string): Promise<string> {
  const row = await h.prisma.event.findUniqueOrThrow({ where: { provider_eventKey: { provider: 'slack', eventKey } } })
  return row.id
}

/**
 * Posts the first delivery and `retries` Slack retries of `body`; returns the inbox id once
 * processed. Form bodies (commands, interactions) are acknowledged with an empty 200, as Slack
 * shows a response body to the user: pass their `eventKey` to find the stored row.
 */
async function deliverWithRetries(body: string, retries: number, options: { contentType?: string; eventKey?: string } = {}): Promise<string> {
  const ct = options.contentType === undefined ? {} : { contentType: options.contentType }
  const first = await post(body, ct)
  expect(first.status).toBe(200)
  let id: string
  if (options.eventKey) {
    expect(first.body).toBeUndefined()
    id = await idOf(options.eventKey)
  } else {
    expect(first.body).toEqual({ id: expect.any(String), duplicate: false })
    id = first.body.id
  }
  await h.waitForStatus(id, 'processed')
  for (let retryNum = 1; retryNum <= retries; retryNum++) {
    // Each retry is a new request, signed at its own time, with the same body.
    const retry = await post(body, { retryNum, timestamp: Math.floor(Date.now() / 1000) + retryNum, ...ct })
    expect(retry.status).toBe(200)
    expect(retry.body).toEqual(options.eventKey ? undefined : { id, duplicate: true })
  }
  // Give a wrongly enqueued second run the time to show up before effects are counted.
  await new Promise((r) => setTimeout(r, 300))
  return id
}

// First in the file: the queue is still empty, so "nothing enqueued" can be checked exactly.
describe('protocol requests', () => {
  it('url_verification → 200 with the challenge; nothing stored or enqueued', async () => {
    const handshake = slackUrlVerification()
    const res = await post(JSON.stringify(handshake))
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ challenge: handshake.challenge })
    expect(await slackRows()).toBe(0)
    // The only job may be the sweeper's scheduled one.
    const jobs = await h.hookline.dispatcher.queue.getJobs(['waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed'])
    expect(jobs.filter((job) => job.name === PROCESS_JOB || job.name === PROCESS_BATCH_JOB)).toEqual([])
  })

  it('the unsigned ssl_check → 200 with an empty body; nothing stored', async () => {
    const res = await h.post('slack', 'ssl_check=1&token=Jhj5dZrVaK7ZwHHjRyZWjbDl', { 'content-type': 'application/x-www-form-urlencoded' })
    expect(res.status).toBe(200)
    expect(res.body).toBeUndefined()
    expect(await slackRows()).toBe(0)
  })
})

describe('a signed Events API event', () => {
  it('is stored with its identity and processed once; retries 1 and 2 are duplicates of it', async () => {
    const envelope = slackMessageEvent({ channel: 'C0E2E00001', ts: '1795000000.000100', eventTime: 1_795_000_000 })
    const body = JSON.stringify(envelope)
    const id = await deliverWithRetries(body, 2)
    // A posted message is keyed on channel + ts, so that reconciliation finds it too.
    const key = 'message:C0E2E00001:1795000000.000100'
    expect(await slackRows(key)).toBe(1)
    expect(await effectsOf(id)).toBe(1)
    const stored = await h.prisma.event.findUniqueOrThrow({ where: { id } })
    expect(stored).toMatchObject({
      provider: 'slack',
      eventKey: key,
      type: 'message',
      tenant: SLACK_TEST_TEAM_ID,
      entityKey: 'C0E2E00001:1795000000.000100',
      source: 'webhook',
      deliveries: 3,
      status: 'processed',
    })
    expect(stored.occurredAt?.getTime()).toBe(1_795_000_000_000)
    expect(Buffer.from(stored.rawBody!).toString()).toBe(body)
  })

  it('signed with the second configured secret (rotation) is accepted', async () => {
    const res = await post(JSON.stringify(slackMessageEvent()), { secret: ROTATED_SECRET })
    expect(res.status).toBe(200)
  })
})

/** The inbox key a posted message would get: its channel and ts. */
function messageKey(envelope: Record<string, unknown>): string {
  const event = envelope.event as { channel: string; ts: string }
  return `message:${event.channel}:${event.ts}`
}

describe('a forged or replayed Slack request → 401, nothing stored', () => {
  const cases: [string, () => { body: string; headers: Record<string, string>; key: string }][] = [
    ['wrong secret', () => {
      const e = slackMessageEvent()
      return { ...signedSlackRequest(JSON.stringify(e), { secret: 'f0rg3df0rg3df0rg3df0rg3df0rg3d00' }), key: messageKey(e) }
    }],
    ['body altered after signing', () => {
      const e = slackMessageEvent({ text: 'transfer 100' })
      const s = signedSlackRequest(JSON.stringify(e))
      return { body: s.body.replace('transfer 100', 'transfer 900'), headers: s.headers, key: messageKey(e) }
    }],
    ['timestamp ten minutes old (replay)', () => {
      const e = slackMessageEvent()
      return { ...signedSlackRequest(JSON.stringify(e), { timestamp: Math.floor(Date.now() / 1000) - 600 }), key: messageKey(e) }
    }],
    ['no signature headers', () => {
      const e = slackMessageEvent()
      return { body: JSON.stringify(e), headers: { 'content-type': 'application/json' }, key: messageKey(e) }
    }],
  ]
  for (const [name, make] of cases) {
    it(name, async () => {
      const { body, headers, key } = make()
      const res = await h.post('slack', body, headers)
      expect(res.status).toBe(401)
      expect(res.body.error.code).toBe('hookline.signature_invalid')
      expect(await slackRows(key)).toBe(0)
    })
  }
})

describe('slash commands and interactivity (form bodies)', () => {
  it('a slash command is ingested once; its retry is a duplicate', async () => {
    const fields = slackSlashCommand({ command: '/deploy', text: 'api --env=prod & notify @oncall' })
    const id = await deliverWithRetries(slackCommandBody(fields), 1, { eventKey: `command:${fields.trigger_id}` })
    expect(await effectsOf(id)).toBe(1)
    const stored = await h.prisma.event.findUniqueOrThrow({ where: { id } })
    expect(stored).toMatchObject({ eventKey: `command:${fields.trigger_id}`, type: 'command.deploy', tenant: SLACK_TEST_TEAM_ID, entityKey: null, deliveries: 2 })
    expect(stored.payload).toMatchObject({ text: 'api --env=prod & notify @oncall', response_url: fields.response_url })
  })

  it('a block action sent as `…urlencoded; charset=utf-8` verifies, is ingested once; its retry is a duplicate', async () => {
    const payload = slackBlockActionsPayload({ channel: 'C0E2E00001', messageTs: '1795000000.000100' })
    const id = await deliverWithRetries(slackInteractivityBody(payload), 1, { contentType: 'application/x-www-form-urlencoded; charset=utf-8', eventKey: `interactivity:block_actions:${payload.trigger_id}` })
    expect(await effectsOf(id)).toBe(1)
    const stored = await h.prisma.event.findUniqueOrThrow({ where: { id } })
    expect(stored).toMatchObject({
      eventKey: `interactivity:block_actions:${payload.trigger_id}`,
      type: 'interactivity.block_actions',
      tenant: SLACK_TEST_TEAM_ID,
      entityKey: 'C0E2E00001:1795000000.000100',
      deliveries: 2,
    })
    expect(stored.payload).toEqual(payload)
  })

  it('a second click on the same button is a new event', async () => {
    const click = () => slackBlockActionsPayload({ channel: 'C0E2E00001', messageTs: '1795000000.000100', actionId: 'approve_deploy' })
    const [first, second] = [click(), click()]
    for (const payload of [first, second]) expect((await post(slackInteractivityBody(payload))).status).toBe(200)
    const [a, b] = [await idOf(`interactivity:block_actions:${first.trigger_id}`), await idOf(`interactivity:block_actions:${second.trigger_id}`)]
    expect(a).not.toBe(b)
    await h.waitForStatus(a, 'processed')
    await h.waitForStatus(b, 'processed')
  })
})

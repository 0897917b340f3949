/**
 * @module Hostile input through the surfaces a user touches: a payload nested thousands of levels
 * deep (refused at ingest; one stored by an older release is still served), NUL characters and
 * out-of-range dates in the admin API's filters, cursors and notes (400, never 500), and the
 * admin API's headers on every answer.
 */
import { createApp } from '../apps/hookline/src/service.ts'
import { listenOnFreePort, signedStripeDelivery, stripeEvent } from '@hookline/testkit'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, startHarness } from './support/harness.ts'

const TOKEN = 'admin-token-for-hostile-input-0123456789'
/** Deep enough to overflow a recursive reader (the ingress test stays under the harness's body limit). */
const DEPTH = 100_000
const DEPTH_AT_INGEST = 5_000

let h: Harness
let admin: { url: string; close(): Promise<void> }

beforeAll(async () => {
  h = await startHarness()
  admin = await listenOnFreePort(createApp(h.hookline, { adminToken: TOKEN }))
})
afterAll(async () => {
  await admin?.close()
  await h?.close()
})

async function api(method: string, path: string, body?: unknown, token = TOKEN): Promise<{ status: number; body: any; headers: Headers }> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` }
  if (body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(`${admin.url}/admin/api${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers }
}

/** A Stripe event whose object nests `depth` levels of `{"a": …}`, as JSON text. */
function deeplyNestedEvent(id: string, depth: number): string {
  const envelope = JSON.stringify(stripeEvent({ id, object: { marker: 'deep' } }))
  return envelope.replace('"marker":"deep"', `"nested":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`)
}

describe('a deeply nested payload', () => {
  it('is refused at ingest with 400, counted, and nothing is stored', async () => {
    const { body, headers } = signedStripeDelivery(undefined, { body: deeplyNestedEvent('evt_deep_refused', DEPTH_AT_INGEST) })
    const res = await h.post('stripe', body, headers)
    expect(res.status).toBe(400)
    expect(res.body.error).toEqual({ code: 'hookline.payload_malformed', message: 'the payload nests deeper than 512 levels' })
    expect(await h.count(`SELECT count(*)::int AS n FROM hookline.hookline_events WHERE event_key = 'evt_deep_refused'`)).toBe(0)
    const metrics = await (await fetch(`${h.url}/metrics`)).text()
    expect(metrics).toMatch(/hookline_webhooks_rejected_total\{provider="stripe",reason="hookline.payload_malformed"\} 1/)
  })

  it('one level under the limit is accepted', async () => {
    const { body, headers } = signedStripeDelivery(undefined, { body: deeplyNestedEvent('evt_deep_ok', 500) })
    expect((await h.post('stripe', body, headers)).status).toBe(200)
  })

  it('stored by an older release, is served as JSON text by the admin API, and the service stays up', async () => {
    const text = deeplyNestedEvent('evt_deep_stored', DEPTH)
    // As an older release stored it: the body itself, through the inbox, without the ingress's check.
    const [stored] = await h.hookline.inbox.insertMany(
      [{ provider: 'stripe', event: { kind: 'event', eventKey: 'evt_deep_stored', type: 'invoice.paid', tenant: null, entityKey: null, occurredAt: null, payload: JSON.parse(text), payloadIsBody: true, recordOnly: true }, meta: { source: 'webhook', headers: {}, rawBody: Buffer.from(text) }, count: 1 }],
      60_000,
    )
    const detail = await api('GET', `/events/${stored!.id}`)
    expect(detail.status).toBe(200)
    expect(detail.body.eventKey).toBe('evt_deep_stored')
    expect(detail.body.payload).toBe(text)
    expect((await api('GET', '/events?limit=5')).status).toBe(200)
    expect((await fetch(`${admin.url}/healthz`)).status).toBe(200)
  })
})

describe("the admin API's filters, cursors and notes", () => {
  it.each([
    ['a NUL in a text filter', '/events?tenant=acct%00x'],
    ['a NUL in the free text', '/events?q=evt%00'],
    ['a NUL in a type pattern', '/dlq?type=invoice.%00*'],
    ['a duration reaching before year 1', '/events?since=999999999d'],
    ['a date after year 9999', '/events?until=10000-01-01'],
    ['a cursor whose time Postgres cannot hold', `/events?cursor=${Buffer.from('+275760-09-13T00:00:00.000Z|018f0000-0000-7000-8000-000000000000').toString('base64url')}`],
    ['a stats window before year 1', '/stats?since=99999999d'],
  ])('%s → 400', async (_, path) => {
    const res = await api('GET', path)
    expect(res.status).toBe(400)
    expect(res.body.error.code).toBe('hookline.request_invalid')
  })

  it('a NUL in a replay note or a reconcile tenant → 400, and nothing is audited', async () => {
    const replay = await api('POST', '/replay', { status: ['dead'], dryRun: false, note: 'because\u0000' })
    expect(replay.status).toBe(400)
    const ignore = await api('POST', '/events/018f0000-0000-7000-8000-000000000000/ignore', { note: 'x\u0000y' })
    expect(ignore.status).toBe(400)
    const reconcile = await api('POST', '/reconcile', { provider: 'stripe', tenant: 'acct\u0000' })
    expect(reconcile.status).toBe(400)
    expect(await h.count(`SELECT count(*)::int AS n FROM hookline.hookline_audit_log`)).toBe(0)
  })

  it('every answer, a refusal of the token included, is neither cached nor sniffed', async () => {
    for (const res of [await api('GET', '/events?limit=1'), await api('GET', '/events', undefined, 'wrong-token')]) {
      expect(res.headers.get('x-content-type-options')).toBe('nosniff')
      expect(res.headers.get('cache-control')).toBe('no-store')
    }
  })
})

/**
 * HOOKLINE_REDACT through the service's own app (`createApp` with redaction paths) against real
 * Postgres and Redis: an event's detail shows its secret fields and headers as "[redacted]", while
 * its handler got the real values and the stored row is unchanged; listings carry no payload; any
 * stored shape is served (not an object, a list, nested too deep for a reader); the event stream
 * sends a redacted payload in place of a raw body a path matched; a bad path stops the app from
 * being built.
 */
import { sseMessages, type SseMessage } from '../apps/hookline/src/commands/sse-reader.ts'
import { createApp } from '../apps/hookline/src/service.ts'
import { ConfigError, type HooklineEvent, PAYLOAD_JSON, REDACTED } from '@hookline/core/internal'
import { listenOnFreePort, signedStripeDelivery, stripeEvent } from '@hookline/testkit'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { type Harness, startHarness } from './support/harness.ts'

const TOKEN = 'admin-token-for-redaction-0123456789'
const REDACT = ['data.object.email', 'data.object.customer.address', 'data.object.sources.*.card', '*.secret', 'header:x-forwarded-for']
const seen: HooklineEvent[] = []

let h: Harness
let admin: { url: string; close(): Promise<void> }

beforeAll(async () => {
  h = await startHarness({ handlers: { '*': async (event) => void seen.push(event) } })
  admin = await listenOnFreePort(createApp(h.hookline, { adminToken: TOKEN, redact: REDACT }))
})
afterAll(async () => {
  await admin?.close()
  await h?.close()
})

async function api(path: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${admin.url}/admin/api${path}`, { headers: { authorization: `Bearer ${TOKEN}` } })
  return { status: res.status, body: await res.json() }
}

async function stored(id: string): Promise<{ payload: string; headers: Record<string, string> }> {
  const [row] = await h.prisma.$queryRawUnsafe<{ payload: string; headers: Record<string, string> }[]>(
    `SELECT ${PAYLOAD_JSON} AS payload, headers FROM hookline.hookline_events WHERE id = $1::uuid`,
    id,
  )
  return row!
}

/** Stores `payload` (JSON text) as an older release, or another sender, could have: straight into the inbox. */
async function storeRaw(eventKey: string, text: string): Promise<string> {
  const [row] = await h.hookline.inbox.insertMany(
    [{ provider: 'stripe', event: { kind: 'event', eventKey, type: 'test.raw', tenant: null, entityKey: null, occurredAt: null, payload: JSON.parse(text), payloadIsBody: true, recordOnly: true }, meta: { source: 'webhook', headers: { 'x-forwarded-for': '198.51.100.2' }, rawBody: Buffer.from(text) }, count: 1 }],
    60_000,
  )
  return row!.id
}

it("shows an event's secret fields and headers redacted; its handler got them, and the row keeps them", async () => {
  const object = {
    id: 'cus_redact_1',
    email: 'ana@example.com',
    name: 'Ana',
    customer: { address: { line1: '1 rue de la Paix', city: 'Paris' }, phone: '+33 1 00 00 00 00' },
    sources: [{ id: 'src_1', card: { last4: '4242', exp: '12/30' } }, { id: 'src_2', card: { last4: '1881' } }],
  }
  const { body, headers } = signedStripeDelivery(stripeEvent({ type: 'customer.updated', object }))
  const res = await h.post('stripe', body, { ...headers, 'x-forwarded-for': '203.0.113.7' })
  expect(res.status).toBe(200)
  const id = res.body.id as string
  await h.waitForStatus(id, 'processed')

  const sent = JSON.parse(body).data.object
  const detail = await api(`/events/${id}`)
  expect(detail.status).toBe(200)
  expect(detail.body.payload.data.object).toEqual({
    ...sent,
    email: REDACTED,
    customer: { address: REDACTED, phone: '+33 1 00 00 00 00' },
    sources: [{ id: 'src_1', card: REDACTED }, { id: 'src_2', card: REDACTED }],
  })
  expect(detail.body.headers['x-forwarded-for']).toBe(REDACTED)
  expect(detail.body.headers['stripe-signature']).toBe(headers['stripe-signature'])
  expect(JSON.stringify(detail.body)).not.toMatch(/ana@example\.com|rue de la Paix|4242|1881|203\.0\.113\.7/)

  // The handler got the real payload.
  const handled = seen.find((event) => event.id === id)!
  expect((handled.payload as any).data.object).toEqual(sent)
  expect(sent).toMatchObject(object)
  // The row is as it arrived: the very bytes, and the header.
  const row = await stored(id)
  expect(row.payload).toBe(body)
  expect(row.headers['x-forwarded-for']).toBe('203.0.113.7')
  // A second read redacts again (nothing cached, nothing written back).
  expect((await api(`/events/${id}`)).body.payload.data.object.email).toBe(REDACTED)
})

it('carries no payload in listings (the events, the DLQ)', async () => {
  for (const path of ['/events?limit=50', '/dlq']) {
    const listing = await api(path)
    expect(listing.status).toBe(200)
    expect(JSON.stringify(listing.body)).not.toMatch(/ana@example\.com|"payload"/)
  }
})

it('serves every stored shape: not an object, a list, nested too deep for a reader', async () => {
  const cases: [text: string, shown: unknown][] = [
    ['"just text"', 'just text'],
    ['42', 42],
    ['null', null],
    ['[{"secret":"s1","keep":1},"secret",[{"secret":"s2"}]]', [{ secret: REDACTED, keep: 1 }, 'secret', [{ secret: 's2' }]]],
    ['{"data":{"object":"not an object"},"secret":{"nested":true}}', { data: { object: 'not an object' }, secret: { nested: true } }],
  ]
  for (const [i, [text, shown]] of cases.entries()) {
    const detail = await api(`/events/${await storeRaw(`evt_shape_${i}`, text)}`)
    expect(detail.status, text).toBe(200)
    expect(detail.body.payload, text).toEqual(shown)
    expect(detail.body.headers['x-forwarded-for']).toBe(REDACTED)
  }

  // Nested deeper than a reader survives: served as its JSON text, or hidden whole when a path matches in it.
  const deep = (top: string) => `{${top}"data":{"object":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}}`
  const plain = deep('')
  expect((await api(`/events/${await storeRaw('evt_deep_plain', plain)}`)).body.payload).toBe(plain)
  const secret = deep('"x":{"secret":"s3"},')
  const hidden = await storeRaw('evt_deep_secret', secret)
  expect((await api(`/events/${hidden}`)).body.payload).toBe(REDACTED)
  expect((await stored(hidden)).payload).toBe(secret)
  expect((await fetch(`${admin.url}/healthz`)).status).toBe(200)
})

it('streams a redacted payload in place of the raw body a path matched, and other raw bodies as they are', async () => {
  const secretBody = JSON.stringify({ id: 'evt_stream_secret', object: 'event', data: { object: { email: 'eve@example.com', name: 'Eve' } } })
  const plainBody = JSON.stringify({ id: 'evt_stream_plain', object: 'event', data: { object: { name: 'Bob' } } })
  await storeRaw('evt_stream_secret', secretBody)
  await storeRaw('evt_stream_plain', plainBody)
  const stop = new AbortController()
  const res = await fetch(`${admin.url}/admin/api/events/stream?since=1h&q=evt_stream_`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: stop.signal })
  const messages: SseMessage[] = []
  for await (const message of sseMessages(res.body!)) if (messages.push(message) === 3) break
  stop.abort()
  const [secret, plain] = messages.slice(1).map((m) => JSON.parse(m.data) as { eventKey: string; body: string; bodySource: string; headers: Record<string, string> })
  expect(secret).toMatchObject({ eventKey: 'evt_stream_secret', bodySource: 'redacted', headers: { 'x-forwarded-for': REDACTED } })
  expect(JSON.parse(Buffer.from(secret!.body, 'base64').toString())).toEqual({ id: 'evt_stream_secret', object: 'event', data: { object: { email: REDACTED, name: 'Eve' } } })
  expect(plain).toMatchObject({ eventKey: 'evt_stream_plain', bodySource: 'raw' })
  expect(Buffer.from(plain!.body, 'base64').toString()).toBe(plainBody)
})

it('refuses a bad path when the app is built', () => {
  expect(() => createApp(h.hookline, { adminToken: TOKEN, redact: ['data..email'] })).toThrow(ConfigError)
})

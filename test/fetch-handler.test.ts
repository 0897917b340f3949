/**
 * The web-standard binding, `fetchHandler`, mounted in a Hono app on a real HTTP server, against
 * real Postgres and Redis: Stripe-signed deliveries are stored once, and every bad request gets the
 * same answer as from the Express binding.
 */
import { request } from 'node:http'
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib'
import { getRequestListener } from '@hono/node-server'
import { fetchHandler, type Hookline } from '@hookline/core'
import { freePort, listenOnFreePort, signedStripeDelivery, stripeEvent } from '@hookline/testkit'
import { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, startHarness } from './support/harness.ts'

/** The harness's Stripe adapter accepts 64 KiB. */
const LIMIT = 64 * 1024

let h: Harness
let hono: Awaited<ReturnType<typeof serveHono>>

/** A Hono app with the handler as its documentation mounts it, plus a catch-all and a fixed-provider route. */
async function serveHono(hookline: Hookline) {
  const webhooks = fetchHandler(hookline, { retryAfterSeconds: 7 })
  const stripeOnly = fetchHandler(hookline, { provider: 'stripe' })
  const app = new Hono()
  app.all('/webhooks/:provider', (c) => webhooks(c.req.raw))
  app.post('/stripe-events', (c) => stripeOnly(c.req.raw))
  app.all('/any/*', (c) => webhooks(c.req.raw))
  const server = await listenOnFreePort(getRequestListener(app.fetch))
  const post = async (path: string, body: string | Uint8Array | ReadableStream<Uint8Array> | undefined, headers: Record<string, string>, method = 'POST') => {
    // `duplex` is what fetch asks of a streamed body; harmless on the others.
    const res = await fetch(`${server.url}${path}`, { method, body, headers, duplex: 'half' })
    const text = await res.text()
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined }
  }
  return { ...server, post }
}

beforeAll(async () => {
  h = await startHarness({ startWorker: false })
  hono = await serveHono(h.hookline)
})
afterAll(async () => {
  await hono?.close()
  await h?.close()
})

const countEvents = (key: unknown) => h.count(`SELECT count(*)::int AS n FROM hookline.hookline_events WHERE event_key = $1`, key)

describe('a signed Stripe event through Hono', () => {
  it('is acknowledged once durable: 200, one inbox row with the exact bytes and lower-case headers', async () => {
    const event = stripeEvent({ account: 'acct_hono' })
    const { body, headers } = signedStripeDelivery(event)
    const res = await hono.post('/webhooks/stripe', body, { ...headers, 'X-Trace-Id': 'trace-1' })
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ id: expect.any(String), duplicate: false })
    const stored = await h.prisma.event.findUniqueOrThrow({ where: { id: res.body.id } })
    expect(stored).toMatchObject({ provider: 'stripe', eventKey: event.id, tenant: 'acct_hono', source: 'webhook', deliveries: 1 })
    expect(Buffer.from(stored.rawBody!).toString()).toBe(body)
    expect(stored.headers).toMatchObject({ 'stripe-signature': headers['stripe-signature'] })
  })

  it('sent twice is one row: the second answer is 200 duplicate:true with the same id', async () => {
    const event = stripeEvent()
    const { body, headers } = signedStripeDelivery(event)
    const first = await hono.post('/webhooks/stripe', body, headers)
    const second = await hono.post('/webhooks/stripe', body, headers)
    expect([first.status, second.status]).toEqual([200, 200])
    expect(second.body).toEqual({ id: first.body.id, duplicate: true })
    expect(await countEvents(event.id)).toBe(1)
    expect(await h.count(`SELECT deliveries AS n FROM hookline.hookline_events WHERE event_key = $1`, event.id)).toBe(2)
  })

  for (const [encoding, compress] of [['gzip', gzipSync], ['deflate', deflateSync], ['br', brotliCompressSync]] as const) {
    it(`encoded with ${encoding} is inflated and verified over the decoded bytes`, async () => {
      const event = stripeEvent()
      const { body, headers } = signedStripeDelivery(event)
      const res = await hono.post('/webhooks/stripe', compress(Buffer.from(body)), { ...headers, 'content-encoding': encoding.toUpperCase() })
      expect(res.status).toBe(200)
      const stored = await h.prisma.event.findUniqueOrThrow({ where: { id: res.body.id } })
      expect(Buffer.from(stored.rawBody!).toString()).toBe(body)
    })
  }

  it('is matched on the path\'s last /webhooks/<provider>: under a prefix, any case, trailing slash, query, encoded name', async () => {
    for (const path of ['/any/api/webhooks/stripe', '/any/Webhooks/stripe/', '/any/webhooks/stripe?source=test', '/any/webhooks/str%69pe']) {
      const event = stripeEvent()
      const { body, headers } = signedStripeDelivery(event)
      const res = await hono.post(path, body, headers)
      expect([path, res.status]).toEqual([path, 200])
      expect(await countEvents(event.id)).toBe(1)
    }
  })

  it('on a route of its own takes the provider from the option, not the path', async () => {
    const event = stripeEvent()
    const { body, headers } = signedStripeDelivery(event)
    expect((await hono.post('/stripe-events', body, headers)).status).toBe(200)
    expect(await countEvents(event.id)).toBe(1)
  })
})

describe('bad requests get the Express binding\'s answer and store nothing', () => {
  it('a wrong signature → 401', async () => {
    const event = stripeEvent()
    const { body, headers } = signedStripeDelivery(event, { secret: 'whsec_not_ours' })
    const res = await hono.post('/webhooks/stripe', body, headers)
    expect(res.status).toBe(401)
    expect(res.body.error.code).toBe('hookline.signature_invalid')
    expect(await countEvents(event.id)).toBe(0)
  })

  it('malformed JSON with a valid signature → 400', async () => {
    const { body, headers } = signedStripeDelivery(undefined, { body: '{"id": "evt_hono_broken", ' })
    const res = await hono.post('/webhooks/stripe', body, headers)
    expect(res.status).toBe(400)
    expect(res.body.error.code).toBe('hookline.payload_malformed')
    expect(await countEvents('evt_hono_broken')).toBe(0)
  })

  it('an oversized body with its Content-Length → 413', async () => {
    const event = stripeEvent({ object: { padding: 'x'.repeat(LIMIT) } })
    const { body, headers } = signedStripeDelivery(event)
    const res = await hono.post('/webhooks/stripe', body, headers)
    expect(res.status).toBe(413)
    expect(res.body.error.code).toBe('hookline.payload_too_large')
    expect(await countEvents(event.id)).toBe(0)
  })

  it('a declared Content-Length over the limit → 413 before the body is read', { timeout: 10_000 }, async () => {
    // Only 10 of the declared bytes are ever sent: a handler that read before checking would hang.
    const req = request(`${hono.url}/webhooks/stripe`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(10 * LIMIT) } })
    const status = new Promise<number | undefined>((resolve, reject) => req.on('response', (res) => resolve(res.statusCode)).on('error', reject))
    req.write('{"id": "ev')
    try {
      expect(await status).toBe(413)
    } finally {
      req.destroy()
    }
  })

  it('an endless chunked body → 413: the limit holds while streaming (buffering it would never answer)', async () => {
    let sent = 0
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        // Bounded only so that a failing test ends.
        if (sent > 256 * 1024 * 1024) return controller.close()
        sent += 16 * 1024
        controller.enqueue(new Uint8Array(16 * 1024).fill(0x20))
      },
    })
    const res = await hono.post('/webhooks/stripe', endless, { 'content-type': 'application/json', 'stripe-signature': 't=1,v1=00' })
    expect(res.status).toBe(413)
    expect(res.body.error.code).toBe('hookline.payload_too_large')
  })

  it('a small gzip body that inflates beyond the limit → 413', async () => {
    const bomb = gzipSync(Buffer.alloc(16 * LIMIT, 0x20))
    expect(bomb.length).toBeLessThan(LIMIT / 8)
    const res = await hono.post('/webhooks/stripe', bomb, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'stripe-signature': 't=1,v1=00' })
    expect(res.status).toBe(413)
  })

  it('an unknown content encoding → 415; a corrupt gzip body → 400', async () => {
    const { body, headers } = signedStripeDelivery()
    const unknown = await hono.post('/webhooks/stripe', body, { ...headers, 'content-encoding': 'compress' })
    expect(unknown.status).toBe(415)
    expect(unknown.body.error.code).toBe('hookline.unsupported_media_type')
    const corrupt = await hono.post('/webhooks/stripe', body, { ...headers, 'content-encoding': 'gzip' })
    expect(corrupt.status).toBe(400)
    expect(corrupt.body.error.code).toBe('hookline.payload_malformed')
  })

  it('an unknown provider → 404; another path → 404; another method → 405 with Allow', async () => {
    const { body, headers } = signedStripeDelivery()
    const unknown = await hono.post('/webhooks/nope', body, headers)
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'hookline.unknown_provider'])
    for (const path of ['/any/webhooks/stripe/more', '/any/webhooks/', '/any/hooks/stripe']) {
      const res = await hono.post(path, body, headers)
      expect([path, res.status, res.body.error.code]).toEqual([path, 404, 'hookline.route_not_found'])
    }
    const get = await hono.post('/webhooks/stripe', undefined, {}, 'GET')
    expect([get.status, get.headers.get('allow'), get.body.error.code]).toEqual([405, 'POST', 'hookline.method_not_allowed'])
  })

  it('counts the refusals the binding made before core saw the body', async () => {
    const metrics = await (await fetch(`${h.url}/metrics`)).text()
    expect(metrics).toMatch(/hookline_webhooks_rejected_total\{provider="stripe",reason="hookline.payload_too_large"\} 4/)
    expect(metrics).toMatch(/hookline_webhooks_rejected_total\{provider="stripe",reason="hookline.unsupported_media_type"\} 1/)
  })
})

describe('Postgres unreachable', () => {
  it('answers 503 with the configured Retry-After and stores nothing', async () => {
    const down = await startHarness({ databaseUrl: `postgresql://postgres@127.0.0.1:${await freePort()}/nowhere`, startWorker: false })
    const downHono = await serveHono(down.hookline)
    try {
      const event = stripeEvent()
      const { body, headers } = signedStripeDelivery(event)
      const res = await downHono.post('/webhooks/stripe', body, headers)
      expect(res.status).toBe(503)
      expect(res.headers.get('retry-after')).toBe('7')
      expect(res.body.error.code).toBe('hookline.store_unavailable')
      expect(await down.count(`SELECT count(*)::int AS n FROM hookline.hookline_events WHERE event_key = $1`, event.id)).toBe(0)
    } finally {
      await downHono.close()
      await down.close()
    }
  })
})

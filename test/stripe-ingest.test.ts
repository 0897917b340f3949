/**
 * Stripe deliveries through the HTTP ingress, against real Postgres and Redis: what is stored,
 * what is processed, and what every bad request gets back.
 */
import { PAYLOAD_JSON } from '@hookline/core/internal'
import { webhookRouter } from '@hookline/express'
import { freePort, listenOnFreePort, signedStripeDelivery, STRIPE_TEST_SECRET, stripeEvent } from '@hookline/testkit'
import express from 'express'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, startHarness } from './support/harness.ts'

const ROTATED_SECRET = 'whsec_rotated_new_secret_9876543210'
let h: Harness

beforeAll(async () => {
  h = await startHarness({ secrets: [ROTATED_SECRET, STRIPE_TEST_SECRET] })
})
afterAll(async () => h?.close())

async function countEvents(eventKey: string): Promise<number> {
  const rows = await h.prisma.$queryRawUnsafe<{ n: number }[]>(`SELECT count(*)::int AS n FROM hookline.hookline_events WHERE event_key = $1`, eventKey)
  return rows[0]!.n
}

async function effectsOf(id: string): Promise<number> {
  const rows = await h.prisma.$queryRawUnsafe<{ n: number }[]>(`SELECT count(*)::int AS n FROM effects WHERE event_id = $1::uuid`, id)
  return rows[0]!.n
}

describe('a signed Stripe event', () => {
  it('is acknowledged with its inbox id, stored once, processed once', async () => {
    const event = stripeEvent({ type: 'invoice.paid', account: 'acct_tenant1' })
    const { body, headers } = signedStripeDelivery(event)
    const res = await h.post('stripe', body, headers)
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ id: expect.any(String), duplicate: false })
    const row = await h.waitForStatus(res.body.id, 'processed')
    expect(row.attempts).toBe(1)
    expect(await effectsOf(res.body.id)).toBe(1)
    const stored = await h.prisma.event.findUniqueOrThrow({ where: { id: res.body.id }, include: { attemptLog: true } })
    expect(stored).toMatchObject({
      provider: 'stripe',
      eventKey: event.id,
      type: 'invoice.paid',
      tenant: 'acct_tenant1',
      entityKey: (event.data as any).object.id,
      source: 'webhook',
      deliveries: 1,
    })
    expect(stored.occurredAt?.getTime()).toBe((event.created as number) * 1000)
    expect(Buffer.from(stored.rawBody!).toString()).toBe(body)
    expect(stored.headers).toMatchObject({ 'stripe-signature': headers['stripe-signature'] })
    expect(stored.attemptLog).toHaveLength(1)
    expect(stored.attemptLog[0]!.outcome).toBe('succeeded')
  })

  it('keeps the body byte for byte, once: its JSON, unicode and exact numbers included, is read from it', async () => {
    const event = stripeEvent({ type: 'invoice.paid' })
    // Odd spacing, non-ASCII text, an escaped character and an integer beyond 2^53.
    const body = JSON.stringify(event, null, 3).replace(/^\{/, '{ "note" : "héllo ✓ \\u00e9 \\"q\\"", "big": 12345678901234567891,')
    const { headers } = signedStripeDelivery(event, { body })
    const res = await h.post('stripe', body, headers)
    expect(res.status).toBe(200)
    const [row] = await h.prisma.$queryRawUnsafe<{ raw: Buffer; copy: boolean; note: string; big: string; id: string }[]>(
      `SELECT raw_body AS raw, payload IS NOT NULL AS copy, p->>'note' AS note, p->>'big' AS big, p->>'id' AS id
         FROM hookline.hookline_events, LATERAL (SELECT ${PAYLOAD_JSON}::jsonb AS p) AS parsed WHERE id = $1::uuid`,
      res.body.id,
    )
    expect(Buffer.from(row!.raw).equals(Buffer.from(body))).toBe(true)
    expect(row).toMatchObject({ copy: false, note: 'héllo ✓ é "q"', big: '12345678901234567891', id: event.id })
  })

  it('posted 50 times at once is one row with 50 deliveries and one effect', async () => {
    const event = stripeEvent({ type: 'customer.updated' })
    const { body, headers } = signedStripeDelivery(event)
    const responses = await Promise.all(Array.from({ length: 50 }, () => h.post('stripe', body, headers)))
    expect(responses.map((r) => r.status)).toEqual(Array(50).fill(200))
    const ids = new Set(responses.map((r) => r.body.id))
    expect(ids.size).toBe(1)
    expect(responses.filter((r) => r.body.duplicate === false)).toHaveLength(1)
    const [id] = [...ids] as [string]
    const row = await h.waitForStatus(id, 'processed')
    expect(row.deliveries).toBe(50)
    expect(await countEvents(event.id as string)).toBe(1)
    // Duplicates arriving after processing change nothing either.
    expect((await h.post('stripe', body, headers)).body).toEqual({ id, duplicate: true })
    await new Promise((r) => setTimeout(r, 300))
    expect(await effectsOf(id)).toBe(1)
  })

  it('holding a \\u0000 that a jsonb column cannot store is kept and handled like any other', async () => {
    const event = stripeEvent({ object: { description: 'nul \u0000 inside', label: 'with-nul' } })
    const { body, headers } = signedStripeDelivery(event)
    expect(body).toContain('\\u0000')
    const res = await h.post('stripe', body, headers)
    expect(res.status).toBe(200)
    await h.waitForStatus(res.body.id, 'processed')
    expect(await h.count(`SELECT count(*)::int AS n FROM effects WHERE event_id = $1::uuid AND label = 'with-nul'`, res.body.id)).toBe(1)
    const detail = await h.hookline.events.get(res.body.id)
    expect((detail.payload as any).data.object.description).toBe('nul \u0000 inside')
  })

  it('signed with the second configured secret (rotation) is accepted', async () => {
    const { body, headers } = signedStripeDelivery(stripeEvent(), { secret: ROTATED_SECRET })
    expect((await h.post('stripe', body, headers)).status).toBe(200)
  })
})

describe('bad requests get a clear answer and store nothing', () => {
  const now = Math.floor(Date.now() / 1000)
  const cases: [string, () => { body: string; headers: Record<string, string>; key: string }][] = [
    ['tampered body', () => {
      const e = stripeEvent()
      const s = signedStripeDelivery(e)
      return { body: s.body.replace('4200', '1'), headers: s.headers, key: e.id as string }
    }],
    ['wrong secret', () => {
      const e = stripeEvent()
      return { ...signedStripeDelivery(e, { secret: 'whsec_not_ours' }), key: e.id as string }
    }],
    ['stale timestamp', () => {
      const e = stripeEvent()
      return { ...signedStripeDelivery(e, { timestamp: now - 3600 }), key: e.id as string }
    }],
    ['future timestamp', () => {
      const e = stripeEvent()
      return { ...signedStripeDelivery(e, { timestamp: now + 3600 }), key: e.id as string }
    }],
    ['missing signature header', () => {
      const e = stripeEvent()
      const s = signedStripeDelivery(e)
      return { body: s.body, headers: { 'content-type': 'application/json' }, key: e.id as string }
    }],
  ]
  for (const [name, make] of cases) {
    it(`${name} → 401`, async () => {
      const { body, headers, key } = make()
      const res = await h.post('stripe', body, headers)
      expect(res.status).toBe(401)
      expect(res.body.error.code).toBe('hookline.signature_invalid')
      expect(await countEvents(key)).toBe(0)
    })
  }

  it('malformed JSON with a valid signature → 400', async () => {
    const { body, headers } = signedStripeDelivery(undefined, { body: '{"id": "evt_broken", ' })
    const res = await h.post('stripe', body, headers)
    expect(res.status).toBe(400)
    expect(res.body.error.code).toBe('hookline.payload_malformed')
    expect(await countEvents('evt_broken')).toBe(0)
  })

  it('valid JSON that is not a Stripe event → 400', async () => {
    const { body, headers } = signedStripeDelivery({ hello: 'world' })
    const res = await h.post('stripe', body, headers)
    expect(res.status).toBe(400)
  })

  it('an oversized body → 413', async () => {
    const e = stripeEvent({ object: { padding: 'x'.repeat(100 * 1024) } })
    const { body, headers } = signedStripeDelivery(e)
    const res = await h.post('stripe', body, headers)
    expect(res.status).toBe(413)
    expect(res.body.error.code).toBe('hookline.payload_too_large')
    expect(await countEvents(e.id as string)).toBe(0)
  })

  it('an unknown provider → 404', async () => {
    const res = await h.post('nope', '{}', { 'content-type': 'application/json' })
    expect(res.status).toBe(404)
  })

  it('counts every rejection by reason and never logs secrets or bodies', async () => {
    const metrics = await (await fetch(`${h.url}/metrics`)).text()
    expect(metrics).toMatch(/hookline_webhooks_rejected_total\{provider="stripe",reason="hookline.signature_invalid"\} 5/)
    expect(metrics).toMatch(/hookline_webhooks_rejected_total\{provider="stripe",reason="hookline.payload_too_large"\} 1/)
    expect(metrics).toMatch(/hookline_webhooks_rejected_total\{provider="stripe",reason="hookline.payload_malformed"\} 2/)
    expect(metrics).toMatch(/hookline_webhooks_duplicates_total\{provider="stripe"\} 50/)
    const logs = h.logs.join('')
    expect(logs).toContain('hookline.signature_invalid')
    expect(logs).not.toContain(STRIPE_TEST_SECRET)
    expect(logs).not.toContain(ROTATED_SECRET)
    expect(logs).not.toContain('cus_T3stCustomer')
    expect(logs).not.toMatch(/v1=[0-9a-f]{64}/)
  })
})

describe('the webhook path', () => {
  it('is matched as Express matches a route: below a mount path, any case, trailing slash, query, encoded name; other paths and methods pass on', async () => {
    const app = express()
    app.use('/hooks', webhookRouter(h.hookline))
    app.use((_req, res) => void res.status(404).send('the application'))
    const server = await listenOnFreePort(app)
    try {
      for (const path of ['/hooks/webhooks/stripe', '/hooks/Webhooks/stripe/', '/hooks/webhooks/stripe?source=test', '/hooks/webhooks/str%69pe']) {
        const event = stripeEvent()
        const { body, headers } = signedStripeDelivery(event)
        const res = await fetch(`${server.url}${path}`, { method: 'POST', body, headers })
        expect([path, res.status]).toEqual([path, 200])
        expect(await countEvents(event.id as string)).toBe(1)
      }
      const { body, headers } = signedStripeDelivery(stripeEvent())
      for (const [method, path] of [['POST', '/webhooks/stripe'], ['POST', '/hooks/webhooks/stripe/more'], ['POST', '/hooks/webhooks/'], ['PUT', '/hooks/webhooks/stripe']] as const) {
        const res = await fetch(`${server.url}${path}`, { method, body, headers })
        expect([method, path, res.status, await res.text()]).toEqual([method, path, 404, 'the application'])
      }
      const unknown = await fetch(`${server.url}/hooks/webhooks/%E0%A4%A`, { method: 'POST', body, headers })
      expect(unknown.status).toBe(404)
      expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('hookline.unknown_provider')
    } finally {
      await server.close()
    }
  })
})

describe('health', () => {
  it('/healthz and /readyz answer 200 while Postgres and Redis are up', async () => {
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200)
    const ready = await fetch(`${h.url}/readyz`)
    expect(ready.status).toBe(200)
    expect(await ready.json()).toEqual({ postgres: true, redis: true })
  })
})

describe('Postgres unreachable', () => {
  it('answers 503 with Retry-After and acknowledges nothing', async () => {
    const port = await freePort()
    const down = await startHarness({ databaseUrl: `postgresql://postgres@127.0.0.1:${port}/nowhere`, startWorker: false })
    try {
      const event = stripeEvent()
      const { body, headers } = signedStripeDelivery(event)
      const res = await down.post('stripe', body, headers)
      expect(res.status).toBe(503)
      expect(res.headers.get('retry-after')).toBe('7')
      expect(res.body.error.code).toBe('hookline.store_unavailable')
      expect((await fetch(`${down.url}/readyz`)).status).toBe(503)
      // Nothing reached the (real) test database either.
      const rows = await down.prisma.$queryRawUnsafe<unknown[]>(`SELECT 1 FROM hookline.hookline_events WHERE event_key = $1`, event.id)
      expect(rows).toHaveLength(0)
    } finally {
      await down.close()
    }
  })
})

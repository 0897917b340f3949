/**
 * The Stripe adapter alone (no database): signatures checked with the SDK over the raw bytes,
 * secret rotation, the timestamp window in both directions, and the extracted identity.
 */
import { MalformedPayloadError, type RawRequest, SignatureError } from '@hookline/core'
import { describe, expect, it } from 'vitest'
import { signedStripeDelivery } from '@hookline/testkit'
import { stripeAdapter } from './stripe-adapter.ts'

const SECRET = 'whsec_unit_primary'
const OLD_SECRET = 'whsec_unit_previous'
const adapter = stripeAdapter({ secrets: [SECRET, OLD_SECRET], toleranceSeconds: 300 })
const NOW = new Date('2026-11-23T12:00:00Z')
const nowSeconds = NOW.getTime() / 1000

const event = {
  id: 'evt_unit_1',
  object: 'event',
  type: 'customer.subscription.updated',
  created: nowSeconds - 5,
  account: 'acct_1',
  data: { object: { id: 'sub_1', object: 'subscription', status: 'active' } },
}

function request(body: string, headers: Record<string, string>, receivedAt = NOW): RawRequest {
  return { body: Buffer.from(body), headers, receivedAt }
}

function signed(secret = SECRET, timestamp = nowSeconds, body?: string): RawRequest {
  const s = signedStripeDelivery(event, { secret, timestamp, ...(body === undefined ? {} : { body }) })
  return request(s.body, s.headers)
}

describe('stripeAdapter.verify', () => {
  it('accepts a delivery signed with the primary or the previous secret', async () => {
    await expect(adapter.verify(signed(SECRET))).resolves.toMatchObject({ id: 'evt_unit_1' })
    await expect(adapter.verify(signed(OLD_SECRET))).resolves.toMatchObject({ id: 'evt_unit_1' })
  })
  it('refuses an unknown secret, a tampered body and a missing header', async () => {
    await expect(adapter.verify(signed('whsec_other'))).rejects.toBeInstanceOf(SignatureError)
    const ok = signed()
    await expect(adapter.verify({ ...ok, body: Buffer.from(ok.body.toString().replace('active', 'canceled')) })).rejects.toBeInstanceOf(SignatureError)
    await expect(adapter.verify(request(ok.body.toString(), {}))).rejects.toThrow(/missing Stripe-Signature/)
  })
  it('refuses timestamps outside the window in both directions, accepts them inside', async () => {
    await expect(adapter.verify(signed(SECRET, nowSeconds - 301))).rejects.toBeInstanceOf(SignatureError)
    await expect(adapter.verify(signed(SECRET, nowSeconds + 301))).rejects.toThrow(/future/)
    await expect(adapter.verify(signed(SECRET, nowSeconds - 299))).resolves.toBeDefined()
    await expect(adapter.verify(signed(SECRET, nowSeconds + 299))).resolves.toBeDefined()
  })
  it('reports a validly signed non-JSON body as malformed, not as a signature failure', async () => {
    await expect(adapter.verify(signed(SECRET, nowSeconds, '{"id":'))).rejects.toBeInstanceOf(MalformedPayloadError)
    // A byte-order mark is signed like any byte; JSON has none (the stored body is the payload).
    await expect(adapter.verify(signed(SECRET, nowSeconds, `\uFEFF${JSON.stringify(event)}`))).rejects.toBeInstanceOf(MalformedPayloadError)
  })
  it('needs a secret', () => {
    expect(() => stripeAdapter({ secrets: [''] })).toThrow(/at least one/)
  })
})

describe('stripeAdapter.parse', () => {
  it('extracts key, type, tenant, entity and time', async () => {
    const req = signed()
    expect(adapter.parse(await adapter.verify(req), req)).toEqual({
      kind: 'event',
      eventKey: 'evt_unit_1',
      type: 'customer.subscription.updated',
      tenant: 'acct_1',
      entityKey: 'sub_1',
      occurredAt: new Date((nowSeconds - 5) * 1000),
      payload: expect.objectContaining({ id: 'evt_unit_1' }),
      payloadIsBody: true,
    })
  })
  it('refuses a body that is not an event with a typed error', () => {
    expect(() => adapter.parse({ id: 'x' } as never, signed())).toThrow(MalformedPayloadError)
  })
})

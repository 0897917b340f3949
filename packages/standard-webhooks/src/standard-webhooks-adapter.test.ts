/**
 * @module The Standard Webhooks adapter: the shared conformance suite over realistic payloads
 * signed by the library's own `sign`, then what is specific to it (configuration checks, several
 * signatures in one header, the arrival-time clock, extractors).
 */
import type { RawRequest } from '@hookline/core'
import {
  type ConformanceRequest,
  describeAdapterConformance,
  signedStandardWebhook,
  STANDARD_WEBHOOK_SAMPLES,
  STANDARD_WEBHOOKS_TEST_SECRET,
} from '@hookline/testkit'
import { describe, expect, it } from 'vitest'
import { standardWebhooksAdapter } from './standard-webhooks-adapter.ts'

const { contactCreated, invoicePaid, emailBounced } = STANDARD_WEBHOOK_SAMPLES

function signed(payload: unknown, id: string, secret: string, at: Date, body?: string): ConformanceRequest {
  return signedStandardWebhook(payload, { id, secret, at, ...(body === undefined ? {} : { body }) })
}

describeAdapterConformance({
  createAdapter: (secrets) => standardWebhooksAdapter({ secrets, toleranceSeconds: 300 }),
  timestampToleranceSeconds: 300,
  signatureHeaders: ['webhook-id', 'webhook-timestamp', 'webhook-signature'],
  fixtures: [
    {
      name: 'contact.created (the spec example)',
      request: (secret, at) => signed(contactCreated, 'msg_conf_contact', secret, at),
      expect: {
        kind: 'event',
        eventKey: 'msg_conf_contact',
        type: 'contact.created',
        tenant: null,
        entityKey: contactCreated.data.id,
        occurredAt: new Date('2022-11-03T20:26:10.344Z'),
        payload: contactCreated,
      },
    },
    {
      name: 'invoice.paid',
      request: (secret, at) => signed(invoicePaid, 'msg_conf_invoice', secret, at),
      expect: { kind: 'event', eventKey: 'msg_conf_invoice', type: 'invoice.paid', entityKey: 'inv_2Rk8TzQm', occurredAt: new Date(invoicePaid.timestamp) },
    },
    {
      name: 'email.bounced (pretty-printed body)',
      request: (secret, at) => signed(emailBounced, 'msg_conf_bounce', secret, at, JSON.stringify(emailBounced, null, 2)),
      expect: { kind: 'event', eventKey: 'msg_conf_bounce', type: 'email.bounced', entityKey: 'em_4c1f0e9a' },
    },
  ],
  malformed: [
    { name: 'truncated JSON', request: (secret, at) => signed(undefined, 'msg_bad_1', secret, at, '{"type": "invoice.paid", ') },
    { name: 'an empty body', request: (secret, at) => signed(undefined, 'msg_bad_2', secret, at, '') },
    { name: 'a JSON string', request: (secret, at) => signed('invoice.paid', 'msg_bad_3', secret, at) },
    { name: 'an object without "type"', request: (secret, at) => signed({ data: { id: 'x' } }, 'msg_bad_4', secret, at) },
    { name: 'a numeric "type"', request: (secret, at) => signed({ type: 42, data: {} }, 'msg_bad_5', secret, at) },
  ],
  // A retry is re-signed at its own time but keeps its webhook-id.
  redelivery: {
    first: (secret, at) => signed(invoicePaid, 'msg_conf_retry', secret, at),
    second: (secret, at) => signed(invoicePaid, 'msg_conf_retry', secret, at),
  },
})

const NOW = new Date(Math.floor(Date.now() / 1000) * 1000)

function raw(req: ConformanceRequest, receivedAt = NOW): RawRequest {
  return { body: Buffer.from(req.body), headers: req.headers, receivedAt }
}

describe('standardWebhooksAdapter configuration', () => {
  it('refuses a tolerance the library cannot honour, a bad name and missing secrets', () => {
    expect(() => standardWebhooksAdapter({ secrets: [STANDARD_WEBHOOKS_TEST_SECRET], toleranceSeconds: 600 })).toThrow(/fixed 5-minute window/)
    expect(() => standardWebhooksAdapter({ name: 'Acme Inc', secrets: [STANDARD_WEBHOOKS_TEST_SECRET] })).toThrow(/must match/)
    expect(() => standardWebhooksAdapter({ secrets: [''] })).toThrow(/at least one secret/)
  })
  it('names a secret that is not base64 by position, never by value', () => {
    const bad = 'whsec_***not-base64***'
    let message = ''
    try {
      standardWebhooksAdapter({ secrets: [STANDARD_WEBHOOKS_TEST_SECRET, bad] })
    } catch (err) {
      message = (err as Error).message
      expect((err as Error).name).toBe('ConfigError')
    }
    expect(message).toMatch(/secret #2/)
    expect(message).not.toContain('not-base64')
  })
  it('defaults to the name "standard" and a 1 MiB body limit', () => {
    const adapter = standardWebhooksAdapter({ secrets: [STANDARD_WEBHOOKS_TEST_SECRET] })
    expect(adapter.name).toBe('standard')
    expect(adapter.maxBodyBytes).toBe(1024 * 1024)
  })
})

describe('standardWebhooksAdapter.verify', () => {
  const adapter = standardWebhooksAdapter({ secrets: [STANDARD_WEBHOOKS_TEST_SECRET] })

  it('accepts a header carrying several signatures when one of them is ours', async () => {
    const req = signedStandardWebhook(invoicePaid, { at: NOW })
    const foreign = signedStandardWebhook(invoicePaid, { at: NOW, id: req.headers['webhook-id']!, secret: 'whsec_b3RoZXItc2VuZGVyLXNlY3JldA==' })
    const headers = { ...req.headers, 'webhook-signature': `${foreign.headers['webhook-signature']} ${req.headers['webhook-signature']}` }
    await expect(adapter.verify(raw({ body: req.body, headers }))).resolves.toMatchObject({ payload: invoicePaid })
  })

  it('refuses a webhook-id swapped after signing (the id is signed)', async () => {
    const req = signedStandardWebhook(invoicePaid, { id: 'msg_original', at: NOW })
    await expect(adapter.verify(raw({ body: req.body, headers: { ...req.headers, 'webhook-id': 'msg_forged' } }))).rejects.toMatchObject({ name: 'SignatureError' })
  })

  it('refuses a webhook-timestamp that is not Unix seconds', async () => {
    const req = signedStandardWebhook(invoicePaid, { at: NOW })
    await expect(adapter.verify(raw({ body: req.body, headers: { ...req.headers, 'webhook-timestamp': '2026-11-23T12:00:00Z' } }))).rejects.toThrow(/not Unix seconds/)
  })

  it('judges the timestamp by the arrival time it is given, not only the wall clock', async () => {
    const req = signedStandardWebhook(invoicePaid, { at: NOW })
    const arrivedLate = new Date(NOW.getTime() + 301_000)
    await expect(adapter.verify(raw(req, arrivedLate))).rejects.toThrow(/older than the tolerance/)
    const tight = standardWebhooksAdapter({ secrets: [STANDARD_WEBHOOKS_TEST_SECRET], toleranceSeconds: 10 })
    await expect(tight.verify(raw(signedStandardWebhook(invoicePaid, { at: new Date(NOW.getTime() - 11_000) })))).rejects.toMatchObject({ name: 'SignatureError' })
  })
})

describe('standardWebhooksAdapter.parse', () => {
  it('falls back to webhook-timestamp when the payload has no timestamp, and to a null entity', async () => {
    const adapter = standardWebhooksAdapter({ secrets: [STANDARD_WEBHOOKS_TEST_SECRET] })
    const req = raw(signedStandardWebhook({ type: 'ping' }, { id: 'msg_ping', at: NOW }))
    expect(adapter.parse(await adapter.verify(req), req)).toEqual({
      kind: 'event',
      eventKey: 'msg_ping',
      type: 'ping',
      tenant: null,
      entityKey: null,
      occurredAt: NOW,
      payload: { type: 'ping' },
      payloadIsBody: true,
    })
  })

  it('uses the extractors it is given', async () => {
    const adapter = standardWebhooksAdapter({
      name: 'billing',
      secrets: [STANDARD_WEBHOOKS_TEST_SECRET],
      tenant: (m) => (m.payload as { data: { customer_id: string } }).data.customer_id,
      entity: () => 'fixed-entity',
      type: (m) => `billing.${(m.payload as { type: string }).type}`,
    })
    const req = raw(signedStandardWebhook(invoicePaid, { id: 'msg_x', at: NOW }))
    expect(adapter.parse(await adapter.verify(req), req)).toMatchObject({
      eventKey: 'msg_x',
      type: 'billing.invoice.paid',
      tenant: 'cus_7Hq2',
      entityKey: 'fixed-entity',
    })
  })

  it('turns an extractor that cannot read the body into MalformedPayloadError', async () => {
    const adapter = standardWebhooksAdapter({
      secrets: [STANDARD_WEBHOOKS_TEST_SECRET],
      tenant: (m) => (m.payload as { account: { id: string } }).account.id,
    })
    const req = raw(signedStandardWebhook(invoicePaid, { at: NOW }))
    const verified = await adapter.verify(req)
    expect(() => adapter.parse(verified, req)).toThrow(expect.objectContaining({ name: 'MalformedPayloadError', message: expect.stringMatching(/cannot read the event tenant/) }))
  })
})

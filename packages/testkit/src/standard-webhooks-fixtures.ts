/**
 * @module Realistic Standard Webhooks payloads for tests, and deliveries of them signed with the
 * `standardwebhooks` library's own `Webhook.sign`.
 */
import { randomBytes } from 'node:crypto'
import { Webhook } from 'standardwebhooks'
import type { SignedRequest } from './stripe-fixtures.ts'
import { STANDARD_WEBHOOKS_TEST_SECRET } from './secrets.ts'

/**
 * Payloads in the spec's recommended `{ type, timestamp, data }` shape, as Standard Webhooks senders
 * (Svix, Resend, Clerk, …) deliver them. Fixed ids, so tests can state the expected identity.
 */
export const STANDARD_WEBHOOK_SAMPLES = {
  /** The spec's own example: a contact created. */
  contactCreated: {
    type: 'contact.created',
    timestamp: '2022-11-03T20:26:10.344522Z',
    data: { id: '1f81eb52-5198-4599-803e-771906343485', type: 'contact', email: 'ada@example.com' },
  },
  /** A paid invoice of a customer. */
  invoicePaid: {
    type: 'invoice.paid',
    timestamp: '2026-11-20T09:14:03.120Z',
    data: { id: 'inv_2Rk8TzQm', customer_id: 'cus_7Hq2', amount: 4200, currency: 'eur', lines: [{ sku: 'pro-monthly', quantity: 1 }] },
  },
  /** A bounced email (several recipients, nested detail). */
  emailBounced: {
    type: 'email.bounced',
    timestamp: '2026-11-21T17:02:45.000Z',
    data: { id: 'em_4c1f0e9a', to: ['nobody@example.invalid'], subject: 'Your receipt', bounce: { type: 'hard', message: '550 5.1.1 user unknown' } },
  },
} as const

/** Options of {@link standardWebhookEvent}. */
export interface StandardWebhookEventOptions {
  type?: string
  /** ISO 8601 time the event happened. */
  timestamp?: string
  /** `data` (merged over a generated `{ id }`). */
  data?: Record<string, unknown>
}

/**
 * A fresh event payload with a random `data.id`.
 *
 * @example
 * standardWebhookEvent({ type: 'user.deleted', data: { id: 'user_1' } })
 */
export function standardWebhookEvent(options: StandardWebhookEventOptions = {}): Record<string, unknown> {
  return {
    type: options.type ?? 'invoice.paid',
    timestamp: options.timestamp ?? new Date().toISOString(),
    data: { id: `obj_${randomBytes(8).toString('hex')}`, ...options.data },
  }
}

/** Options of {@link signedStandardWebhook}. */
export interface SignedStandardWebhookOptions {
  /** @defaultValue {@link STANDARD_WEBHOOKS_TEST_SECRET} */
  secret?: string
  /** `webhook-id`, the message identity the sender keeps across retries. @defaultValue a random `msg_…` */
  id?: string
  /** Signing time, sent as `webhook-timestamp` (Unix seconds). @defaultValue now */
  at?: Date
  /** The exact body to sign instead of `JSON.stringify(payload)` (for malformed bodies). */
  body?: string
}

/**
 * A signed delivery of `payload`: the body bytes and the `webhook-id`, `webhook-timestamp` and
 * `webhook-signature` headers, signed by the library's own `Webhook.sign`.
 *
 * @example
 * const { body, headers } = signedStandardWebhook(STANDARD_WEBHOOK_SAMPLES.invoicePaid, { id: 'msg_1' })
 */
export function signedStandardWebhook(payload: unknown, options: SignedStandardWebhookOptions = {}): SignedRequest {
  const body = options.body ?? JSON.stringify(payload)
  const id = options.id ?? `msg_${randomBytes(12).toString('hex')}`
  const at = options.at ?? new Date()
  const signature = new Webhook(options.secret ?? STANDARD_WEBHOOKS_TEST_SECRET).sign(id, at, body)
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': signature,
    },
  }
}

/**
 * @module Realistic Stripe event payloads for tests, and signed deliveries of them.
 */
import { randomBytes } from 'node:crypto'
import Stripe from 'stripe'
import { STRIPE_TEST_SECRET } from './secrets.ts'

/** Options of {@link stripeEvent}. */
export interface StripeEventOptions {
  id?: string
  type?: string
  /** Source time in Unix seconds. */
  created?: number
  /** Connect account (the tenant). */
  account?: string
  /** `data.object` (merged over an invoice). */
  object?: Record<string, unknown>
}

/**
 * A Stripe event shaped like the API's (API version pinned by the installed SDK's era).
 *
 * @example
 * stripeEvent({ type: 'invoice.paid', object: { id: 'in_1', amount_paid: 4200 } })
 */
export function stripeEvent(options: StripeEventOptions = {}): Record<string, unknown> {
  const id = options.id ?? `evt_${randomBytes(12).toString('hex')}`
  const created = options.created ?? Math.floor(Date.now() / 1000)
  return {
    id,
    object: 'event',
    api_version: '2026-10-28.endive',
    created,
    type: options.type ?? 'invoice.paid',
    livemode: false,
    pending_webhooks: 1,
    request: { id: `req_${randomBytes(7).toString('hex')}`, idempotency_key: null },
    ...(options.account ? { account: options.account } : {}),
    data: {
      object: {
        id: `in_${randomBytes(12).toString('hex')}`,
        object: 'invoice',
        amount_paid: 4200,
        currency: 'usd',
        customer: 'cus_T3stCustomer',
        status: 'paid',
        ...options.object,
      },
    },
  }
}

/** Options of {@link stripeThinEvent}. */
export interface StripeThinEventOptions {
  id?: string
  /** @defaultValue 'v2.core.account.updated' */
  type?: string
  /** Source time. @defaultValue now */
  created?: Date
  /** The Stripe account (`context`) the event belongs to; none for the platform's own. */
  context?: string
  /** The object the event is about. @defaultValue a `v2.core.account` */
  relatedObject?: { id: string; type: string; url: string }
}

/**
 * A thin event notification as Stripe's event destinations send it: a reference to the object,
 * no snapshot of it (`ctx.fetch()` gets the rest from the API).
 *
 * @example
 * stripeThinEvent({ relatedObject: { id: 'acct_1', type: 'v2.core.account', url: '/v2/core/accounts/acct_1' } })
 */
export function stripeThinEvent(options: StripeThinEventOptions = {}): Record<string, unknown> {
  const objectId = `acct_${randomBytes(8).toString('hex')}`
  return {
    id: options.id ?? `evt_${randomBytes(12).toString('hex')}`,
    object: 'v2.core.event',
    type: options.type ?? 'v2.core.account.updated',
    livemode: false,
    created: (options.created ?? new Date()).toISOString(),
    ...(options.context ? { context: options.context } : {}),
    related_object: options.relatedObject ?? { id: objectId, type: 'v2.core.account', url: `/v2/core/accounts/${objectId}` },
  }
}

/** A signed delivery: the exact body bytes and the headers to send with them. */
export interface SignedRequest {
  body: string
  headers: Record<string, string>
}

/**
 * A signed delivery of `event` (default: a fresh {@link stripeEvent}), signed with the SDK's own
 * `generateTestHeaderString`.
 *
 * @example
 * const { body, headers } = signedStripeDelivery(stripeEvent(), { secret: STRIPE_TEST_SECRET })
 */
export function signedStripeDelivery(
  event: unknown = stripeEvent(),
  options: { secret?: string; timestamp?: number; body?: string } = {},
): SignedRequest {
  const body = options.body ?? JSON.stringify(event, null, 2)
  const header = Stripe.webhooks.generateTestHeaderString({
    payload: body,
    secret: options.secret ?? STRIPE_TEST_SECRET,
    ...(options.timestamp === undefined ? {} : { timestamp: options.timestamp }),
  })
  return { body, headers: { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': header } }
}

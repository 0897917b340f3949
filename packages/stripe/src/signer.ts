/**
 * @module Test signing for Stripe webhooks, built on the SDK's own `generateTestHeaderString`.
 */
import Stripe from 'stripe'

/** A signed Stripe delivery: the exact body bytes and the headers to send with them. */
export interface SignedStripeRequest {
  body: string
  headers: Record<string, string>
}

/**
 * Signs a payload as Stripe would (for tests and local tooling).
 *
 * @example
 * const { body, headers } = signStripeEvent({ id: 'evt_1', object: 'event', type: 'invoice.paid', … }, 'whsec_test')
 * await fetch(url, { method: 'POST', body, headers })
 */
export function signStripeEvent(
  event: unknown,
  secret: string,
  options: { timestamp?: number; body?: string } = {},
): SignedStripeRequest {
  const body = options.body ?? JSON.stringify(event, null, 2)
  const header = Stripe.webhooks.generateTestHeaderString({
    payload: body,
    secret,
    ...(options.timestamp === undefined ? {} : { timestamp: options.timestamp }),
  })
  return { body, headers: { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': header } }
}

/**
 * @module How `hookline listen` re-signs a streamed event for the local endpoint: with the scheme
 * of the provider it came from (the provider SDK's own signer through the testkit's helpers, as
 * `hookline send` signs), a fresh timestamp, and the provider's own event and delivery headers,
 * so that the endpoint verifies it as it would the provider's.
 */
import { signedGithubDelivery, signedSlackRequest, signedStandardWebhook, signedStripeDelivery } from '@hookline/testkit/fixtures'
import type { Scheme } from './listen-state.ts'

/** What the stream sends of an event that re-signing uses. */
export interface StreamedEvent {
  id: string
  provider: string
  eventKey: string
  type: string
  headers: Record<string, string>
  /** Whether the body is the request body as it arrived (`raw`) or the payload as JSON. */
  bodySource: 'raw' | 'payload' | 'redacted' | null
}

/**
 * Kept request headers that are forwarded: the body's type, the sender, GitHub's event, delivery
 * and hook headers, Slack's retry headers and Standard Webhooks' message id. Signatures and their
 * timestamps are made afresh; anything else (proxies' headers, hop-by-hop ones) stays behind.
 */
const FORWARDED = /^(content-type|user-agent|x-github-(?!.*signature).*|x-slack-retry-(num|reason)|webhook-id|svix-id)$/

/**
 * The scheme of `provider`: Stripe's, GitHub's and Slack's for theirs; Standard Webhooks for every
 * other one (the Standard Webhooks adapter's, whatever its name, and the outbox's events).
 */
export function schemeOf(provider: string): Scheme {
  return provider === 'stripe' || provider === 'github' || provider === 'slack' ? provider : 'standard-webhooks'
}

/**
 * The headers to forward `body` with, signed with `secret` in the scheme of the event's provider.
 *
 * @example
 * const headers = await signedHeaders(event, body, 'whsec_…')
 * await fetch(localUrl, { method: 'POST', body, headers })
 */
export async function signedHeaders(event: StreamedEvent, body: string, secret: string): Promise<Record<string, string>> {
  const kept = Object.fromEntries(Object.entries(event.headers).filter(([name]) => FORWARDED.test(name.toLowerCase())))
  // A payload sent in place of the raw body is JSON, whatever the original request's type.
  if (event.bodySource !== 'raw') kept['content-type'] = 'application/json'
  const base: Record<string, string> = { 'content-type': 'application/json', ...kept, 'x-hookline-event-id': event.id }
  switch (schemeOf(event.provider)) {
    case 'stripe': {
      const { headers } = signedStripeDelivery(undefined, { body, secret })
      return { ...base, 'stripe-signature': headers['stripe-signature']! }
    }
    case 'github': {
      const gitHubEvent = kept['x-github-event'] ?? event.type.split('.')[0]!
      const { headers } = await signedGithubDelivery(undefined, { event: gitHubEvent, body, secret, deliveryId: kept['x-github-delivery'] ?? event.eventKey })
      return { ...base, 'x-github-event': gitHubEvent, 'x-github-delivery': headers['x-github-delivery']!, 'x-hub-signature-256': headers['x-hub-signature-256']! }
    }
    case 'slack': {
      const { headers } = signedSlackRequest(body, { secret })
      return { ...base, 'x-slack-request-timestamp': headers['x-slack-request-timestamp']!, 'x-slack-signature': headers['x-slack-signature']! }
    }
    case 'standard-webhooks': {
      const { 'svix-id': svixId, ...rest } = base
      const id = kept['webhook-id'] ?? svixId ?? event.eventKey
      const { headers } = signedStandardWebhook(undefined, { body, secret, id })
      return { ...rest, 'webhook-id': id, 'webhook-timestamp': headers['webhook-timestamp']!, 'webhook-signature': headers['webhook-signature']! }
    }
  }
}

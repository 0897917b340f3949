/**
 * @module The Stripe adapter: verifies `Stripe-Signature` with the stripe SDK's
 * `webhooks.constructEvent` — or, for a thin event, `parseEventNotification` — (every configured
 * secret in turn, for rotation), refuses timestamps from the future (the SDK only refuses old
 * ones), and extracts the event identity.
 */
import {
  MalformedPayloadError,
  type ParsedEvent,
  type ProviderAdapter,
  type RawRequest,
  SignatureError,
} from '@hookline/core'
import Stripe from 'stripe'
import { z } from 'zod'
import { stripeFetchers } from './stripe-fetch.ts'
import { type StripeApiOptions, stripeClient, stripeEventPages } from './stripe-reconcile.ts'
import { isThinEventBody, parseThinEvent, type StripeThinEvent, THIN_EVENT_OBJECT } from './stripe-thin-event.ts'

/** Options of {@link stripeAdapter}. */
export interface StripeAdapterOptions {
  /** Webhook signing secrets (`whsec_…`); several during a rotation, tried in order. */
  secrets: readonly string[]
  /**
   * Largest accepted age — and, unlike the SDK, distance into the future — of the signed
   * timestamp, in seconds.
   * @defaultValue 300
   */
  toleranceSeconds?: number
  /**
   * Largest accepted body.
   * @defaultValue 1 MiB
   */
  maxBodyBytes?: number
  /**
   * The Stripe API, for reconciliation, `ctx.fetch()` of thin events and `ctx.fetchCurrent()`;
   * without it the adapter does not reconcile, and those calls throw a PermanentError.
   */
  api?: StripeApiOptions
  /**
   * Connect accounts (`acct_…`) a scheduled reconciliation covers besides the platform account.
   * @defaultValue []
   */
  accounts?: readonly string[]
  /**
   * The account has event destinations sending thin events: reconciliation lists
   * `GET /v2/core/events` too, after `GET /v1/events`. (Thin events arriving by webhook are
   * accepted either way.)
   * @defaultValue false
   */
  thinEvents?: boolean
}

/** The defaults of {@link StripeAdapterOptions}. */
export const DEFAULT_STRIPE_ADAPTER_OPTIONS = {
  toleranceSeconds: 300,
  maxBodyBytes: 1024 * 1024,
  accounts: [],
  thinEvents: false,
} as const satisfies Partial<StripeAdapterOptions>

// Only the fields the identity is read from. Objects are stripped, not `.loose()`: the payload
// stored is the SDK's event, never this schema's output, so copying every other key of
// `data.object` into it was work for nothing.
const eventSchema = z.object({
  id: z.string().min(1),
  object: z.literal('event'),
  type: z.string().min(1),
  created: z.number().int().nonnegative(),
  account: z.string().min(1).nullish(),
  data: z.object({ object: z.object({ id: z.string().min(1).optional() }) }),
})

/** A verified Stripe event as the SDK decoded it: a snapshot event, or a thin event's notification. */
export type VerifiedStripeEvent = Stripe.Event | StripeThinEvent

// `parseEventNotification` is a method of a client, not of `Stripe.webhooks`: without an API
// configured, verification uses one that never makes a request (its key is no key).
const VERIFY_ONLY_KEY = 'sk_hookline_verify_only'

/**
 * Creates the Stripe adapter.
 *
 * @example
 * const stripe = stripeAdapter({ secrets: process.env.STRIPE_WEBHOOK_SECRET!.split(',') })
 */
export function stripeAdapter(options: StripeAdapterOptions): ProviderAdapter<VerifiedStripeEvent> {
  const secrets = options.secrets.filter((s) => s.length > 0)
  if (secrets.length === 0) throw new TypeError('stripeAdapter needs at least one webhook secret')
  const tolerance = options.toleranceSeconds ?? DEFAULT_STRIPE_ADAPTER_OPTIONS.toleranceSeconds
  const api = options.api
  const client = api ? stripeClient(api) : undefined
  const notifications = client ?? new Stripe(VERIFY_ONLY_KEY, { telemetry: false, maxNetworkRetries: 0 })

  /** The event `payload` carries if `secret` signed it; throws the SDK's signature error if not. */
  function decode(payload: string, header: string, secret: string, now: number): VerifiedStripeEvent {
    try {
      return Stripe.webhooks.constructEvent(payload, header, secret, tolerance, undefined, now)
    } catch (err) {
      if (err instanceof Stripe.errors.StripeSignatureVerificationError) throw err
      // The SDK parses the body only after the signature verified: from here on, it did.
      if (err instanceof SyntaxError) throw new MalformedPayloadError('signed body is not valid JSON', { cause: err })
      if (!isThinEventBody(payload)) throw new MalformedPayloadError(`signed body is not a Stripe event: ${firstLine(err)}`, { cause: err })
    }
    // constructEvent refuses a thin event (with a plain Error): the SDK's own parser takes it.
    try {
      return notifications.parseEventNotification(payload, header, secret, tolerance, undefined, now)
    } catch (err) {
      if (err instanceof Stripe.errors.StripeSignatureVerificationError) throw err
      throw new MalformedPayloadError(`signed body is not a Stripe thin event: ${firstLine(err)}`, { cause: err })
    }
  }

  const adapter: ProviderAdapter<VerifiedStripeEvent> = {
    name: 'stripe',
    maxBodyBytes: options.maxBodyBytes ?? DEFAULT_STRIPE_ADAPTER_OPTIONS.maxBodyBytes,
    async verify(req: RawRequest): Promise<VerifiedStripeEvent> {
      const header = req.headers['stripe-signature']
      if (!header) throw new SignatureError('missing Stripe-Signature header')
      const now = req.receivedAt.getTime()
      // Given bytes, the SDK decodes them twice (to sign, then to parse), with a new TextDecoder
      // each time, and again for each secret tried: decoded here once, as `payloadIsBody` says.
      const payload = req.body.toString('utf8')
      let lastError: unknown
      for (const secret of secrets) {
        let event: VerifiedStripeEvent
        try {
          event = decode(payload, header, secret, now)
        } catch (err) {
          if (!(err instanceof Stripe.errors.StripeSignatureVerificationError)) throw err
          lastError = err
          continue
        }
        if (signedTimestamp(header) * 1000 - now > tolerance * 1000) {
          throw new SignatureError('Stripe-Signature timestamp is in the future beyond the tolerance')
        }
        return event
      }
      throw new SignatureError(`Stripe signature verification failed: ${firstLine(lastError)}`, { cause: lastError })
    },
    // Either way the SDK's object is JSON.parse of the body (a notification adds only methods),
    // which may be any JSON, `null` included: the schemas refuse what is no event.
    parse: (verified) => ({
      ...((verified as { object?: unknown } | null)?.object === THIN_EVENT_OBJECT ? parseThinEvent(verified) : parseEvent(verified as Stripe.Event)),
      payloadIsBody: true,
    }),
    ...stripeFetchers(client),
  }
  if (client && api) {
    const thin = options.thinEvents ?? DEFAULT_STRIPE_ADAPTER_OPTIONS.thinEvents
    return {
      ...adapter,
      reconcileTenants: [null, ...(options.accounts ?? DEFAULT_STRIPE_ADAPTER_OPTIONS.accounts)],
      reconcile: (ctx) => stripeEventPages(client, ctx, api, parseEvent, thin ? parseThinEvent : undefined),
    }
  }
  return adapter
}

/** The identity of a Stripe event, as delivered by webhook or listed by the API. */
function parseEvent(verified: Stripe.Event): ParsedEvent {
  const result = eventSchema.safeParse(verified)
  if (!result.success) throw new MalformedPayloadError(`not a Stripe event: ${result.error.issues[0]?.path.join('.') || 'body'} ${result.error.issues[0]?.message ?? ''}`.trim())
  const event = result.data
  return {
    kind: 'event',
    eventKey: event.id,
    type: event.type,
    tenant: event.account ?? null,
    entityKey: event.data.object.id ?? null,
    occurredAt: new Date(event.created * 1000),
    payload: verified,
  }
}

/** The `t=` value of a verified header (the SDK already checked it is a number it signed). */
function signedTimestamp(header: string): number {
  for (const part of header.split(',')) {
    const [key, value] = part.split('=')
    if (key?.trim() === 't' && value) return Number.parseInt(value, 10)
  }
  return Number.NaN
}

function firstLine(err: unknown): string {
  return err instanceof Error ? (err.message.split('\n')[0] ?? '').trim() : 'unknown error'
}

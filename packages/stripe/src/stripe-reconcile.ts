/**
 * @module Reconciliation for Stripe: pages `GET /v1/events` (through the official client) over the
 * run's window, per Connect account, newest first, resumable by `starting_after`.
 */
import { type ParsedEvent, type ReconcileContext, type ReconcilePage, RetryAfterError } from '@hookline/core'
import Stripe from 'stripe'

/** How to reach the Stripe API for reconciliation. */
export interface StripeApiOptions {
  /** Secret or restricted key with read access to events. */
  apiKey: string
  /** Base URL, e.g. a local fake in tests (`http://127.0.0.1:12111`); default Stripe's. */
  baseUrl?: string
  /**
   * Retries of the SDK itself on connection errors and 5xx (it does not retry 429: the engine
   * waits those out from `Retry-After`).
   * @defaultValue 2
   */
  maxNetworkRetries?: number
  /**
   * Only events whose webhook delivery failed (`delivery_success=false`).
   * @defaultValue false
   */
  onlyUndelivered?: boolean
  /**
   * Events per page (Stripe allows up to 100).
   * @defaultValue 100
   */
  pageSize?: number
}

/** Stripe keeps events for 30 days; older ones cannot be listed. */
const RETENTION_MS = 30 * 24 * 3_600_000

/** Builds the official client for `options` (host, port and protocol taken from `baseUrl`). */
export function stripeClient(options: StripeApiOptions): Stripe {
  const base = options.baseUrl ? new URL(options.baseUrl) : undefined
  return new Stripe(options.apiKey, {
    maxNetworkRetries: options.maxNetworkRetries ?? 2,
    telemetry: false,
    ...(base
      ? { host: base.hostname, port: Number(base.port || (base.protocol === 'https:' ? 443 : 80)), protocol: base.protocol === 'https:' ? 'https' : 'http' }
      : {}),
  })
}

/**
 * Pages the events of the window through `client`, converting each with `parse` (the same code
 * that parses webhooks, so both paths yield the same event key).
 */
export async function* stripeEventPages(
  client: Stripe,
  ctx: ReconcileContext,
  options: StripeApiOptions,
  parse: (event: Stripe.Event) => ParsedEvent,
): AsyncGenerator<ReconcilePage> {
  if (ctx.since.getTime() < Date.now() - RETENTION_MS) {
    ctx.warn('the window reaches past Stripe\'s 30-day event retention: older events cannot be recovered')
  }
  let startingAfter = ctx.resumeFrom ?? undefined
  for (;;) {
    const params: Stripe.EventListParams = {
      created: { gte: Math.floor(ctx.since.getTime() / 1000), lte: Math.ceil(ctx.until.getTime() / 1000) },
      limit: options.pageSize ?? 100,
      ...(startingAfter ? { starting_after: startingAfter } : {}),
      ...(options.onlyUndelivered ? { delivery_success: false } : {}),
    }
    let page: Stripe.ApiList<Stripe.Event>
    try {
      page = await client.events.list(params, ctx.tenant ? { stripeAccount: ctx.tenant } : {})
    } catch (err) {
      throw rateLimitAware(err)
    }
    const last = page.data.at(-1)
    const more = page.has_more && last !== undefined
    yield { events: page.data.map(parse), cursor: more ? last.id : null }
    if (!more) return
    startingAfter = last.id
  }
}

/** A 429 becomes a RetryAfterError (honoured by the reconcile engine); anything else is kept. */
function rateLimitAware(err: unknown): unknown {
  if (!(err instanceof Stripe.errors.StripeRateLimitError)) return err
  const header = Number((err.headers as Record<string, string> | undefined)?.['retry-after'])
  const waitMs = Number.isFinite(header) && header >= 0 ? header * 1000 : 1000
  return new RetryAfterError(`Stripe rate limit: ${err.message}`, waitMs, { cause: err })
}

/**
 * @module Reconciliation for Stripe: pages `GET /v1/events` (through the official client) over the
 * run's window, per Connect account, newest first, resumable by `starting_after`; then, with thin
 * events on, `GET /v2/core/events` over the same window, resumable by its `page` token.
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

/** What a listed thin event becomes (the webhook path's own parser, for the same event key). */
export type ThinEventParser = (event: unknown) => ParsedEvent

/** The resume cursor of the v2 listing: this prefix, then its `page` token (empty: its first page). */
const V2_CURSOR = 'v2:'

// The SDK types `created` like v1's Unix seconds, but API v2 takes RFC 3339 times (the SDKs of
// other languages type them so), and the `page` token of a `next_page_url` is no typed parameter.
type V2EventListParams = Omit<Stripe.V2.Core.EventListParams, 'created'> & { created?: { gte: string; lte: string }; page?: string }

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
 * that parses webhooks, so both paths yield the same event key). With `parseThin`, the v1 listing
 * is followed by the v2 one, whose thin events it converts; without, the v1 listing alone.
 */
export async function* stripeEventPages(
  client: Stripe,
  ctx: ReconcileContext,
  options: StripeApiOptions,
  parse: (event: Stripe.Event) => ParsedEvent,
  parseThin?: ThinEventParser,
): AsyncGenerator<ReconcilePage> {
  if (ctx.since.getTime() < Date.now() - RETENTION_MS) {
    ctx.warn('the window reaches past Stripe\'s 30-day event retention: older events cannot be recovered')
  }
  const resume = ctx.resumeFrom
  if (resume === null || !resume.startsWith(V2_CURSOR)) {
    for await (const page of v1Pages(client, ctx, options, parse, resume)) {
      // The v1 listing's end is where the v2 one starts, so that a run resumed there skips v1.
      yield page.cursor === null && parseThin ? { ...page, cursor: V2_CURSOR } : page
    }
  }
  if (parseThin) yield* v2Pages(client, ctx, options, parseThin, resume?.startsWith(V2_CURSOR) ? resume.slice(V2_CURSOR.length) : '')
}

async function* v1Pages(
  client: Stripe,
  ctx: ReconcileContext,
  options: StripeApiOptions,
  parse: (event: Stripe.Event) => ParsedEvent,
  resumeFrom: string | null,
): AsyncGenerator<ReconcilePage> {
  let startingAfter = resumeFrom ?? undefined
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

/**
 * The thin events of the window, newest first, from `GET /v2/core/events` (for a Connect account
 * through `Stripe-Context`). `onlyUndelivered` has no v2 equivalent: every thin event is listed.
 */
async function* v2Pages(client: Stripe, ctx: ReconcileContext, options: StripeApiOptions, parse: ThinEventParser, resumePage: string): AsyncGenerator<ReconcilePage> {
  let page = resumePage
  for (;;) {
    const params: V2EventListParams = page
      ? { page }
      : { created: { gte: ctx.since.toISOString(), lte: ctx.until.toISOString() }, limit: options.pageSize ?? 100 }
    let listing: Stripe.V2List<Stripe.V2.Core.Event>
    try {
      listing = await client.v2.core.events.list(params as Stripe.V2.Core.EventListParams, ctx.tenant ? { stripeContext: ctx.tenant } : {})
    } catch (err) {
      throw rateLimitAware(err)
    }
    const next = listing.next_page_url ? new URL(listing.next_page_url, 'https://api.stripe.com').searchParams.get('page') : null
    yield { events: listing.data.map(parse), cursor: next ? `${V2_CURSOR}${next}` : null }
    if (!next) return
    page = next
  }
}

/** A 429 becomes a RetryAfterError (honoured by the reconcile engine); anything else is kept. */
function rateLimitAware(err: unknown): unknown {
  if (!(err instanceof Stripe.errors.StripeRateLimitError)) return err
  const header = Number((err.headers as Record<string, string> | undefined)?.['retry-after'])
  const waitMs = Number.isFinite(header) && header >= 0 ? header * 1000 : 1000
  return new RetryAfterError(`Stripe rate limit: ${err.message}`, waitMs, { cause: err })
}

/**
 * @module A local stand-in for the Stripe API Hookline calls, for the official client pointed at
 * it: `GET /v1/events` (reconciliation), `GET /v2/core/events` and `/v2/core/events/:id` (thin
 * events: reconciliation and `ctx.fetch()`), and any object by its path (`ctx.fetchCurrent()`).
 * Paging, Connect accounts (`Stripe-Account`, `Stripe-Context`) and `delivery_success` behave like
 * the real API; 429s, 5xx (with `Retry-After`) and hanging pages can be injected.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { listenFake, NextRequests, PageGate } from './fake-server.ts'

/** A running fake. */
export interface FakeStripeApi {
  /** Base URL to give the client (`baseUrl` / STRIPE_API_BASE). */
  url: string
  /** The events it serves (add or remove freely). */
  events: Record<string, unknown>[]
  /** Ids whose webhook delivery "failed" (listed for `delivery_success=false`). */
  undelivered: Set<string>
  /**
   * The thin events (`object: 'v2.core.event'`, `created` an ISO time, `context` the account) that
   * `GET /v2/core/events` lists and `GET /v2/core/events/:id` retrieves.
   */
  thinEvents: Record<string, unknown>[]
  /** Current objects by API path, e.g. `/v1/customers/cus_1` or `/v2/core/accounts/acct_1`; others are 404. */
  objects: Map<string, Record<string, unknown>>
  /** Every request received: its path, query, and the `Stripe-Account` and `Stripe-Context` headers. */
  requests: { path: string; query: Record<string, string>; account: string | null; context: string | null }[]
  /** The next `count` requests answer 429 with `Retry-After: seconds`. */
  rateLimitNext(count: number, retryAfterSeconds: number): void
  /**
   * The next `count` requests (Infinity: all) fail: with HTTP 500, or `status`, with a
   * `Retry-After` header when `retryAfterSeconds` is given.
   */
  failNext(count: number, options?: { status?: number; retryAfterSeconds?: number }): void
  /**
   * How requests for any page but the first are answered: `serve` (normal), `hold` (never: a
   * stuck connection, until {@link FakeStripeApi.dropHeld}) or `fail` (500).
   */
  followingPages(mode: 'serve' | 'hold' | 'fail'): void
  /** Cuts the connections of held requests. */
  dropHeld(): void
  close(): Promise<void>
}

/**
 * Starts the fake on a free port.
 *
 * @example
 * const api = await startFakeStripeApi(events)
 * stripeAdapter({ secrets, api: { apiKey: 'sk_test_x', baseUrl: api.url, maxNetworkRetries: 0 } })
 */
export async function startFakeStripeApi(events: Record<string, unknown>[] = []): Promise<FakeStripeApi> {
  const rateLimits = new NextRequests<{ retryAfter: number }>()
  const failures = new NextRequests<{ status: number; retryAfterSeconds: number | undefined }>()
  const gate = new PageGate()
  // Listing sorts every matching event; a listing is kept until the events or the undelivered set
  // change (both are watched), so that paging through 100,000 events does not sort them per page.
  let version = 0
  const watched = new Proxy(events, {
    set(target, key, value, receiver) {
      version += 1
      return Reflect.set(target, key, value, receiver)
    },
    deleteProperty(target, key) {
      version += 1
      return Reflect.deleteProperty(target, key)
    },
  })
  const listings = new Map<string, { version: number; events: Record<string, unknown>[]; indexOf: Map<unknown, number> }>()

  const api: Omit<FakeStripeApi, 'url' | 'close'> = {
    events: watched,
    undelivered: new WatchedSet(() => {
      version += 1
    }),
    thinEvents: [],
    objects: new Map(),
    requests: [],
    rateLimitNext(count, seconds) {
      rateLimits.arm(count, { retryAfter: seconds })
    },
    failNext(count, options = {}) {
      failures.arm(count, { status: options.status ?? 500, retryAfterSeconds: options.retryAfterSeconds })
    },
    followingPages(mode) {
      gate.mode = mode
    },
    dropHeld() {
      gate.dropHeld()
    },
  }

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', 'request-id': `req_fake_${Date.now()}`, ...headers })
    res.end(JSON.stringify(body))
  }

  const notFound = (res: ServerResponse, method: string | undefined, path: string) =>
    send(res, 404, { error: { type: 'invalid_request_error', code: 'resource_missing', message: `Unrecognized request URL (${method}: ${path})` } })

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const query = Object.fromEntries(url.searchParams)
    const account = (req.headers['stripe-account'] as string | undefined) ?? null
    const context = (req.headers['stripe-context'] as string | undefined) ?? null
    api.requests.push({ path: url.pathname, query, account, context })
    if (req.method !== 'GET') return notFound(res, req.method, url.pathname)
    const rateLimit = rateLimits.take()
    if (rateLimit) {
      return send(res, 429, { error: { type: 'rate_limit_error', message: 'Too many requests hit the API too quickly.' } }, { 'retry-after': String(rateLimit.retryAfter) })
    }
    const failure = failures.take()
    if (failure) {
      const headers: Record<string, string> = failure.retryAfterSeconds === undefined ? {} : { 'retry-after': String(failure.retryAfterSeconds) }
      return send(res, failure.status, { error: { type: 'api_error', message: 'An unknown error occurred.' } }, headers)
    }
    if (url.pathname === '/v1/events') return listEvents(res, query, account)
    if (url.pathname === '/v2/core/events') return listThinEvents(res, query, context)
    const thin = /^\/v2\/core\/events\/([^/]+)$/.exec(url.pathname)
    if (thin) {
      const event = api.thinEvents.find((e) => e.id === decodeURIComponent(thin[1]!))
      return event ? send(res, 200, event) : notFound(res, req.method, url.pathname)
    }
    const object = api.objects.get(url.pathname)
    return object ? send(res, 200, object) : notFound(res, req.method, url.pathname)
  }

  const listEvents = (res: ServerResponse, query: Record<string, string>, account: string | null) => {
    if (query.starting_after && gate.hold(res)) return
    if (query.starting_after && gate.mode === 'fail') {
      return send(res, 500, { error: { type: 'api_error', message: 'An unknown error occurred.' } })
    }
    const gte = Number(query['created[gte]'] ?? 0)
    const lte = Number(query['created[lte]'] ?? Number.MAX_SAFE_INTEGER)
    const limit = Math.min(Number(query.limit ?? 10), 100)
    const listingKey = JSON.stringify([account, gte, lte, query.delivery_success === 'false'])
    let listing = listings.get(listingKey)
    if (listing?.version !== version) {
      const matching = events
        .filter((e) => ((e.account as string | undefined) ?? null) === account)
        .filter((e) => (e.created as number) >= gte && (e.created as number) <= lte)
        .filter((e) => query.delivery_success !== 'false' || api.undelivered.has(e.id as string))
        // Newest first, as Stripe lists them; ids break ties so that paging is stable.
        .sort((a, b) => (b.created as number) - (a.created as number) || (String(b.id) < String(a.id) ? -1 : String(b.id) > String(a.id) ? 1 : 0))
      listing = { version, events: matching, indexOf: new Map(matching.map((e, i) => [e.id, i])) }
      listings.set(listingKey, listing)
    }
    const matching = listing.events
    let start = 0
    if (query.starting_after) start = (listing.indexOf.get(query.starting_after) ?? -1) + 1
    const data = matching.slice(start, start + limit)
    send(res, 200, { object: 'list', url: '/v1/events', has_more: start + limit < matching.length, data })
  }

  /**
   * API v2 paging: the first request carries the filters (`created[gte]` and `created[lte]` as ISO
   * times), each `next_page_url` an opaque `page` token that carries them on, as Stripe's does.
   */
  const listThinEvents = (res: ServerResponse, query: Record<string, string>, context: string | null) => {
    if (query.page && gate.hold(res)) return
    if (query.page && gate.mode === 'fail') return send(res, 500, { error: { type: 'api_error', message: 'An unknown error occurred.' } })
    const position: ThinPage = query.page
      ? (JSON.parse(Buffer.from(query.page, 'base64url').toString('utf8')) as ThinPage)
      : { gte: query['created[gte]'] ?? null, lte: query['created[lte]'] ?? null, limit: Math.min(Number(query.limit ?? 20), 100), offset: 0 }
    const gte = position.gte === null ? Number.NEGATIVE_INFINITY : Date.parse(position.gte)
    const lte = position.lte === null ? Number.POSITIVE_INFINITY : Date.parse(position.lte)
    const matching = api.thinEvents
      .filter((e) => ((e.context as string | undefined) ?? null) === context)
      .filter((e) => Date.parse(e.created as string) >= gte && Date.parse(e.created as string) <= lte)
      .sort((a, b) => Date.parse(b.created as string) - Date.parse(a.created as string) || (String(b.id) < String(a.id) ? -1 : 1))
    const data = matching.slice(position.offset, position.offset + position.limit)
    const more = position.offset + position.limit < matching.length
    const next = more ? Buffer.from(JSON.stringify({ ...position, offset: position.offset + position.limit })).toString('base64url') : null
    send(res, 200, { data, next_page_url: next ? `/v2/core/events?page=${next}` : null, previous_page_url: null })
  }

  const server = await listenFake(handle)
  return { ...api, url: `http://127.0.0.1:${server.port}`, close: server.close }
}

/** What a v2 `page` token of the fake carries: the first request's filters and the offset reached. */
interface ThinPage {
  gte: string | null
  lte: string | null
  limit: number
  offset: number
}

/** A set that reports every change. */
class WatchedSet<T> extends Set<T> {
  constructor(private readonly changed: () => void) {
    super()
  }

  override add(value: T): this {
    this.changed?.()
    return super.add(value)
  }

  override delete(value: T): boolean {
    this.changed()
    return super.delete(value)
  }

  override clear(): void {
    this.changed()
    super.clear()
  }
}

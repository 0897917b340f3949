/**
 * @module A local stand-in for Stripe's `GET /v1/events` (the only remote API Hookline's Stripe
 * reconciliation calls), for the official client pointed at it. Paging, Connect accounts and
 * `delivery_success` behave like the real API; 429s, 5xx and hanging pages can be injected.
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
  /** Every request received: its query and the `Stripe-Account` header. */
  requests: { query: Record<string, string>; account: string | null }[]
  /** The next `count` requests answer 429 with `Retry-After: seconds`. */
  rateLimitNext(count: number, retryAfterSeconds: number): void
  /** The next `count` requests (Infinity: all) answer 500. */
  failNext(count: number): void
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
  const failures = new NextRequests<true>()
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
    requests: [],
    rateLimitNext(count, seconds) {
      rateLimits.arm(count, { retryAfter: seconds })
    },
    failNext(count) {
      failures.arm(count, true)
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

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const query = Object.fromEntries(url.searchParams)
    const account = (req.headers['stripe-account'] as string | undefined) ?? null
    api.requests.push({ query, account })
    if (req.method !== 'GET' || url.pathname !== '/v1/events') {
      return send(res, 404, { error: { type: 'invalid_request_error', message: `Unrecognized request URL (${req.method}: ${url.pathname})` } })
    }
    const rateLimit = rateLimits.take()
    if (rateLimit) {
      return send(res, 429, { error: { type: 'rate_limit_error', message: 'Too many requests hit the API too quickly.' } }, { 'retry-after': String(rateLimit.retryAfter) })
    }
    if (failures.take()) {
      return send(res, 500, { error: { type: 'api_error', message: 'An unknown error occurred.' } })
    }
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

  const server = await listenFake(handle)
  return { ...api, url: `http://127.0.0.1:${server.port}`, close: server.close }
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

/**
 * @module The provider adapter contract: verify raw bytes with the provider's official SDK, then
 * parse them into the identity Hookline stores. Adapters do no I/O except the provider's own API
 * in `reconcile`, `fetchEvent` and `fetchCurrent`.
 */
import type { HooklineEvent } from './handler.ts'

/** An HTTP request exactly as received: the raw body bytes and lower-cased headers. */
export interface RawRequest {
  /** The body bytes as they arrived; never a parsed or re-serialised object. */
  body: Buffer
  /** Header values keyed by lower-case name. */
  headers: Record<string, string | undefined>
  /** The request's time of arrival, used as "now" by timestamp checks (injectable clock). */
  receivedAt: Date
}

/** The identity and content of one provider event, as stored in the inbox. */
export interface ParsedEvent {
  kind: 'event'
  /** The provider's own identity of the event; the inbox dedupes on (provider, eventKey). */
  eventKey: string
  /** Event type, e.g. `invoice.paid`. */
  type: string
  /** The provider account the event belongs to (Stripe Connect account, GitHub installation…). */
  tenant: string | null
  /** The object the event is about; events of one entity are processed one at a time, in order. */
  entityKey: string | null
  /** When the provider says the event happened; drives the ordering (stale) check. */
  occurredAt: Date | null
  /** The parsed provider body, handed to handlers as `event.payload`. */
  payload: unknown
  /**
   * True when `payload` is exactly `JSON.parse` of the request's body, decoded as UTF-8 the way
   * `Buffer#toString` does it (a byte-order mark kept, so such a body is not JSON): the inbox then
   * stores the body alone (the `payload` column stays NULL) and handlers get `JSON.parse` of it,
   * instead of serialising the object again and storing it twice.
   */
  payloadIsBody?: boolean
  /** True for protocol events (e.g. GitHub `ping`) that are recorded but run no handler. */
  recordOnly?: boolean
  /** Request headers to keep with an event found by reconciliation (a webhook keeps its own). */
  headers?: Record<string, string>
  /**
   * The answer the provider needs once the event is durable, when it is not the default
   * `200 {"id","duplicate"}` (e.g. Slack shows a slash command's response body to the user).
   */
  reply?: { status: number; body?: unknown }
}

/** A protocol answer sent at once instead of storing an event (e.g. Slack's `url_verification`). */
export interface ImmediateReply {
  kind: 'immediate'
  /** HTTP status of the reply. */
  status: number
  /** JSON body of the reply; omitted for an empty body. */
  body?: unknown
}

/**
 * A provider adapter. Implementations wrap the provider's official SDK; Hookline's core never
 * contains provider code.
 *
 * @example
 * const adapter: ProviderAdapter<Stripe.Event> = stripeAdapter({ secrets: ['whsec_…'] })
 * const verified = await adapter.verify(req)    // throws SignatureError → 401
 * const parsed = adapter.parse(verified)        // throws MalformedPayloadError → 400
 */
export interface ProviderAdapter<V = unknown> {
  /** URL segment and inbox `provider` value, e.g. `stripe`. */
  readonly name: string
  /** Largest body accepted, in bytes (413 above it). */
  readonly maxBodyBytes: number
  /**
   * Checks the signature of the raw bytes with the official SDK, trying every configured secret.
   * Throws {@link SignatureError} when it does not verify, {@link MalformedPayloadError} when the
   * verified bytes cannot be decoded.
   */
  verify(req: RawRequest): Promise<V>
  /** Extracts the event identity; throws {@link MalformedPayloadError} on a body of the wrong shape. */
  parse(verified: V, req: RawRequest): ParsedEvent | ImmediateReply
  /**
   * Lists, through the provider's API, the events of `ctx.tenant` between `ctx.since` and
   * `ctx.until`, one page at a time. The engine asks for the next page as soon as it has the
   * current one, and stores the current one meanwhile: whatever producing a page does (an inbox
   * lookup, a redelivery request) runs one page ahead of what is stored. Absent when the provider
   * cannot be reconciled.
   */
  reconcile?(ctx: ReconcileContext): AsyncIterable<ReconcilePage>
  /**
   * The tenants a scheduled reconciliation covers (`null` = the provider's default account).
   * @defaultValue [null]
   */
  readonly reconcileTenants?: readonly (string | null)[]
  /**
   * The whole event, for a provider that sends only a reference to it (Stripe's thin events):
   * fetched from the provider's API with the adapter's client. Returns `event.payload` for an event
   * that carries itself. Backs `ctx.fetch()`; absent = every event carries itself.
   */
  fetchEvent?(event: HooklineEvent): Promise<unknown>
  /**
   * The current state of the object `event` is about, re-read from the provider's API with the
   * adapter's client, for handlers that must act on now rather than on the payload's snapshot.
   * Throws `PermanentError` when the object is gone (404/410) or cannot be named from the event,
   * or when no API client is configured; `RetryAfterError` for a 429/5xx with `Retry-After`;
   * `ProviderApiError` (retried) otherwise — see `providerApiError`. Backs `ctx.fetchCurrent()`.
   */
  fetchCurrent?(event: HooklineEvent): Promise<unknown>
}

/** What an adapter's `reconcile` is given. */
export interface ReconcileContext {
  /** The tenant to reconcile, or null for the provider's default account. */
  tenant: string | null
  /** Start of the window (inclusive). */
  since: Date
  /** End of the window. */
  until: Date
  /** The `cursor` of the last page an interrupted run completed: continue after it. */
  resumeFrom: string | null
  /** Which of these event keys the inbox already holds (lets an adapter skip fetching details). */
  knownKeys(eventKeys: readonly string[]): Promise<Set<string>>
  /** Adds a warning to the run record (e.g. a window reaching past the provider's retention). */
  warn(message: string): void
  /** Aborted when the run times out. */
  signal: AbortSignal
}

/** One page of a reconciliation. */
export interface ReconcilePage {
  /** Events found on this page; the inbox ingests those it does not hold yet. */
  events: ParsedEvent[]
  /** Position to resume after this page; null on the last page. */
  cursor: string | null
  /**
   * Provider items this page looked at that are not in `events` because the inbox already holds
   * them (counted as known and scanned).
   * @defaultValue 0
   */
  skippedKnown?: number
  /**
   * Missing items recovered without returning them as events (e.g. asked the provider to
   * redeliver); counted as recovered and scanned.
   * @defaultValue 0
   */
  recoveredOutOfBand?: number
}

/**
 * @module The provider adapter contract: verify raw bytes with the provider's official SDK, then
 * parse them into the identity Hookline stores. Adapters do no I/O except the provider's own API
 * in `reconcile`.
 */

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
  /** True for protocol events (e.g. GitHub `ping`) that are recorded but run no handler. */
  recordOnly?: boolean
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
}

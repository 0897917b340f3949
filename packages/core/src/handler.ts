/**
 * @module The handler contract (what application code receives) and the lookup of the handler
 * for an event: `provider:type`, then `provider:*`, then `*`.
 */
import type { Logger } from 'pino'
import { ConfigError } from './errors.ts'
import type { EmitInput } from './outbox/emit.ts'

/** How an event reached the inbox. */
export type EventSource = 'webhook' | 'reconcile' | 'replay' | 'outbox'

/** An inbox event as handed to a handler. */
export interface HooklineEvent {
  /** Inbox id (UUID). */
  id: string
  provider: string
  /** The provider's own event identity. */
  eventKey: string
  type: string
  tenant: string | null
  entityKey: string | null
  occurredAt: Date | null
  source: EventSource
  /** The parsed provider body. */
  payload: unknown
  /** 1 for the first processing; a forced replay of a processed event runs generation 2, 3, … */
  generation: number
}

/**
 * A transaction client: the Prisma transaction the handler's writes must use so that they commit
 * together with the "processed" mark. Any Prisma client's transaction satisfies it.
 */
export interface TransactionClient {
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): Promise<T>
  $executeRawUnsafe(query: string, ...values: unknown[]): Promise<number>
  $queryRaw<T = unknown>(query: TemplateStringsArray, ...values: unknown[]): Promise<T>
  $executeRaw(query: TemplateStringsArray, ...values: unknown[]): Promise<number>
}

/** What a handler receives beside the event. */
export interface HandlerContext<Tx = TransactionClient> {
  /**
   * The transaction the handler's database writes must use (committed with the processed mark).
   * First attempts of several events may share it (see `WorkerOptions.batchSize`): use it for the
   * event's own writes, not for transaction-wide settings.
   */
  tx: Tx
  /** 1-based number of this attempt. */
  attempt: number
  /** True when a newer event of the same entity was already applied (only with `stale: 'deliver'`). */
  stale: boolean
  /** A logger bound to the event. */
  log: Logger
  /**
   * A key for calls to other APIs that is the same on every retry of this event (and differs for a
   * forced replay), e.g. for Stripe's `Idempotency-Key`.
   */
  idempotencyKey(step: string): string
  /**
   * The whole event. For a thin event (Stripe event destinations send only a reference) it is
   * fetched from the provider's API, since the payload holds no data; for any other event it is
   * `event.payload` itself, without a request.
   */
  fetch(): Promise<unknown>
  /**
   * The current state of the object the event is about (the Stripe object, the GitHub issue or pull
   * request, the Slack message), re-read from the provider's API: for handlers that must act on
   * now, not on the payload's snapshot (events arrive late and out of order). Throws
   * `PermanentError` (dead letter) when the object is gone or the provider has no API client
   * configured, a retryable error on rate limits and outages.
   *
   * @example
   * const invoice = (await ctx.fetchCurrent()) as Stripe.Invoice
   * if (invoice.status !== 'paid') return
   */
  fetchCurrent(): Promise<unknown>
  /**
   * Writes an event of the application's own to the outbox, in this transaction: it is delivered
   * (to `app:<type>` handlers, or the configured outbox provider's) only if the handler's writes
   * commit, and once however often the handler is retried. Resolves to the event's id.
   *
   * @example
   * await ctx.emit({ type: 'order.paid', key: orderId, payload: { orderId, amount } })
   */
  emit(event: EmitInput): Promise<string>
}

/**
 * An event handler. Throw `PermanentError` to dead-letter at once; any other error rolls the
 * transaction back and is retried with backoff.
 *
 * @example
 * const onInvoicePaid: Handler = async (event, { tx }) => {
 *   await tx.$executeRaw`UPDATE invoices SET paid = true WHERE stripe_id = ${(event.payload as any).data.object.id}`
 * }
 */
export type Handler<Tx = TransactionClient> = (event: HooklineEvent, ctx: HandlerContext<Tx>) => Promise<void>

/**
 * A handler declared with the downstream(s) it calls, by name: each of its transient failures
 * counts against that downstream's circuit breaker, as a `DownstreamError` naming it would (with
 * several declared, an error that names none counts against the handler's own route, since which
 * one failed is unknown), and while any of their breakers is open its events wait before running.
 *
 * @example
 * const handlers = {
 *   'stripe:customer.updated': { downstream: 'crm', handle: async (event) => crm.upsert(event.payload) },
 * }
 */
export interface HandlerDeclaration<Tx = TransactionClient> {
  handle: Handler<Tx>
  /** The downstream(s) the handler calls: the routes of the breakers it is subject to. */
  downstream?: string | readonly string[]
}

/** A handler function, or one declared with options ({@link HandlerDeclaration}). */
export type HandlerEntry<Tx = TransactionClient> = Handler<Tx> | HandlerDeclaration<Tx>

/** Handlers keyed by `provider:type`, `provider:*` or `*`. */
export type HandlerMap<Tx = TransactionClient> = Record<string, HandlerEntry<Tx>>

/** The handler for an event, most specific key first; undefined when none matches. */
export function resolveHandler<Tx>(handlers: HandlerMap<Tx>, provider: string, type: string): Handler<Tx> | undefined {
  const key = handlerKeyOf(handlers, provider, type)
  const entry = key === undefined ? undefined : handlers[key]
  return typeof entry === 'function' ? entry : entry?.handle
}

/** The downstreams the handler of `key` declares (none for a plain function or an unknown key). */
export function declaredDownstreams(handlers: Readonly<Record<string, unknown>>, key: string): readonly string[] {
  const entry = Object.hasOwn(handlers, key) ? handlers[key] : undefined
  if (typeof entry !== 'object' || entry === null) return []
  const downstream = (entry as HandlerDeclaration<never>).downstream
  return downstream === undefined ? [] : typeof downstream === 'string' ? [downstream] : downstream
}

/**
 * Throws `ConfigError` unless every entry of `handlers` is a function or a {@link HandlerDeclaration}
 * (a `handle` function, and downstream names that are non-empty strings); `where` ends its message.
 */
export function checkHandlers(handlers: Readonly<Record<string, unknown>>, where = ''): void {
  for (const [key, entry] of Object.entries(handlers)) {
    if (typeof entry === 'function') continue
    const declared = entry as Partial<HandlerDeclaration<never>> | null
    if (typeof declared !== 'object' || declared === null || typeof declared.handle !== 'function') {
      throw new ConfigError(`handler "${key}"${where} is neither a function nor { handle, downstream? }`)
    }
    const names = declared.downstream === undefined ? [] : typeof declared.downstream === 'string' ? [declared.downstream] : declared.downstream
    if (!Array.isArray(names) || names.some((name) => typeof name !== 'string' || name === '')) {
      throw new ConfigError(`handler "${key}"${where}: downstream must be a name or a list of names`)
    }
  }
}

/**
 * The key of the handler {@link resolveHandler} picks (`stripe:invoice.paid`, `stripe:*`, `*`):
 * its route, by which circuit breakers count and failures are grouped. Undefined when none matches.
 */
export function handlerKeyOf(handlers: Readonly<Record<string, unknown>>, provider: string, type: string): string | undefined {
  return [`${provider}:${type}`, `${provider}:*`, '*'].find((key) => Object.hasOwn(handlers, key) && handlers[key] !== undefined)
}

/**
 * @module The handler contract (what application code receives) and the lookup of the handler
 * for an event: `provider:type`, then `provider:*`, then `*`.
 */
import type { Logger } from 'pino'
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

/** Handlers keyed by `provider:type`, `provider:*` or `*`. */
export type HandlerMap<Tx = TransactionClient> = Record<string, Handler<Tx>>

/** The handler for an event, most specific key first; undefined when none matches. */
export function resolveHandler<Tx>(handlers: HandlerMap<Tx>, provider: string, type: string): Handler<Tx> | undefined {
  const key = handlerKeyOf(handlers, provider, type)
  return key === undefined ? undefined : handlers[key]
}

/**
 * The key of the handler {@link resolveHandler} picks (`stripe:invoice.paid`, `stripe:*`, `*`):
 * its route, by which circuit breakers count and failures are grouped. Undefined when none matches.
 */
export function handlerKeyOf(handlers: Readonly<Record<string, unknown>>, provider: string, type: string): string | undefined {
  return [`${provider}:${type}`, `${provider}:*`, '*'].find((key) => Object.hasOwn(handlers, key) && handlers[key] !== undefined)
}

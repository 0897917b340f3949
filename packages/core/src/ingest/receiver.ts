/**
 * @module The ingress: verify a delivery with its adapter, parse it, store it through the group
 * commit, and answer. Every refusal is counted and logged here (without secrets or body), whichever
 * HTTP binding received it.
 */
import type { Logger } from 'pino'
import type { ImmediateReply, ParsedEvent, ProviderAdapter, RawRequest } from '../adapter.ts'
import { errorCodeOf, MalformedPayloadError, StoreUnavailableError, UnknownProviderError } from '../errors.ts'
import type { HooklineMetrics } from '../metrics.ts'
import type { IngestBatcher } from './ingest-batcher.ts'
import { MAX_PAYLOAD_DEPTH, nestsDeeperThan } from './payload-depth.ts'
import { errorReply, jsonReply, type ReplyOptions, type WebhookReply } from './webhook-reply.ts'

/** Result of receiving one request. */
export type ReceiveResult =
  | { kind: 'accepted'; id: string; duplicate: boolean; reply?: ParsedEvent['reply'] }
  | ImmediateReply

/** What the receiver needs from the rest of Hookline. */
export interface ReceiverDeps {
  adapters: ReadonlyMap<string, ProviderAdapter<unknown>>
  batcher: Pick<IngestBatcher, 'submit'>
  metrics: HooklineMetrics
  logger: Logger
  /** Told of each refused request of a known provider, with its error code (alerting counts them). */
  onRejected?: ((provider: string, reason: string) => void) | undefined
  /** Told of each request (the ingress's saturation signal counts them). */
  onRequest?: (() => void) | undefined
}

/** Headers never stored with an event (credentials of the hop, not of the provider). */
const DROPPED_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization'])

/** Receives deliveries for every enabled provider. */
export class WebhookReceiver {
  constructor(private readonly deps: ReceiverDeps) {}

  /**
   * Verifies, parses and durably stores one delivery, then queues it. Resolves only after the
   * insert committed; a failed enqueue is logged and left to the sweeper. Throws the typed errors
   * of `errors.ts` (see `httpStatusFor`), counted and logged.
   */
  async receive(provider: string, req: RawRequest): Promise<ReceiveResult> {
    const { adapters, batcher, metrics } = this.deps
    this.deps.onRequest?.()
    const adapter = adapters.get(provider)
    if (!adapter) throw this.recordRejection(provider, new UnknownProviderError(provider))
    const stopTimer = metrics.ingestDuration.startTimer({ provider })
    try {
      const verified = await adapter.verify(req)
      const parsed = adapter.parse(verified, req)
      if (parsed.kind === 'immediate') return parsed
      if (nestsDeeperThan(parsed.payload, MAX_PAYLOAD_DEPTH)) throw new MalformedPayloadError(`the payload nests deeper than ${MAX_PAYLOAD_DEPTH} levels`)
      // Resolves after the commit holding this delivery, shared with concurrent ones (its job follows).
      const stored = await batcher.submit(provider, parsed, { source: 'webhook', headers: keptHeaders(req.headers), rawBody: req.body }).catch((err: unknown) => {
        throw new StoreUnavailableError('the inbox database is unavailable; retry later', { cause: err })
      })
      stopTimer()
      metrics.received.inc({ provider })
      if (!stored.inserted) metrics.duplicates.inc({ provider })
      return { kind: 'accepted', id: stored.id, duplicate: !stored.inserted, ...(parsed.reply ? { reply: parsed.reply } : {}) }
    } catch (err) {
      throw this.recordRejection(provider, err)
    }
  }

  /** The HTTP reply to one delivery (see `Hookline.handleWebhook`); never rejects. */
  async handleWebhook(provider: string, req: RawRequest, options?: ReplyOptions): Promise<WebhookReply> {
    try {
      const result = await this.receive(provider, req)
      if (result.kind === 'immediate') return jsonReply(result.status, result.body)
      return result.reply ? jsonReply(result.reply.status, result.reply.body) : jsonReply(200, { id: result.id, duplicate: result.duplicate })
    } catch (err) {
      // receive counted and logged it already.
      return errorReply(err, options)
    }
  }

  /** The reply to a delivery a binding refused before the receiver saw it, counted and logged. */
  rejectWebhook(provider: string, err: unknown, options?: ReplyOptions): WebhookReply {
    return errorReply(this.recordRejection(provider, err), options)
  }

  /** Counts and logs a refused request (without secrets or body) and returns the error. */
  recordRejection<E>(provider: string, err: E): E {
    const reason = errorCodeOf(err)
    const label = this.deps.adapters.has(provider) ? provider : 'unknown'
    this.deps.metrics.rejected.inc({ provider: label, reason })
    if (label !== 'unknown') this.deps.onRejected?.(provider, reason)
    const cause = err instanceof StoreUnavailableError && err.cause instanceof Error ? err.cause.message : undefined
    this.deps.logger.warn({ provider: label, reason, message: err instanceof Error ? err.message : String(err), cause }, 'webhook rejected')
    return err
  }
}

function keptHeaders(headers: RawRequest['headers']): Record<string, string> {
  const kept: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !DROPPED_HEADERS.has(name)) kept[name] = value
  }
  return kept
}

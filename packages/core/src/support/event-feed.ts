/**
 * @module The event stream behind `GET /admin/api/events/stream` and `hookline listen`: the
 * events matching a filter in the order they were stored, from a position on, then each new one
 * as it is committed, with the request body it arrived with.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { z } from 'zod'
import { EventFeedReads, type FeedRow } from '../store/event-feed-reads.ts'
import type { SqlTarget } from '../store/sql-runner.ts'
import { decodeCursor, encodeCursor, type EventPosition } from './event-cursor.ts'
import { type EventFilter, eventFilterSchema } from './event-filter.ts'
import type { EventSummary } from './events-query.ts'
import type { Redaction } from './redaction.ts'

/** zod schema of a stream request: the listing's filter plus `after`, a cursor of the stream (or of the listing). */
export const eventStreamSchema = eventFilterSchema.extend({
  after: z.string().min(1).max(200).optional(),
})

/** A stream request: which events, and the position after which to start. */
export type EventStreamRequest = EventFilter & {
  /** Start after this cursor; without it, at `since`, or without that, at the events stored from now on. */
  after?: string | undefined
}

/** What a streamed event's `body` holds. */
export type FeedBodySource =
  /** The request body as the provider sent it, byte for byte. */
  | 'raw'
  /** The stored payload as JSON (reconciled and emitted events came without a request body). */
  | 'payload'
  /** The payload as JSON with the `HOOKLINE_REDACT` fields replaced: the raw body is withheld. */
  | 'redacted'

/** An event as the stream sends it. */
export interface FeedEvent extends EventSummary {
  occurredAt: Date | null
  /** The request headers kept with the event (redacted as in the event's detail). */
  headers: Record<string, string>
  /** The body, base64-encoded (a provider's body need not be text); null once retention pruned it. */
  body: string | null
  bodyEncoding: 'base64'
  /** What `body` is; null when there is none. */
  bodySource: FeedBodySource | null
  /** True when retention removed the payload, raw body and headers: the event comes without a body. */
  payloadPruned: boolean
}

/** What {@link EventFeed.follow} yields: first the start position, then each event with its position. */
export type FeedItem = { kind: 'start'; cursor: string } | { kind: 'event'; cursor: string; event: FeedEvent }

/** Options of {@link EventFeed}. */
export interface EventFeedOptions {
  /**
   * Time between reads when the stream has caught up. Polling costs the ingest path nothing: no
   * trigger or notification per event, one indexed read per open stream and period.
   * @defaultValue 1000
   */
  pollMs?: number
  /**
   * How long after its start a transaction may first write an event and still be streamed (see
   * `event-feed-reads.ts`): events are streamed this long after they are stored, at the earliest.
   * @defaultValue 1000
   */
  lagMs?: number
  /**
   * Events read at once.
   * @defaultValue 50
   */
  pageSize?: number
}

/** Defaults of {@link EventFeedOptions}. */
export const DEFAULT_EVENT_FEED_OPTIONS = { pollMs: 1000, lagMs: 1000, pageSize: 50 } as const satisfies Required<EventFeedOptions>

/** An id no event has, below every other: a position at a time, before its events. */
const NIL_ID = '00000000-0000-0000-0000-000000000000'

/**
 * Streams the inbox in order of arrival. The position is the listing's cursor, an event's
 * `(receivedAt, id)`; a read goes no further than the horizon before which every event is
 * committed (an event's `receivedAt` is its transaction's start, and transactions commit in any
 * order), so a position never passes an event that is yet to appear: resuming after any cursor
 * the stream gave sends every later event once, none twice.
 *
 * @example
 * for await (const item of hookline.feed.follow({ provider: 'stripe', after }, { signal })) {
 *   if (item.kind === 'event') forward(item.event)
 * }
 */
export class EventFeed {
  private readonly reads: EventFeedReads
  private readonly options: Required<EventFeedOptions>
  private readonly closed = new AbortController()

  constructor(
    db: SqlTarget,
    schema?: string,
    private readonly maxAttempts = 8,
    options: EventFeedOptions = {},
  ) {
    this.reads = new EventFeedReads(db, schema)
    this.options = { ...DEFAULT_EVENT_FEED_OPTIONS, ...options }
  }

  /**
   * The start position, then the events of `request` after it, oldest first, waiting for new ones
   * until `signal` aborts or the feed closes. Throws `InvalidRequestError` for a bad `after`.
   */
  async *follow(request: EventStreamRequest, options: { signal?: AbortSignal; redaction?: Redaction } = {}): AsyncGenerator<FeedItem> {
    const { after, ...filter } = request
    const { pollMs, lagMs, pageSize } = this.options
    let position: EventPosition = after !== undefined
      ? decodeCursor(after, 'after')
      : { receivedAt: filter.since ?? (await this.reads.horizon(lagMs)), id: NIL_ID }
    yield { kind: 'start', cursor: encodeCursor(position) }
    const signal = AbortSignal.any([this.closed.signal, ...(options.signal ? [options.signal] : [])])
    const withPayload = options.redaction?.redactsPayload ?? false
    while (!signal.aborted) {
      const rows = await this.reads.page({ filter, after: position, lagMs, limit: pageSize, withPayload })
      for (const row of rows) {
        position = row
        yield { kind: 'event', cursor: encodeCursor(position), event: this.feedEvent(row, options.redaction) }
      }
      if (rows.length < pageSize) await sleep(pollMs, undefined, { signal }).catch(() => undefined)
    }
  }

  /** Ends every stream (their generators return after the event they are at). */
  close(): void {
    this.closed.abort()
  }

  private feedEvent(row: FeedRow, redaction: Redaction | undefined): FeedEvent {
    const { rawBody, payload, headers, ...summary } = row
    const event = { ...summary, maxAttempts: this.maxAttempts, headers: redaction?.redactHeaders(headers) ?? headers, bodyEncoding: 'base64' as const }
    if (row.payloadPruned) return { ...event, body: null, bodySource: null }
    if (redaction?.redactsPayload && payload !== null) {
      const parsed: unknown = JSON.parse(payload)
      if (redaction.redactPayload(parsed)) return { ...event, body: Buffer.from(JSON.stringify(parsed)).toString('base64'), bodySource: 'redacted' }
    }
    if (rawBody !== null) return { ...event, body: rawBody.toString('base64'), bodySource: 'raw' }
    return { ...event, body: payload === null ? null : Buffer.from(payload).toString('base64'), bodySource: payload === null ? null : 'payload' }
  }
}

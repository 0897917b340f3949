/**
 * @module Read side of support: list inbox events by filter with cursor pagination, one event's
 * detail (payload, kept headers, every attempt, the support actions taken on it), and the counts.
 */
import { z } from 'zod'
import { EventKeyAmbiguousError, EventNotFoundError } from '../errors.ts'
import type { EventSource } from '../handler.ts'
import type { HeldReason } from '../holds/event-holds.ts'
import { MAX_PAYLOAD_DEPTH, nestsDeeperThan } from '../ingest/payload-depth.ts'
import { auditTrail, type AuditEntry } from '../store/audit-log.ts'
import { EventReads, type PageQuery, type SummaryRow } from '../store/event-reads.ts'
import type { SqlTarget } from '../store/sql-runner.ts'
import { decodeCursor, encodeCursor } from './event-cursor.ts'
import { type EventFilter, eventFilterSchema, type EventStatus, keyTextOf } from './event-filter.ts'
import { eventStats, type EventStats } from './event-stats.ts'
import { REDACTED, type Redaction } from './redaction.ts'

/** An event as the admin API lists it. */
export interface EventSummary {
  id: string
  provider: string
  eventKey: string
  type: string
  tenant: string | null
  entityKey: string | null
  status: EventStatus
  /** Attempts of the current run (a replay starts a new run; the attempt log keeps every one). */
  attempts: number
  /** Times the provider (or reconciliation) delivered this event; duplicates only add here. */
  deliveries: number
  /** How the event first reached the inbox. */
  source: EventSource
  receivedAt: Date
  processedAt: Date | null
  /** 1, then 2, 3… after forced replays of the processed event. */
  generation: number
  /** Error of the latest failed attempt, until the event is processed. */
  lastError: string | null
  /** When the next attempt is due; null unless the event will run again (queued, or failed and waiting to retry). */
  nextAttemptAt: Date | null
  /** Attempts a run gets before the event is dead (the retry policy's `maxAttempts`). */
  maxAttempts: number
}

/** One processing attempt of an event. */
export interface AttemptRecord {
  /**
   * Number of the attempt among all of the event's attempts: it continues across replays (1, 2, 3,
   * then 4 after a replay), while the handler's `ctx.attempt` counts within the run.
   */
  n: number
  /**
   * The event's generation when the attempt ran: a forced replay of a processed (or skipped_stale)
   * event starts the next one; a replay of a dead, failed or ignored event keeps it (its handler
   * never committed, so the idempotency keys stay).
   */
  generation: number
  startedAt: Date
  finishedAt: Date | null
  durationMs: number | null
  /** `succeeded`, `stale`, `failed` or `dead`; null while running. */
  outcome: string | null
  error: string | null
  /** The error's stack trace as the handler threw it, when there was one. */
  stack: string | null
}

/** An event with everything support needs to decide what to do with it. */
export interface EventDetail extends EventSummary {
  /**
   * Why the unfinished event is not running now, when a pause or an open circuit breaker holds it
   * (set by the admin API, which knows both).
   */
  held?: HeldReason
  /**
   * The inbox id of the earlier event of the same entity this one waits for (it runs when that one
   * is processed or dead); null when it waits for none.
   */
  waitingFor: string | null
  occurredAt: Date | null
  lastDeliveredAt: Date
  /** True when a newer event of the same entity had already been applied. */
  stale: boolean
  /** Support's note (set by ignore). */
  note: string | null
  /**
   * The parsed provider body — attacker-controlled input: display it escaped. A payload nested
   * deeper than the ingress accepts (stored by an older release) is its JSON text instead (or
   * `"[redacted]"` as a whole, when a redaction path matched inside it).
   */
  payload: unknown
  /** The request headers kept with the event (credentials of the hop are never stored). */
  headers: Record<string, string>
  /** True when retention removed the payload, raw body and headers (`payload` is then null). */
  payloadPruned: boolean
  attemptLog: AttemptRecord[]
  /** Replays and ignores of this event, oldest first. */
  audit: AuditEntry[]
}

/** One page of events, newest first. */
export interface EventPage {
  events: EventSummary[]
  /** Pass as `cursor` for the next page; null on the last one. */
  nextCursor: string | null
}

/** zod schema of a listing request: the filter plus `limit` (1–500, default 50) and `cursor`. */
export const eventListSchema = eventFilterSchema.extend({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().min(1).max(200).optional(),
})

/** A listing request: the filter, the page size and the position. */
export type EventListRequest = EventFilter & { limit: number; cursor?: string | undefined }

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/**
 * Queries the inbox for support.
 *
 * @example
 * const { events, nextCursor } = await hookline.events.list({ tenant: 'acct_1', status: ['dead'], limit: 50 })
 * const detail = await hookline.events.get(events[0]!.id)
 */
export class EventQuery {
  private readonly reads: EventReads

  /**
   * @param searchWindowRows how many of the newest rows meeting the rest of a filter a free-text
   * listing looks through before it finds the matches first (see {@link EventQuery.list}).
   * @param schema the schema of Hookline's tables.
   * @param maxAttempts the retry policy's attempts per run, shown with each event.
   */
  constructor(
    private readonly db: SqlTarget,
    private readonly searchWindowRows = 10_000,
    private readonly schema?: string,
    private readonly maxAttempts = 8,
  ) {
    if (!Number.isSafeInteger(searchWindowRows) || searchWindowRows < 1) throw new TypeError('searchWindowRows must be a positive integer')
    this.reads = new EventReads(db, schema)
  }

  /**
   * One page of the events matching the filter, newest first (keyset pagination: stable under
   * inserts).
   *
   * The event-key text (`key`, or its alias `q`) is matched by no index, and the planner, expecting one row in 200 to match,
   * walks the arrival index backwards: fast when matches are dense, a fetch of every row of the
   * inbox when there is one match (10.5 s on 2 million rows, docs/performance.md). So the newest
   * `searchWindowRows` rows that meet the rest of the filter are looked through first; when they
   * hold no full page and there are older rows, the matches are found first (one scan) and only
   * they are sorted. Both ways give the same page.
   */
  async list(request: EventListRequest): Promise<EventPage> {
    const { limit, cursor, key, q: alias, ...filter } = request
    const q = keyTextOf({ key, q: alias })
    const query: PageQuery = { filter, after: cursor === undefined ? undefined : decodeCursor(cursor), limit: limit + 1 }
    let rows: SummaryRow[]
    if (q === undefined) rows = await this.reads.page(query)
    else {
      rows = await this.reads.searchWindow(query, q, this.searchWindowRows)
      // Not a full page, and rows beyond the window: the matches are sparse, find them first.
      if (rows.length <= limit && (await this.reads.beyondWindow(query, this.searchWindowRows))) rows = await this.reads.matchesFirst(query, q)
    }
    const page = rows.slice(0, limit).map((row) => ({ ...row, maxAttempts: this.maxAttempts }))
    const last = page.at(-1)
    return { events: page, nextCursor: rows.length > limit && last ? encodeCursor(last) : null }
  }

  /**
   * The event with its payload, headers, attempts and audit trail, the fields of `redaction`
   * replaced by `"[redacted]"`; throws {@link EventNotFoundError}.
   */
  async get(id: string, options: { redaction?: Redaction } = {}): Promise<EventDetail> {
    if (!UUID.test(id)) throw new EventNotFoundError(id)
    const event = await this.reads.event(id)
    if (!event) throw new EventNotFoundError(id)
    const [attemptLog, audit] = await Promise.all([this.reads.attempts(id), auditTrail(this.db, id, this.schema)])
    const payload: unknown = JSON.parse(event.payload)
    const redacted = options.redaction?.redactPayload(payload) ?? false
    const headers = options.redaction?.redactHeaders(event.headers) ?? event.headers
    // Stored before the ingress refused such payloads, it is served as its JSON text, which any
    // reader can handle; that text cannot be redacted field by field, so a match hides it whole.
    const shown = nestsDeeperThan(payload, MAX_PAYLOAD_DEPTH) ? (redacted ? REDACTED : event.payload) : payload
    return { ...event, maxAttempts: this.maxAttempts, payload: shown, headers, attemptLog, audit }
  }

  /**
   * The inbox id an event reference names: an inbox id as it is, else the provider's own event
   * key (`evt_…`, a GitHub delivery GUID, a Slack key) among `providers`, since that is the id a
   * customer quotes. Throws {@link EventNotFoundError}, or {@link EventKeyAmbiguousError} when
   * the key names events of several providers.
   *
   * @example
   * const id = await hookline.events.resolve('evt_1NqX', ['stripe', 'standard'])
   */
  async resolve(ref: string, providers: readonly string[]): Promise<string> {
    if (UUID.test(ref)) {
      // A GUID can be an inbox id or a GitHub delivery: the inbox id wins when both exist.
      if (await this.reads.event(ref)) return ref
    }
    const found = await this.reads.byKey(ref, providers)
    if (found.length === 0) throw new EventNotFoundError(ref)
    if (found.length > 1) throw new EventKeyAmbiguousError(ref, found)
    return found[0]!.id
  }

  /** The overview's counts since `since`, in buckets of `bucketSeconds` (see {@link eventStats}). */
  stats(request: { since: Date; bucketSeconds: number }): Promise<EventStats> {
    return eventStats(this.reads, request)
  }
}

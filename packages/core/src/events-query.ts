/**
 * @module Read side of support: list inbox events by filter with cursor pagination, one event's
 * detail (payload, kept headers, every attempt, the support actions taken on it), and the counts.
 */
import { z } from 'zod'
import { auditTrail, type AuditEntry } from './audit.ts'
import { EventNotFoundError, InvalidRequestError } from './errors.ts'
import { eventStats, type EventStats } from './event-stats.ts'
import { type EventFilter, eventFilterSchema, type EventStatus, filterCondition } from './event-filter.ts'
import type { EventSource } from './handler.ts'
import { PAYLOAD_JSON, type SqlClient } from './inbox.ts'

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
}

/** One processing attempt of an event. */
export interface AttemptRecord {
  /** Attempt number within its run (what the handler saw as `ctx.attempt`). */
  n: number
  generation: number
  startedAt: Date
  finishedAt: Date | null
  durationMs: number | null
  /** `succeeded`, `stale`, `failed` or `dead`; null while running. */
  outcome: string | null
  error: string | null
}

/** An event with everything support needs to decide what to do with it. */
export interface EventDetail extends EventSummary {
  occurredAt: Date | null
  lastDeliveredAt: Date
  /** True when a newer event of the same entity had already been applied. */
  stale: boolean
  /** Support's note (set by ignore). */
  note: string | null
  /** The parsed provider body — attacker-controlled input: display it escaped. */
  payload: unknown
  /** The request headers kept with the event (credentials of the hop are never stored). */
  headers: Record<string, string>
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

const SUMMARY_COLUMNS = `id::text AS id, provider, event_key, type, tenant, entity_key, status::text AS status,
  attempts, deliveries, source::text AS source, received_at, processed_at, generation, last_error`

interface SummaryRow {
  id: string
  provider: string
  event_key: string
  type: string
  tenant: string | null
  entity_key: string | null
  status: EventStatus
  attempts: number
  deliveries: number
  source: EventSource
  received_at: Date
  processed_at: Date | null
  generation: number
  last_error: string | null
}

interface DetailRow extends SummaryRow {
  occurred_at: Date | null
  last_delivered_at: Date
  stale: boolean
  note: string | null
  payload_json: string
  headers: Record<string, string>
}

interface AttemptRow {
  n: number
  generation: number
  started_at: Date
  finished_at: Date | null
  outcome: string | null
  error: string | null
}

/**
 * Queries the inbox for support.
 *
 * @example
 * const { events, nextCursor } = await hookline.events.list({ tenant: 'acct_1', status: ['dead'], limit: 50 })
 * const detail = await hookline.events.get(events[0]!.id)
 */
export class EventQuery {
  /**
   * @param searchWindowRows how many of the newest rows meeting the rest of a filter a free-text
   * listing looks through before it finds the matches first (see {@link EventQuery.list}).
   */
  constructor(
    private readonly db: SqlClient,
    private readonly searchWindowRows = 10_000,
  ) {
    if (!Number.isSafeInteger(searchWindowRows) || searchWindowRows < 1) throw new TypeError('searchWindowRows must be a positive integer')
  }

  /**
   * One page of the events matching the filter, newest first (keyset pagination: stable under
   * inserts).
   *
   * A free-text `q` is matched by no index, and the planner, expecting one row in 200 to match,
   * walks the arrival index backwards: fast when matches are dense, a fetch of every row of the
   * inbox when there is one match (10.5 s on 2 million rows, docs/performance.md). So the newest
   * `searchWindowRows` rows that meet the rest of the filter are looked through first; when they
   * hold no full page and there are older rows, the matches are found first (one scan) and only
   * they are sorted. Both ways give the same page.
   */
  async list(request: EventListRequest): Promise<EventPage> {
    const params: unknown[] = []
    let where = filterCondition({ ...request, q: undefined }, params)
    if (request.cursor !== undefined) {
      const { receivedAt, id } = decodeCursor(request.cursor)
      where += ` AND (received_at, id) < ($${params.push(receivedAt)}, $${params.push(id)}::uuid)`
    }
    const whereParams = params.length
    const limit = `$${params.push(request.limit + 1)}`
    let rows: SummaryRow[]
    if (request.q === undefined) {
      rows = await this.db.$queryRawUnsafe<SummaryRow[]>(
        `SELECT ${SUMMARY_COLUMNS} FROM hookline_events WHERE ${where} ORDER BY received_at DESC, id DESC LIMIT ${limit}`,
        ...params,
      )
    } else {
      const matches = filterCondition({ q: request.q }, params)
      // Ordered as the window is, so the walk stops at the last row of a full page. Postgres
      // reads only the window's columns the outer query uses (the others become NULLs).
      rows = await this.db.$queryRawUnsafe<SummaryRow[]>(
        `SELECT ${SUMMARY_COLUMNS}
           FROM (SELECT * FROM hookline_events WHERE ${where}
                  ORDER BY received_at DESC, id DESC LIMIT ${this.searchWindowRows}) AS recent
          WHERE ${matches} ORDER BY recent.received_at DESC, recent.id DESC LIMIT ${limit}`,
        ...params,
      )
      // Not a full page, and rows beyond the window: the matches are sparse, find them first.
      if (rows.length <= request.limit && (await this.beyondWindow(where, params.slice(0, whereParams)))) {
        rows = await this.matchesFirst(where, matches, limit, params)
      }
    }
    const page = rows.slice(0, request.limit)
    const last = page.at(-1)
    return {
      events: page.map(toSummary),
      nextCursor: rows.length > request.limit && last ? encodeCursor(last.received_at, last.id) : null,
    }
  }

  /** Whether more rows than the search window meet `where`. */
  private async beyondWindow(where: string, params: unknown[]): Promise<boolean> {
    const rows = await this.db.$queryRawUnsafe<{ beyond: boolean }[]>(
      `SELECT EXISTS (SELECT 1 FROM hookline_events WHERE ${where}
                       ORDER BY received_at DESC, id DESC OFFSET ${this.searchWindowRows} LIMIT 1) AS beyond`,
      ...params,
    )
    return rows[0]?.beyond === true
  }

  /**
   * The page when matches are sparse: every match found first (MATERIALIZED keeps the planner from
   * walking the arrival index again), the newest of them sorted, then read.
   */
  private async matchesFirst(where: string, matches: string, limit: string, params: unknown[]): Promise<SummaryRow[]> {
    return this.db.$queryRawUnsafe<SummaryRow[]>(
      `WITH m AS MATERIALIZED (SELECT id, received_at FROM hookline_events WHERE ${where} AND ${matches})
       SELECT ${SUMMARY_COLUMNS} FROM hookline_events
        WHERE id IN (SELECT id FROM m ORDER BY received_at DESC, id DESC LIMIT ${limit})
        ORDER BY hookline_events.received_at DESC, hookline_events.id DESC`,
      ...params,
    )
  }

  /** The event with its payload, headers, attempts and audit trail; throws {@link EventNotFoundError}. */
  async get(id: string): Promise<EventDetail> {
    if (!UUID.test(id)) throw new EventNotFoundError(id)
    const rows = await this.db.$queryRawUnsafe<DetailRow[]>(
      `SELECT ${SUMMARY_COLUMNS}, occurred_at, last_delivered_at, stale, note, ${PAYLOAD_JSON} AS payload_json, headers
         FROM hookline_events WHERE id = $1::uuid`,
      id,
    )
    const row = rows[0]
    if (!row) throw new EventNotFoundError(id)
    const [attempts, audit] = await Promise.all([
      this.db.$queryRawUnsafe<AttemptRow[]>(
        `SELECT n, generation, started_at, finished_at, outcome::text AS outcome, error
           FROM hookline_attempts WHERE event_id = $1::uuid ORDER BY id`,
        id,
      ),
      auditTrail(this.db, id),
    ])
    return {
      ...toSummary(row),
      occurredAt: row.occurred_at,
      lastDeliveredAt: row.last_delivered_at,
      stale: row.stale,
      note: row.note,
      payload: JSON.parse(row.payload_json),
      headers: row.headers,
      attemptLog: attempts.map((a) => ({
        n: a.n,
        generation: a.generation,
        startedAt: a.started_at,
        finishedAt: a.finished_at,
        durationMs: a.finished_at ? a.finished_at.getTime() - a.started_at.getTime() : null,
        outcome: a.outcome,
        error: a.error,
      })),
      audit,
    }
  }

  /** The overview's counts since `since`, in buckets of `bucketSeconds` (see {@link eventStats}). */
  stats(request: { since: Date; bucketSeconds: number }): Promise<EventStats> {
    return eventStats(this.db, request)
  }
}

function toSummary(row: SummaryRow): EventSummary {
  return {
    id: row.id,
    provider: row.provider,
    eventKey: row.event_key,
    type: row.type,
    tenant: row.tenant,
    entityKey: row.entity_key,
    status: row.status,
    attempts: row.attempts,
    deliveries: row.deliveries,
    source: row.source,
    receivedAt: row.received_at,
    processedAt: row.processed_at,
    generation: row.generation,
    lastError: row.last_error,
  }
}

/** The position after an event, opaque to clients. */
function encodeCursor(receivedAt: Date, id: string): string {
  return Buffer.from(`${receivedAt.toISOString()}|${id}`).toString('base64url')
}

function decodeCursor(cursor: string): { receivedAt: Date; id: string } {
  const [iso, id] = Buffer.from(cursor, 'base64url').toString().split('|')
  const receivedAt = new Date(iso ?? '')
  if (!id || !UUID.test(id) || Number.isNaN(receivedAt.getTime())) {
    throw new InvalidRequestError('cursor: not a cursor returned by this API')
  }
  return { receivedAt, id }
}

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
  constructor(private readonly db: SqlClient) {}

  /** One page of the events matching the filter, newest first (keyset pagination: stable under inserts). */
  async list(request: EventListRequest): Promise<EventPage> {
    const params: unknown[] = []
    let where = filterCondition(request, params)
    if (request.cursor !== undefined) {
      const { receivedAt, id } = decodeCursor(request.cursor)
      where += ` AND (received_at, id) < ($${params.push(receivedAt)}, $${params.push(id)}::uuid)`
    }
    const rows = await this.db.$queryRawUnsafe<SummaryRow[]>(
      `SELECT ${SUMMARY_COLUMNS} FROM hookline_events WHERE ${where}
        ORDER BY received_at DESC, id DESC LIMIT $${params.push(request.limit + 1)}`,
      ...params,
    )
    const page = rows.slice(0, request.limit)
    const last = page.at(-1)
    return {
      events: page.map(toSummary),
      nextCursor: rows.length > request.limit && last ? encodeCursor(last.received_at, last.id) : null,
    }
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

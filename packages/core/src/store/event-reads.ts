/**
 * @module Support's reads of the inbox: pages of events by filter, one event with its attempts,
 * and the overview's counts.
 */
import type { AttemptRecord, EventDetail, EventSummary } from '../support/events-query.ts'
import type { StatsBucket } from '../support/event-stats.ts'
import type { EventFilter } from '../support/event-filter.ts'
import { filterCondition } from './event-filter-sql.ts'
import { PAYLOAD_JSON } from './inbox.ts'
import { type Sql, sqlRunner, type SqlTarget } from './sql-runner.ts'

// In the subquery, `id` and `status` are the outer row's (the work list has neither column), so
// the columns work over the inbox table and over a subquery of it alike.

/** An event summary as stored (the retry policy's `maxAttempts` is not a column). */
export type SummaryRow = Omit<EventSummary, 'maxAttempts'>

/** The columns of an {@link EventSummary} (but `maxAttempts`), as its fields. */
export const SUMMARY_COLUMNS = `id::text AS id, provider, event_key AS "eventKey", type, tenant, entity_key AS "entityKey",
  status::text AS status, attempts, deliveries, source::text AS source, received_at AS "receivedAt",
  processed_at AS "processedAt", generation, last_error AS "lastError",
  (SELECT d.due_at FROM hookline.hookline_due_events d
    WHERE d.event_id = id AND status IN ('received', 'failed')) AS "nextAttemptAt"`

/**
 * The earlier event of its entity that the waiting event `ev` waits for: the nearest unfinished
 * one stored before it and not newer by source time (the worker's own rule, `store/attempts.ts`).
 */
const WAITING_FOR = `SELECT p.event_id::text FROM hookline.hookline_due_events d
    JOIN hookline.hookline_due_events p ON p.provider = d.provider AND p.entity_key = d.entity_key AND p.seq < d.seq AND p.due_at IS NOT NULL
    JOIN hookline.hookline_events pe ON pe.id = p.event_id
   WHERE d.event_id = ev.id AND d.waiting AND NOT coalesce(pe.occurred_at > ev.occurred_at, false)
   ORDER BY p.seq DESC LIMIT 1`

/** A page request as SQL: the filter (without its free text), the position after which to read, and the size. */
export interface PageQuery {
  filter: EventFilter
  /** The last event of the previous page. */
  after: { receivedAt: Date; id: string } | undefined
  /** Rows to read: the page size plus one, to know whether there is a next page. */
  limit: number
}

/** Reads inbox events for support. */
export class EventReads {
  private readonly run: Sql

  constructor(db: SqlTarget, schema?: string) {
    this.run = sqlRunner(db, schema, false)
  }

  /** The newest events matching `query`, newest first. */
  page(query: PageQuery): Promise<SummaryRow[]> {
    const { where, limit, params } = pageCondition(query)
    return this.run<SummaryRow>(`SELECT ${SUMMARY_COLUMNS} FROM hookline.hookline_events WHERE ${where} ORDER BY received_at DESC, id DESC LIMIT ${limit}`, ...params)
  }

  /**
   * The events matching `query` and the free text `q` among the newest `windowRows` rows that
   * match the rest, newest first. Ordered as the window is, so the walk stops at the last row of a
   * full page; Postgres reads only the window's columns the outer query uses.
   */
  searchWindow(query: PageQuery, q: string, windowRows: number): Promise<SummaryRow[]> {
    const { where, limit, params } = pageCondition(query)
    const matches = filterCondition({ key: q }, params)
    return this.run<SummaryRow>(
      `SELECT ${SUMMARY_COLUMNS}
         FROM (SELECT * FROM hookline.hookline_events WHERE ${where}
                ORDER BY received_at DESC, id DESC LIMIT ${windowRows}) AS recent
        WHERE ${matches} ORDER BY recent.received_at DESC, recent.id DESC LIMIT ${limit}`,
      ...params,
    )
  }

  /** Whether more than `windowRows` rows match `query` (its free text aside). */
  async beyondWindow(query: PageQuery, windowRows: number): Promise<boolean> {
    const { where, params } = pageCondition(query)
    const [row] = await this.run<{ beyond: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM hookline.hookline_events WHERE ${where}
                       ORDER BY received_at DESC, id DESC OFFSET ${windowRows} LIMIT 1) AS beyond`,
      ...params.slice(0, -1), // not the page's LIMIT
    )
    return row?.beyond === true
  }

  /**
   * The page when matches of `q` are sparse: every match found first (MATERIALIZED keeps the
   * planner from walking the arrival index again), the newest of them sorted, then read.
   */
  matchesFirst(query: PageQuery, q: string): Promise<SummaryRow[]> {
    const { where, limit, params } = pageCondition(query)
    const matches = filterCondition({ key: q }, params)
    return this.run<SummaryRow>(
      `WITH m AS MATERIALIZED (SELECT id, received_at FROM hookline.hookline_events WHERE ${where} AND ${matches})
       SELECT ${SUMMARY_COLUMNS} FROM hookline.hookline_events
        WHERE id IN (SELECT id FROM m ORDER BY received_at DESC, id DESC LIMIT ${limit})
        ORDER BY hookline_events.received_at DESC, hookline_events.id DESC`,
      ...params,
    )
  }

  /** One event without its attempts and audit trail, its payload as JSON text, or undefined. */
  async event(id: string): Promise<(Omit<EventDetail, 'attemptLog' | 'audit' | 'payload' | 'maxAttempts'> & { payload: string }) | undefined> {
    const [row] = await this.run<Omit<EventDetail, 'attemptLog' | 'audit' | 'payload' | 'maxAttempts'> & { payload: string }>(
      `SELECT ${SUMMARY_COLUMNS}, occurred_at AS "occurredAt", last_delivered_at AS "lastDeliveredAt", stale, note,
              ${PAYLOAD_JSON} AS payload, headers, payload_pruned_at IS NOT NULL AS "payloadPruned",
              (${WAITING_FOR}) AS "waitingFor"
         FROM hookline.hookline_events ev WHERE id = $1::uuid`,
      id,
    )
    return row
  }

  /**
   * The events a provider's key names among `providers` (at most 10), through the unique
   * (provider, event_key) index.
   */
  byKey(key: string, providers: readonly string[]): Promise<{ provider: string; id: string }[]> {
    return this.run(
      `SELECT provider, id::text AS id FROM hookline.hookline_events
        WHERE provider = ANY($2::text[]) AND event_key = $1 ORDER BY provider LIMIT 10`,
      key,
      [...providers],
    )
  }

  /** Every attempt at one event, oldest first. */
  async attempts(id: string): Promise<AttemptRecord[]> {
    const rows = await this.run<Omit<AttemptRecord, 'durationMs'>>(
      `SELECT n, generation, started_at AS "startedAt", finished_at AS "finishedAt", outcome::text AS outcome, error, stack
         FROM hookline.hookline_attempts WHERE event_id = $1::uuid ORDER BY id`,
      id,
    )
    return rows.map((a) => ({ ...a, durationMs: a.finishedAt ? a.finishedAt.getTime() - a.startedAt.getTime() : null }))
  }

  /** Events received since `since` by provider and bucket of `bucketSeconds`, by what became of them. */
  statsSeries(since: Date, bucketSeconds: number): Promise<StatsBucket[]> {
    return this.run<StatsBucket>(
      `SELECT to_timestamp(floor(extract(epoch FROM received_at) / $2) * $2) AS at, provider,
              count(*)::int AS received,
              (count(*) FILTER (WHERE status = 'processed'))::int AS processed,
              (count(*) FILTER (WHERE status = 'skipped_stale'))::int AS "skippedStale",
              (count(*) FILTER (WHERE status = 'failed'))::int AS failed,
              (count(*) FILTER (WHERE status = 'dead'))::int AS dead,
              (count(*) FILTER (WHERE status = 'ignored'))::int AS ignored,
              (count(*) FILTER (WHERE status IN ('received', 'processing')))::int AS pending
         FROM hookline.hookline_events WHERE received_at >= $1
        GROUP BY 1, 2 ORDER BY 1, 2`,
      since,
      bucketSeconds,
    )
  }

  /** Dead events by provider, whenever they were received. */
  deadByProvider(): Promise<{ provider: string; n: number }[]> {
    // Through the work list's index: the status of the inbox is not indexed.
    return this.run(
      `SELECT e.provider, count(*)::int AS n
         FROM hookline.hookline_due_events d JOIN hookline.hookline_events e ON e.id = d.event_id
        WHERE d.due_at IS NULL GROUP BY 1 ORDER BY 1`,
    )
  }
}

/** The condition of a page, its LIMIT placeholder and their values. */
function pageCondition(query: PageQuery): { where: string; limit: string; params: unknown[] } {
  const params: unknown[] = []
  let where = filterCondition({ ...query.filter, key: undefined, q: undefined }, params)
  if (query.after) where += ` AND (received_at, id) < ($${params.push(query.after.receivedAt)}, $${params.push(query.after.id)}::uuid)`
  return { where, limit: `$${params.push(query.limit)}`, params }
}

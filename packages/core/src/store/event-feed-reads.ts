/**
 * @module The event stream's reads of the inbox: the horizon before which every event is
 * committed, and the events after a position up to it, in order of arrival, with their raw bodies.
 */
import type { EventFilter } from '../support/event-filter.ts'
import type { EventPosition } from '../support/event-cursor.ts'
import type { EventSummary } from '../support/events-query.ts'
import { filterCondition } from './event-filter-sql.ts'
import { SUMMARY_COLUMNS } from './event-reads.ts'
import { PAYLOAD_JSON } from './inbox.ts'
import { type Sql, sqlRunner, type SqlTarget } from './sql-runner.ts'

/** An event as the stream reads it: its summary, kept headers and what it was sent as. */
export interface FeedRow extends Omit<EventSummary, 'maxAttempts'> {
  occurredAt: Date | null
  headers: Record<string, string>
  /** The request body as it arrived; null for events that came without one (reconciled, emitted) and pruned ones. */
  rawBody: Buffer | null
  /** The payload as JSON text, read only when there is no raw body or `withPayload` asked for it. */
  payload: string | null
  payloadPruned: boolean
}

/**
 * The horizon: a time before which no event can still be committed. Events are stamped with their
 * transaction's start (`received_at DEFAULT now()`), and transactions commit in any order, so a
 * reader that went past the newest row it sees would skip a row of a transaction that started
 * earlier and commits later. Every transaction that has written and is still open is in
 * `pg_stat_activity` with its start; one that has not written yet is covered by `lagMs` (Hookline
 * writes an event in its transaction's first statement, or right after its `BEGIN`). A millisecond
 * less allows for `received_at`'s rounding to milliseconds.
 */
const HORIZON = `date_trunc('milliseconds', LEAST(
    now() - $1 * interval '1 millisecond',
    (SELECT min(xact_start) FROM pg_stat_activity
      WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL)
  ) - interval '1 millisecond')`

/** Reads the inbox in order of arrival for the event stream. */
export class EventFeedReads {
  private readonly run: Sql

  constructor(db: SqlTarget, schema?: string) {
    this.run = sqlRunner(db, schema, false)
  }

  /** The horizon now (see {@link HORIZON}). */
  async horizon(lagMs: number): Promise<Date> {
    const [row] = await this.run<{ horizon: Date }>(`SELECT ${HORIZON} AS horizon`, lagMs)
    return row!.horizon
  }

  /**
   * At most `limit` events matching `filter` after `after` and before the horizon, oldest first,
   * through the arrival index (the plain `>=` lets the planner bound its scan by it).
   */
  page(request: { filter: EventFilter; after: EventPosition; lagMs: number; limit: number; withPayload: boolean }): Promise<FeedRow[]> {
    const params: unknown[] = [request.lagMs]
    const where = filterCondition(request.filter, params)
    const afterTime = `$${params.push(request.after.receivedAt)}::timestamptz`
    const afterId = `$${params.push(request.after.id)}::uuid`
    const withPayload = `$${params.push(request.withPayload)}::boolean`
    return this.run<FeedRow>(
      `SELECT ${SUMMARY_COLUMNS}, occurred_at AS "occurredAt", headers,
              raw_body AS "rawBody",
              CASE WHEN raw_body IS NULL OR ${withPayload} THEN ${PAYLOAD_JSON} END AS payload,
              payload_pruned_at IS NOT NULL AS "payloadPruned"
         FROM hookline.hookline_events
        WHERE ${where} AND received_at >= ${afterTime} AND (received_at, id) > (${afterTime}, ${afterId})
          AND received_at < ${HORIZON}
        ORDER BY received_at, id LIMIT $${params.push(request.limit)}`,
      ...params,
    )
  }
}

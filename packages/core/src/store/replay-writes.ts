/**
 * @module Support's writes to the inbox: move events back to `received` for a replay, close one as
 * `ignored`, each with its audit rows in the same statement; and the reads a replay plans with.
 */
import type { EventFilter, EventStatus } from '../support/event-filter.ts'
import { filterCondition } from './event-filter-sql.ts'
import { type Sql, sqlRunner, type SqlTarget } from './sql-runner.ts'

/** Who acted, and why, as the audit log records it. */
export interface AuditedBy {
  actor: string
  note: string | null
}

/** Replays and ignores inbox events. */
export class ReplayWrites {
  private readonly run: Sql

  constructor(db: SqlTarget, schema?: string) {
    this.run = sqlRunner(db, schema, false)
  }

  /** An event's status and generation, and whether retention removed its payload; or undefined. */
  async status(id: string): Promise<{ status: EventStatus; generation: number; payloadPruned: boolean } | undefined> {
    const [row] = await this.run<{ status: EventStatus; generation: number; payloadPruned: boolean }>(
      `SELECT status::text AS status, generation, payload_pruned_at IS NOT NULL AS "payloadPruned" FROM hookline.hookline_events WHERE id = $1::uuid`,
      id,
    )
    return row
  }

  /** Matching events by status. */
  async countByStatus(filter: EventFilter): Promise<Partial<Record<EventStatus, number>>> {
    const params: unknown[] = []
    const rows = await this.run<{ status: EventStatus; n: number }>(
      `SELECT status::text AS status, count(*)::int AS n FROM hookline.hookline_events WHERE ${filterCondition(filter, params)} GROUP BY 1`,
      ...params,
    )
    return Object.fromEntries(rows.map((r) => [r.status, r.n]))
  }

  /** The next events in `statuses` matching `filter` after `after` that still have their payload, oldest first. */
  candidates(filter: EventFilter, statuses: EventStatus[], after: { receivedAt: Date; id: string } | undefined, limit: number): Promise<{ id: string; receivedAt: Date }[]> {
    const params: unknown[] = []
    let where = `${filterCondition(filter, params)} AND status::text = ANY($${params.push(statuses)}::text[]) AND payload_pruned_at IS NULL`
    if (after) where += ` AND (received_at, id) > ($${params.push(after.receivedAt)}, $${params.push(after.id)}::uuid)`
    return this.run(
      `SELECT id::text AS id, received_at AS "receivedAt" FROM hookline.hookline_events WHERE ${where}
        ORDER BY received_at, id LIMIT $${params.push(limit)}`,
      ...params,
    )
  }

  /**
   * Moves the events among `ids` still in one of `statuses` (and with their payload) back to `received` — a processed
   * (or skipped_stale) one as the next generation — due for the sweeper in `dueInMs`, and writes one audit row per event
   * with `options`, in one statement. The new run's attempts are numbered after every attempt row
   * the event has. The status is re-read under the row lock, so an event a worker finished
   * meanwhile is not replayed by mistake. Returns the changed events, oldest first.
   */
  requeue(ids: string[], statuses: EventStatus[], dueInMs: number, by: AuditedBy, options: object): Promise<{ id: string; generation: number }[]> {
    return this.run(
      `WITH old AS (
         SELECT id, status FROM hookline.hookline_events
          WHERE id = ANY($1::uuid[]) AND status::text = ANY($2::text[]) AND payload_pruned_at IS NULL
          FOR UPDATE
       ), ev AS (
         UPDATE hookline.hookline_events e
            SET status = 'received', attempts = 0, stale = false, updated_at = now(),
                earlier_attempts = (SELECT count(*) FROM hookline.hookline_attempts a WHERE a.event_id = e.id),
                generation = CASE WHEN old.status IN ('processed', 'skipped_stale') THEN e.generation + 1 ELSE e.generation END,
                processed_at = CASE WHEN old.status IN ('processed', 'skipped_stale') THEN NULL ELSE e.processed_at END
           FROM old WHERE e.id = old.id
          RETURNING e.id, e.generation, e.received_at, e.provider, e.entity_key
       ), due AS (
         -- an event that was finished comes back behind the events its entity has now
         INSERT INTO hookline.hookline_due_events (event_id, due_at, provider, entity_key)
         SELECT id, now() + $3 * interval '1 millisecond', CASE WHEN entity_key IS NOT NULL THEN provider END, entity_key FROM ev
         ON CONFLICT (event_id) DO UPDATE SET due_at = EXCLUDED.due_at, waiting = false
       ), aud AS (
         INSERT INTO hookline.hookline_audit_log (actor, action, event_id, filter, count, note)
         SELECT $4, 'replay', id, $5::jsonb, 1, $6 FROM ev
       )
       SELECT id::text AS id, generation FROM ev ORDER BY received_at, id`,
      ids,
      statuses,
      dueInMs,
      by.actor,
      JSON.stringify(options),
      by.note,
    )
  }

  /**
   * Closes the event as `ignored` with `by.note` when it is in one of `statuses`, and audits it, in
   * one statement. False when it was not (or does not exist).
   */
  async ignore(id: string, statuses: EventStatus[], by: AuditedBy): Promise<boolean> {
    const rows = await this.run(
      `WITH ev AS (
         UPDATE hookline.hookline_events SET status = 'ignored', note = $2, updated_at = now()
          WHERE id = $1::uuid AND status::text = ANY($3::text[])
          RETURNING id
       ), due AS (
         DELETE FROM hookline.hookline_due_events WHERE event_id IN (SELECT id FROM ev)
       ), aud AS (
         INSERT INTO hookline.hookline_audit_log (actor, action, event_id, count, note)
         SELECT $4, 'ignore', id, 1, $2 FROM ev
       )
       SELECT id::text FROM ev`,
      id,
      by.note,
      statuses,
      by.actor,
    )
    return rows.length > 0
  }
}

/**
 * @module Retention's statements: removing the payloads of old finished events (resuming where the
 * last pass stopped), removing old finished events themselves and old audit rows, each a small
 * batch per statement, and counting what a pass would remove.
 */
import { type Sql, sqlRunner, type SqlTarget } from './sql-runner.ts'

/** Statuses whose events retention may prune: finished, and not waiting for anyone. */
const FINISHED = `('processed', 'skipped_stale', 'ignored')`

/** What one batch did. */
export interface PruneBatch {
  /** Rows the batch looked at (the pass is over when fewer than its limit). */
  scanned: number
  /** Rows it changed or removed. */
  pruned: number
}

/**
 * Retention's side of Hookline's tables.
 *
 * @example
 * const batch = await new RetentionStore(pool).prunePayloads(30 * 86_400_000, 1000)
 */
export class RetentionStore {
  private readonly run: Sql

  constructor(db: SqlTarget, schema?: string) {
    this.run = sqlRunner(db, schema)
  }

  /**
   * Empties the payload, raw body and headers of finished events received more than `olderThanMs`
   * ago, in receipt order from where the last batch stopped: `limit` rows looked at per call.
   * Unfinished events in the range are passed over and keep their payloads.
   */
  async prunePayloads(olderThanMs: number, limit: number): Promise<PruneBatch> {
    const [row] = await this.run<PruneBatch>(
      `WITH cur AS (
         SELECT received_at, event_id FROM hookline.hookline_prune_cursors WHERE kind = 'payloads'
       ), batch AS (
         SELECT e.id, e.received_at FROM hookline.hookline_events e
          WHERE e.received_at < now() - $1 * interval '1 millisecond'
            AND e.received_at >= COALESCE((SELECT received_at FROM cur), '-infinity')
            AND (NOT EXISTS (SELECT 1 FROM cur) OR (e.received_at, e.id) > (SELECT received_at, event_id FROM cur))
          ORDER BY e.received_at, e.id LIMIT $2
       ), pruned AS (
         UPDATE hookline.hookline_events e SET payload = NULL, raw_body = NULL, headers = '{}', payload_pruned_at = now()
           FROM batch b
          WHERE e.id = b.id AND e.status IN ${FINISHED} AND e.payload_pruned_at IS NULL
         RETURNING e.id
       ), moved AS (
         INSERT INTO hookline.hookline_prune_cursors (kind, received_at, event_id)
         SELECT 'payloads', received_at, id FROM batch ORDER BY received_at DESC, id DESC LIMIT 1
         ON CONFLICT (kind) DO UPDATE SET received_at = EXCLUDED.received_at, event_id = EXCLUDED.event_id, updated_at = now()
       )
       SELECT (SELECT count(*) FROM batch)::int AS scanned, (SELECT count(*) FROM pruned)::int AS pruned`,
      olderThanMs,
      limit,
    )
    return row!
  }

  /** Deletes up to `limit` finished events received more than `olderThanMs` ago (their attempts and issue memberships with them). */
  async pruneEvents(olderThanMs: number, limit: number): Promise<PruneBatch> {
    const [row] = await this.run<PruneBatch>(
      `WITH batch AS (
         SELECT id FROM hookline.hookline_events
          WHERE received_at < now() - $1 * interval '1 millisecond' AND status IN ${FINISHED}
          ORDER BY received_at LIMIT $2
       ), gone AS (
         DELETE FROM hookline.hookline_events e USING batch b WHERE e.id = b.id RETURNING e.id
       ), attempts AS (
         -- no foreign key cascades: the event's attempts and issue memberships go with it here
         DELETE FROM hookline.hookline_attempts a USING gone g WHERE a.event_id = g.id
       ), memberships AS (
         DELETE FROM hookline.hookline_issue_events m USING gone g WHERE m.event_id = g.id
       )
       SELECT (SELECT count(*) FROM batch)::int AS scanned, (SELECT count(*) FROM gone)::int AS pruned`,
      olderThanMs,
      limit,
    )
    return row!
  }

  /** Deletes up to `limit` audit rows older than `olderThanMs`. */
  async pruneAudit(olderThanMs: number, limit: number): Promise<PruneBatch> {
    const [row] = await this.run<PruneBatch>(
      `WITH gone AS (
         DELETE FROM hookline.hookline_audit_log WHERE id IN (
           SELECT id FROM hookline.hookline_audit_log WHERE at < now() - $1 * interval '1 millisecond' ORDER BY at LIMIT $2)
         RETURNING id
       )
       SELECT count(*)::int AS scanned, count(*)::int AS pruned FROM gone`,
      olderThanMs,
      limit,
    )
    return row!
  }

  /** What a pass would remove now: payloads (from where the last pass stopped), events and audit rows. */
  async countDue(windows: { payloadsMs: number | null; eventsMs: number | null; auditMs: number | null }): Promise<{ payloads: number; events: number; audit: number }> {
    const [row] = await this.run<{ payloads: number; events: number; audit: number }>(
      `SELECT
         CASE WHEN $1::float8 IS NULL THEN 0 ELSE (
           SELECT count(*) FROM hookline.hookline_events e
            WHERE e.received_at < now() - $1 * interval '1 millisecond' AND e.status IN ${FINISHED} AND e.payload_pruned_at IS NULL
              AND e.received_at >= COALESCE((SELECT received_at FROM hookline.hookline_prune_cursors WHERE kind = 'payloads'), '-infinity')
              AND ($2::float8 IS NULL OR e.received_at >= now() - $2 * interval '1 millisecond')) END::int AS payloads,
         CASE WHEN $2::float8 IS NULL THEN 0 ELSE (
           SELECT count(*) FROM hookline.hookline_events WHERE received_at < now() - $2 * interval '1 millisecond' AND status IN ${FINISHED}) END::int AS events,
         CASE WHEN $3::float8 IS NULL THEN 0 ELSE (
           SELECT count(*) FROM hookline.hookline_audit_log WHERE at < now() - $3 * interval '1 millisecond') END::int AS audit`,
      windows.payloadsMs,
      windows.eventsMs,
      windows.auditMs,
    )
    return row!
  }
}

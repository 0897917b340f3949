/**
 * @module The worker's side of the inbox: claim events for an attempt (`hookline.hookline_attempts`), lock
 * them and their entities inside the handlers' transaction, and the writes that close an attempt.
 * The statements that take `tx` run in that transaction, which may be the application's own
 * Prisma client's.
 */
import type { HooklineEvent, TransactionClient } from '../handler.ts'
import { compareKeys, PAYLOAD_JSON } from './inbox.ts'
import { type Sql, sqlRunner, type SqlTarget } from './sql-runner.ts'

/** An event claimed for one attempt. */
export interface ClaimedEvent extends HooklineEvent {
  /** Number of this attempt (attempts so far, this one included). */
  attempt: number
  /** Id of this attempt's row in `hookline.hookline_attempts` (a bigint, as text). */
  attemptId: string
  /** When the event was first stored. */
  receivedAt: Date
}

/**
 * Opens, and closes, attempts at inbox events.
 *
 * @example
 * const attempts = new Attempts(pool)
 * const [event] = await attempts.claimMany([id], 60_000)
 */
export class Attempts {
  private readonly run: Sql

  /**
   * @param db Hookline's `pg` pool: where the statements that take no transaction run.
   * @param schema the schema of Hookline's tables.
   */
  constructor(db: SqlTarget, private readonly schema?: string) {
    this.run = sqlRunner(db, schema)
  }

  /**
   * Starts an attempt at each of `ids` in one statement: counts it, sets `processing` with a lease
   * (after which the sweeper may re-enqueue the event) and opens its attempt row — committed before
   * any handler runs, so that an attempt whose worker dies is still counted. Events that need no
   * attempt (finished, ignored, gone) are left out of the result.
   *
   * A due time already at least half a lease away is kept as it is (a first attempt soon after
   * ingest: its grace): no write to the work list. Should the sweeper re-enqueue an event still
   * running, its job id makes the add a no-op while the job exists, and a second attempt would
   * wait for the first one's row lock and find the event finished.
   */
  async claimMany(ids: readonly string[], leaseMs: number): Promise<ClaimedEvent[]> {
    if (ids.length === 0) return []
    const rows = await this.run<ClaimedEvent & { payloadJson: string; payload?: unknown }>(
      `WITH ev AS (
         UPDATE hookline.hookline_events
            SET status = 'processing', attempts = attempts + 1, updated_at = now()
          WHERE id IN (SELECT id FROM hookline.hookline_events WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE)
            AND status IN ('received', 'failed', 'processing')
          RETURNING id, provider, event_key, type, tenant, entity_key, occurred_at, received_at, source,
                    ${PAYLOAD_JSON} AS payload_json, generation, attempts
       ), lease AS (
         UPDATE hookline.hookline_due_events SET due_at = now() + $2 * interval '1 millisecond'
          WHERE event_id IN (SELECT id FROM ev) AND due_at < now() + $2 / 2 * interval '1 millisecond'
       ), crashed AS (
         -- an attempt still open at a new claim belonged to a worker that stopped mid-handler
         UPDATE hookline.hookline_attempts
            SET finished_at = now(), outcome = 'failed', error = 'the worker stopped during this attempt'
          WHERE event_id IN (SELECT id FROM ev) AND outcome IS NULL
       ), att AS (
         INSERT INTO hookline.hookline_attempts (event_id, n, generation)
         SELECT id, attempts, generation FROM ev RETURNING id, event_id
       )
       SELECT ev.id::text AS id, provider, event_key AS "eventKey", type, tenant, entity_key AS "entityKey",
              occurred_at AS "occurredAt", received_at AS "receivedAt", source::text AS source,
              payload_json AS "payloadJson", generation, attempts AS attempt, att.id::text AS "attemptId"
         FROM ev JOIN att ON att.event_id = ev.id`,
      ids,
      leaseMs,
    )
    for (const row of rows) {
      row.payload = JSON.parse(row.payloadJson)
      delete (row as { payloadJson?: string }).payloadJson
    }
    return rows
  }

  /**
   * Inside `tx`, in one round trip: locks the rows of `ids` (in id order) and returns their status
   * (a row that is gone is missing from the result); for those `processing` that have an entity,
   * also locks the entity's version row (creating it at the epoch if the entity is new; entities in
   * key order) for the rest of `tx` — so events of one entity run one at a time — and returns the
   * source time of the newest event applied to it.
   */
  async lockForProcessing(tx: TransactionClient, ids: readonly string[]): Promise<Map<string, { status: string; newestApplied: Date | null }>> {
    // MATERIALIZED keeps every event row lock ahead of the entity locks. An entity row is locked
    // by INSERT … ON CONFLICT DO UPDATE, which waits for a concurrent holder and then works on the
    // latest committed version even under READ COMMITTED: RETURNING gives the newest applied time
    // as the previous holder committed it, in the same statement (a plain read here would see the
    // snapshot taken before the wait). One global lock order (events by id, then entities by key)
    // keeps concurrent batches from deadlocking.
    const rows = await sqlRunner(tx, this.schema)<{ id: string; status: string; newestApplied: Date | null }>(
      `WITH ev AS MATERIALIZED (
         SELECT id, status, provider, entity_key FROM hookline.hookline_events WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE
       ), ver AS (
         INSERT INTO hookline.hookline_entity_versions AS v (provider, entity_key, occurred_at, event_id)
         SELECT DISTINCT ON (provider, entity_key) provider, entity_key, 'epoch'::timestamptz, id
           FROM ev WHERE status = 'processing' AND entity_key IS NOT NULL
          ORDER BY provider, entity_key
         ON CONFLICT (provider, entity_key) DO UPDATE SET occurred_at = v.occurred_at
         RETURNING v.provider, v.entity_key, v.occurred_at
       )
       SELECT ev.id::text AS id, ev.status::text AS status, ver.occurred_at AS "newestApplied"
         FROM ev LEFT JOIN ver ON ver.provider = ev.provider AND ver.entity_key = ev.entity_key`,
      ids,
    )
    return new Map(rows.map((row) => [row.id, row]))
  }

  /**
   * Inside `tx`: withdraws attempts that found their event already finished by a concurrent one
   * (possible only when BullMQ re-ran a job whose worker was still alive).
   */
  async discardAttempts(tx: TransactionClient, events: readonly ClaimedEvent[]): Promise<void> {
    if (events.length === 0) return
    await sqlRunner(tx, this.schema)(
      `WITH att AS (DELETE FROM hookline.hookline_attempts WHERE id = ANY($2::text[]::bigint[]))
       UPDATE hookline.hookline_events SET attempts = attempts - 1 WHERE id = ANY($1::uuid[])`,
      events.map((e) => e.id),
      events.map((e) => e.attemptId),
    )
  }

  /**
   * Inside `tx`, in one statement: marks the events processed, closes their attempts and records,
   * per entity, the newest source time of the non-stale events as its newest applied one (never
   * moving it backwards).
   */
  async markProcessed(tx: TransactionClient, done: readonly { event: ClaimedEvent; stale: boolean }[]): Promise<void> {
    if (done.length === 0) return
    // One statement cannot update an entity's row twice: keep each entity's newest applied event.
    const newest = new Map<string, ClaimedEvent>()
    for (const { event, stale } of done) {
      if (stale || event.entityKey === null || event.occurredAt === null) continue
      const key = `${event.provider}\u0000${event.entityKey}`
      const kept = newest.get(key)
      if (!kept || kept.occurredAt! <= event.occurredAt) newest.set(key, event)
    }
    const versions = [...newest.values()].sort((a, b) => compareKeys(a.provider, a.entityKey!, b.provider, b.entityKey!))
    await sqlRunner(tx, this.schema)(
      `WITH ev AS (
         UPDATE hookline.hookline_events AS e
            SET status = 'processed', processed_at = now(), updated_at = now(), last_error = NULL, stale = u.stale
           FROM unnest($1::uuid[], $2::boolean[]) AS u(id, stale)
          WHERE e.id = u.id
       ), due AS (
         DELETE FROM hookline.hookline_due_events WHERE event_id = ANY($1::uuid[])
       ), att AS (
         UPDATE hookline.hookline_attempts AS a
            SET finished_at = now(), outcome = u.outcome::hookline.hookline_attempt_outcome
           FROM unnest($3::text[], $4::text[]) AS u(id, outcome)
          WHERE a.id = u.id::bigint
       )
       INSERT INTO hookline.hookline_entity_versions AS v (provider, entity_key, occurred_at, event_id, updated_at)
       SELECT u.pv, u.k, u.o::timestamptz, u.id::uuid, now()
         FROM unnest($5::text[], $6::text[], $7::text[], $8::text[]) WITH ORDINALITY AS u(pv, k, o, id, ord)
        ORDER BY u.ord
       ON CONFLICT (provider, entity_key) DO UPDATE
         SET occurred_at = EXCLUDED.occurred_at, event_id = EXCLUDED.event_id, updated_at = now()
         WHERE v.occurred_at <= EXCLUDED.occurred_at`,
      done.map((d) => d.event.id),
      done.map((d) => d.stale),
      done.map((d) => d.event.attemptId),
      done.map((d) => (d.stale ? 'stale' : 'succeeded')),
      versions.map((e) => e.provider),
      versions.map((e) => e.entityKey),
      versions.map((e) => e.occurredAt!.toISOString()),
      versions.map((e) => e.id),
    )
  }

  /**
   * Records a failed attempt: `failed` with the time after which the sweeper may re-enqueue it, or
   * `dead`. Does nothing when the event is no longer `processing` (another attempt finished it).
   * Returns whether the row was updated.
   */
  async recordFailure(
    event: ClaimedEvent,
    outcome: 'failed' | 'dead',
    error: { message: string; stack: string | null },
    retryDueInMs: number,
  ): Promise<boolean> {
    const rows = await this.run<{ id: string }>(
      `WITH ev AS (
         UPDATE hookline.hookline_events
            SET status = $2::hookline.hookline_event_status, last_error = $3, updated_at = now()
          WHERE id = $1::uuid AND status = 'processing'
          RETURNING id
       ), due AS (
         UPDATE hookline.hookline_due_events
            SET due_at = CASE WHEN $2::text = 'dead' THEN NULL ELSE now() + $4 * interval '1 millisecond' END
          WHERE event_id IN (SELECT id FROM ev)
       ), att AS (
         UPDATE hookline.hookline_attempts
            SET finished_at = now(), outcome = $2::text::hookline.hookline_attempt_outcome, error = $3, stack = $5
          WHERE id = $6::bigint
       )
       SELECT id::text FROM ev`,
      event.id,
      outcome,
      error.message,
      retryDueInMs,
      error.stack,
      event.attemptId,
    )
    return rows.length > 0
  }

}

/**
 * @module The worker's side of the inbox: claim events for an attempt (`hookline.hookline_attempts`), lock
 * them and their entities inside the handlers' transaction, and the writes that close an attempt.
 * The statements that take `tx` run in that transaction, which may be the application's own
 * Prisma client's.
 */
import type { HooklineEvent, TransactionClient } from '../handler.ts'
import type { FailureFingerprint } from '../support/failure-fingerprint.ts'
import { compareKeys, PAYLOAD_JSON } from './inbox.ts'
import { ISSUE_CHANGE_KIND, type IssueChange, issueUpsert } from './issues.ts'
import { type ConnectionPool, inPoolTransaction } from './pool-transaction.ts'
import { type Sql, sqlRunner } from './sql-runner.ts'

/** An event claimed for one attempt. */
export interface ClaimedEvent extends HooklineEvent {
  /** Number of this attempt within its run (attempts so far, this one included): what the retry policy counts. */
  attempt: number
  /** Attempts of the event's earlier runs: this attempt's row is numbered `earlierAttempts + attempt`. */
  earlierAttempts: number
  /** Id of this attempt's row in `hookline.hookline_attempts` (a bigint, as text). */
  attemptId: string
  /** When the event was first stored. */
  receivedAt: Date
}

/** An event's row as its attempt's transaction locked it. */
export interface LockedEvent {
  status: string
  /** Source time of the newest event applied to the entity (null without an entity). */
  newestApplied: Date | null
  /** Its number in arrival order (null without a row in the work list). */
  seq: bigint | null
  /**
   * When the nearest earlier event of its entity that must finish first is due; null when there
   * is none. Such an event is unfinished, stored before this one, not newer by source time, and
   * not one of this transaction's own.
   */
  blockedUntil: Date | null
}

/** An event that waited for an earlier one of its entity and may run now: its id, and which wait it ends. */
export interface WakeUp {
  id: string
  waits: number
}

/** When the nearest event that event `e` (row `d` in the work list) must follow is due; `$1` are ids not counted. */
const NEAREST_BLOCKER = `SELECT p.due_at FROM hookline.hookline_due_events p JOIN hookline.hookline_events pe ON pe.id = p.event_id
   WHERE p.provider = e.provider AND p.entity_key = e.entity_key AND p.seq < d.seq AND p.due_at IS NOT NULL
     AND p.event_id <> ALL($1::uuid[]) AND NOT coalesce(pe.occurred_at > e.occurred_at, false)
   ORDER BY p.seq DESC LIMIT 1`

/**
 * The waiting events of the entities (`pv`, `k`: array parameters) that nothing keeps waiting any
 * more once the events `finished` (a uuid[] expression) are, set running again and returned: among
 * each entity's first waiting events (a bounded number; the sweeper takes any other when its time
 * is due), those with no unfinished earlier event to follow.
 */
function wakeStatement(finished: string, pv: string, k: string): string {
  return `UPDATE hookline.hookline_due_events AS w SET waiting = false
     WHERE w.event_id IN (
       SELECT c.event_id FROM unnest(${pv}::text[], ${k}::text[]) AS x(pv, k)
        CROSS JOIN LATERAL (
          SELECT c.event_id, c.seq FROM hookline.hookline_due_events c
           WHERE c.provider = x.pv AND c.entity_key = x.k AND c.waiting AND c.event_id <> ALL(${finished})
           ORDER BY c.seq LIMIT 64) c
        JOIN hookline.hookline_events ce ON ce.id = c.event_id
       WHERE NOT EXISTS (
         SELECT 1 FROM hookline.hookline_due_events p JOIN hookline.hookline_events pe ON pe.id = p.event_id
          WHERE p.provider = x.pv AND p.entity_key = x.k AND p.seq < c.seq AND p.due_at IS NOT NULL
            AND p.event_id <> ALL(${finished}) AND NOT coalesce(pe.occurred_at > ce.occurred_at, false)))
     RETURNING w.event_id::text AS id, w.waits`
}

/** The distinct entities of `events`, in key order (the order their rows are locked in). */
function entitiesOf(events: readonly ClaimedEvent[]): { provider: string; entityKey: string }[] {
  const entities = new Map<string, { provider: string; entityKey: string }>()
  for (const { provider, entityKey } of events) if (entityKey !== null) entities.set(`${provider}\u0000${entityKey}`, { provider, entityKey })
  return [...entities.values()].sort((a, b) => compareKeys(a.provider, a.entityKey, b.provider, b.entityKey))
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
   * @param pool Hookline's `pg` pool: where the statements that take no transaction run.
   * @param schema the schema of Hookline's tables.
   */
  constructor(
    private readonly pool: ConnectionPool,
    private readonly schema?: string,
  ) {
    this.run = sqlRunner(pool, schema)
  }

  /**
   * Starts an attempt at each of `ids` in one statement: counts it, sets `processing` with a lease
   * (after which the sweeper may re-enqueue the event) and opens its attempt row — committed before
   * any handler runs, so that an attempt whose worker dies is still counted. The attempt row is
   * numbered after the attempts of the event's earlier runs (numbers continue across replays).
   * Events that need no attempt (finished, ignored, gone) are left out of the result.
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
                    ${PAYLOAD_JSON} AS payload_json, generation, attempts, earlier_attempts
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
         SELECT id, earlier_attempts + attempts, generation FROM ev RETURNING id, event_id
       )
       SELECT ev.id::text AS id, provider, event_key AS "eventKey", type, tenant, entity_key AS "entityKey",
              occurred_at AS "occurredAt", received_at AS "receivedAt", source::text AS source,
              payload_json AS "payloadJson", generation, attempts AS attempt,
              earlier_attempts AS "earlierAttempts", att.id::text AS "attemptId"
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
   * Inside `tx`: locks the rows of `ids` (in id order) and returns their status (a row that is
   * gone is missing from the result); for those `processing` that have an entity, also locks the
   * entity's version row (creating it at the epoch if the entity is new; entities in key order) for
   * the rest of `tx` — so events of one entity run one at a time — and returns the source time of
   * the newest event applied to it, and what the event must wait for (see {@link LockedEvent}).
   * One round trip, and a second only when some event seems to have to wait.
   */
  async lockForProcessing(tx: TransactionClient, ids: readonly string[]): Promise<Map<string, LockedEvent>> {
    const run = sqlRunner(tx, this.schema)
    // MATERIALIZED keeps every event row lock ahead of the entity locks. An entity row is locked
    // by INSERT … ON CONFLICT DO UPDATE, which waits for a concurrent holder and then works on the
    // latest committed version even under READ COMMITTED: RETURNING gives the newest applied time
    // as the previous holder committed it, in the same statement (a plain read here would see the
    // snapshot taken before the wait). One global lock order (events by id, then entities by key)
    // keeps concurrent batches from deadlocking.
    const rows = await run<{ id: string; status: string; newestApplied: Date | null; seq: string | null; blockedUntil: Date | null }>(
      `WITH ev AS MATERIALIZED (
         SELECT id, status, provider, entity_key, occurred_at FROM hookline.hookline_events WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE
       ), ver AS (
         INSERT INTO hookline.hookline_entity_versions AS v (provider, entity_key, occurred_at, event_id)
         SELECT DISTINCT ON (provider, entity_key) provider, entity_key, 'epoch'::timestamptz, id
           FROM ev WHERE status = 'processing' AND entity_key IS NOT NULL
          ORDER BY provider, entity_key
         ON CONFLICT (provider, entity_key) DO UPDATE SET occurred_at = v.occurred_at
         RETURNING v.provider, v.entity_key, v.occurred_at
       )
       SELECT e.id::text AS id, e.status::text AS status, ver.occurred_at AS "newestApplied", d.seq::text AS seq,
              CASE WHEN e.status = 'processing' AND e.entity_key IS NOT NULL THEN (${NEAREST_BLOCKER}) END AS "blockedUntil"
         FROM ev e LEFT JOIN ver ON ver.provider = e.provider AND ver.entity_key = e.entity_key
         LEFT JOIN hookline.hookline_due_events d ON d.event_id = e.id`,
      ids,
    )
    const locked = new Map(rows.map((row) => [row.id, { ...row, seq: row.seq === null ? null : BigInt(row.seq) }]))
    // The statement read the work list as it was before it waited for the entity locks: an event
    // that seems to have to wait may only have waited for a holder that finished it. Read again.
    const waiting = rows.filter((row) => row.blockedUntil !== null).map((row) => row.id)
    if (waiting.length === 0) return locked
    const still = new Map(
      (
        await run<{ id: string; blockedUntil: Date | null }>(
          `SELECT d.event_id::text AS id, (${NEAREST_BLOCKER}) AS "blockedUntil"
             FROM hookline.hookline_due_events d JOIN hookline.hookline_events e ON e.id = d.event_id
            WHERE d.event_id = ANY($2::uuid[])`,
          ids,
          waiting,
        )
      ).map((row) => [row.id, row.blockedUntil]),
    )
    for (const id of waiting) locked.get(id)!.blockedUntil = still.get(id) ?? null
    return locked
  }

  /**
   * Inside `tx`: withdraws the attempts of events that must wait for an earlier event of their
   * entity (their status and attempt count are as before the claim) and sets them waiting, due
   * a lease after what they wait for (the sweeper's fallback should no wake-up come).
   */
  async deferAttempts(tx: TransactionClient, waiting: readonly { event: ClaimedEvent; until: Date | null }[], leaseMs: number): Promise<void> {
    if (waiting.length === 0) return
    await sqlRunner(tx, this.schema)(
      `WITH att AS (
         DELETE FROM hookline.hookline_attempts WHERE id = ANY($2::text[]::bigint[])
       ), ev AS (
         UPDATE hookline.hookline_events
            SET attempts = attempts - 1, updated_at = now(),
                status = CASE WHEN attempts > 1 THEN 'failed' ELSE 'received' END::hookline.hookline_event_status
          WHERE id = ANY($1::uuid[])
       )
       UPDATE hookline.hookline_due_events AS d
          SET waiting = true, waits = d.waits + 1, due_at = greatest(now(), u.until) + $4 * interval '1 millisecond'
         FROM unnest($1::uuid[], $3::timestamptz[]) AS u(id, until)
        WHERE d.event_id = u.id`,
      waiting.map((w) => w.event.id),
      waiting.map((w) => w.event.attemptId),
      waiting.map((w) => w.until),
      leaseMs,
    )
  }

  /**
   * Puts events back without spending their attempts (a paused scope, an open circuit breaker):
   * deletes their attempt rows, restores status and count as before the claim, and makes each due
   * at its `until` (the sweeper's fallback should its wake-up be lost). `error`, when given, is the
   * failure that opened the breaker, kept as the event's last error. Returns each held event with
   * its new `waits` (what names its wake-up job).
   */
  async holdAttempts(held: readonly { event: ClaimedEvent; until: Date; error?: string | undefined }[]): Promise<WakeUp[]> {
    if (held.length === 0) return []
    return this.run<WakeUp>(
      `WITH att AS (
         DELETE FROM hookline.hookline_attempts WHERE id = ANY($2::text[]::bigint[])
       ), ev AS (
         UPDATE hookline.hookline_events AS e
            SET attempts = e.attempts - 1, updated_at = now(), last_error = coalesce(u.error, e.last_error),
                status = CASE WHEN e.attempts > 1 THEN 'failed' ELSE 'received' END::hookline.hookline_event_status
           FROM unnest($1::uuid[], $4::text[]) AS u(id, error)
          WHERE e.id = u.id AND e.status = 'processing'
       )
       UPDATE hookline.hookline_due_events AS d
          SET waiting = false, waits = d.waits + 1, due_at = u.until
         FROM unnest($1::uuid[], $3::timestamptz[]) AS u(id, until)
        WHERE d.event_id = u.id
       RETURNING d.event_id::text AS id, d.waits`,
      held.map((h) => h.event.id),
      held.map((h) => h.event.attemptId),
      held.map((h) => h.until),
      held.map((h) => h.error ?? null),
    )
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
   * Inside `tx`, in one statement: marks the events processed (`skipped_stale` when `skipped`: stale,
   * and its handler not run), closes their attempts, records,
   * per entity, the newest source time of the non-stale events as its newest applied one (never
   * moving it backwards), and returns the waiting events of their entities that may run now.
   */
  async markProcessed(tx: TransactionClient, done: readonly { event: ClaimedEvent; stale: boolean; skipped: boolean }[]): Promise<WakeUp[]> {
    if (done.length === 0) return []
    // One statement cannot update an entity's row twice: keep each entity's newest applied event.
    const newest = new Map<string, ClaimedEvent>()
    for (const { event, stale } of done) {
      if (stale || event.entityKey === null || event.occurredAt === null) continue
      const key = `${event.provider}\u0000${event.entityKey}`
      const kept = newest.get(key)
      if (!kept || kept.occurredAt! <= event.occurredAt) newest.set(key, event)
    }
    const versions = [...newest.values()].sort((a, b) => compareKeys(a.provider, a.entityKey!, b.provider, b.entityKey!))
    const entities = entitiesOf(done.map((d) => d.event))
    return sqlRunner(tx, this.schema)<WakeUp>(
      `WITH ev AS (
         UPDATE hookline.hookline_events AS e
            SET status = CASE WHEN u.skipped THEN 'skipped_stale' ELSE 'processed' END::hookline.hookline_event_status,
                processed_at = now(), updated_at = now(), last_error = NULL, stale = u.stale
           FROM unnest($1::uuid[], $2::boolean[], $11::boolean[]) AS u(id, stale, skipped)
          WHERE e.id = u.id
       ), due AS (
         DELETE FROM hookline.hookline_due_events WHERE event_id = ANY($1::uuid[])
       ), att AS (
         UPDATE hookline.hookline_attempts AS a
            SET finished_at = now(), outcome = u.outcome::hookline.hookline_attempt_outcome
           FROM unnest($3::text[], $4::text[]) AS u(id, outcome)
          WHERE a.id = u.id::bigint
       ), ver AS (
         INSERT INTO hookline.hookline_entity_versions AS v (provider, entity_key, occurred_at, event_id, updated_at)
         SELECT u.pv, u.k, u.o::timestamptz, u.id::uuid, now()
           FROM unnest($5::text[], $6::text[], $7::text[], $8::text[]) WITH ORDINALITY AS u(pv, k, o, id, ord)
          ORDER BY u.ord
         ON CONFLICT (provider, entity_key) DO UPDATE
           SET occurred_at = EXCLUDED.occurred_at, event_id = EXCLUDED.event_id, updated_at = now()
           WHERE v.occurred_at <= EXCLUDED.occurred_at
       ), wake AS (
         ${wakeStatement('$1::uuid[]', '$9', '$10')}
       )
       SELECT id, waits FROM wake`,
      done.map((d) => d.event.id),
      done.map((d) => d.stale),
      done.map((d) => d.event.attemptId),
      done.map((d) => (d.stale ? 'stale' : 'succeeded')),
      versions.map((e) => e.provider),
      versions.map((e) => e.entityKey),
      versions.map((e) => e.occurredAt!.toISOString()),
      versions.map((e) => e.id),
      entities.map((e) => e.provider),
      entities.map((e) => e.entityKey),
      done.map((d) => d.skipped),
    )
  }

  /**
   * Counts in its issue a failure whose attempt a circuit breaker withdrew (see
   * {@link holdAttempts}): the failure that opened the breaker, a failed probe, or a failure in a
   * shared transaction that rolled back. The issue then names the event, and alerting learns of a
   * new issue, although no attempt row keeps the failure.
   */
  async recordHeldFailure(event: ClaimedEvent, failure: FailureFingerprint): Promise<IssueChange> {
    const [row] = await this.run<{ kind: string }>(
      `WITH held AS (SELECT 1), ${issueUpsert({ from: 'held', event: '$1', fingerprint: '$2', route: '$3', errorClass: '$4', message: '$5' })}
       SELECT ${ISSUE_CHANGE_KIND} AS kind FROM iss`,
      event.id,
      failure.fingerprint,
      failure.route,
      failure.errorClass,
      failure.message,
    )
    return row?.kind === 'new' || row?.kind === 'reopened' ? row.kind : null
  }

  /**
   * How long ago the first attempt of the event's current run started (by the database's clock,
   * which every worker shares), in milliseconds: what the retry window is counted from, so that a
   * replayed dead event gets the whole window again.
   */
  async firstAttemptAgeMs(event: ClaimedEvent): Promise<number> {
    const [row] = await this.run<{ ageMs: number }>(
      `SELECT (extract(epoch FROM now() - min(started_at)) * 1000)::float8 AS "ageMs"
         FROM hookline.hookline_attempts WHERE event_id = $1::uuid AND generation = $2 AND n > $3`,
      event.id,
      event.generation,
      event.earlierAttempts,
    )
    return row?.ageMs ?? 0
  }

  /**
   * Records a failed attempt: `failed` with the time after which the sweeper may re-enqueue it, or
   * `dead`. Does nothing to the event when it is no longer `processing` (another attempt finished
   * it). In the same statement the attempt gets its fingerprint and the failure is counted in its
   * issue (see `store/issues.ts`), which it opens, or reopens when support had resolved it.
   * Returns whether the event row was updated, what the failure did to its issue and, for a dead
   * event, the waiting events of its entity that may run now: it holds the entity's lock
   * meanwhile, so that an event set waiting for it concurrently is seen (a dead event keeps no
   * one waiting).
   */
  async recordFailure(
    event: ClaimedEvent,
    outcome: 'failed' | 'dead',
    error: { message: string; stack: string | null },
    retryDueInMs: number,
    failure: FailureFingerprint,
  ): Promise<{ recorded: boolean; wake: WakeUp[]; issue: IssueChange }> {
    const values = [event.id, outcome, error.message, retryDueInMs, error.stack, event.attemptId, failure.fingerprint, failure.route, failure.errorClass, failure.message]
    const update = `WITH ev AS (
         UPDATE hookline.hookline_events
            SET status = $2::hookline.hookline_event_status, last_error = $3, updated_at = now()
          WHERE id = $1::uuid AND status = 'processing'
          RETURNING id
       ), due AS (
         UPDATE hookline.hookline_due_events
            SET due_at = CASE WHEN $2::text = 'dead' THEN NULL ELSE now() + $4 * interval '1 millisecond' END, waiting = false
          WHERE event_id IN (SELECT id FROM ev)
       ), att AS (
         UPDATE hookline.hookline_attempts
            SET finished_at = now(), outcome = $2::text::hookline.hookline_attempt_outcome, error = $3, stack = $5, fingerprint = $7
          WHERE id = $6::bigint
          RETURNING id
       ), ${issueUpsert({ from: 'att', event: '$1', fingerprint: '$7', route: '$8', errorClass: '$9', message: '$10' })}`
    const kinds = `SELECT 'event' AS kind, id::text AS id, 0 AS waits FROM ev
       UNION ALL SELECT ${ISSUE_CHANGE_KIND}, NULL, 0 FROM iss`
    const result = (rows: { kind: string; id: string | null; waits: number }[]) => ({
      recorded: rows.some((row) => row.kind === 'event'),
      wake: rows.filter((row) => row.kind === 'wake').map(({ id, waits }) => ({ id: id!, waits })),
      issue: (rows.find((row) => row.kind === 'new' || row.kind === 'reopened')?.kind ?? null) as IssueChange,
    })
    if (outcome === 'failed' || event.entityKey === null) return result(await this.run(`${update} ${kinds}`, ...values))
    return inPoolTransaction(this.pool, async (connection) => {
      const run = sqlRunner(connection, this.schema)
      await run(
        `INSERT INTO hookline.hookline_entity_versions AS v (provider, entity_key, occurred_at, event_id)
         VALUES ($1, $2, 'epoch', $3::uuid)
         ON CONFLICT (provider, entity_key) DO UPDATE SET occurred_at = v.occurred_at`,
        event.provider,
        event.entityKey,
        event.id,
      )
      const rows = await run<{ kind: string; id: string | null; waits: number }>(
        `${update}, wake AS (
           ${wakeStatement('ARRAY[$1::uuid]', '$11', '$12')}
         )
         ${kinds} UNION ALL SELECT 'wake', id, waits FROM wake`,
        ...values,
        [event.provider],
        [event.entityKey],
      )
      return result(rows)
    })
  }
}

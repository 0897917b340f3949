/**
 * @module The durable inbox in PostgreSQL: insert-or-count on the dedupe key, claim an event for an
 * attempt, and the writes that close an attempt. Raw SQL over any Prisma client, so that the
 * transactional part also runs on an application's own client.
 */
import type { ParsedEvent } from './adapter.ts'
import type { EventSource, HooklineEvent, TransactionClient } from './handler.ts'

/** The part of a Prisma client the inbox uses (satisfied by every generated PrismaClient). */
export interface SqlClient extends TransactionClient {
  $transaction<R>(fn: (tx: never) => Promise<R>, options?: { maxWait?: number; timeout?: number }): Promise<R>
}

/** Outcome of storing one delivery. */
export interface InsertResult {
  id: string
  /** False when the provider identity was already in the inbox (the delivery was counted). */
  inserted: boolean
  status: string
}

/** What is stored beside the parsed event. */
export interface DeliveryMeta {
  source: EventSource
  headers: Record<string, string>
  rawBody: Buffer | null
}

/** One distinct provider identity of a batch, with how many deliveries of it the batch holds. */
export interface BatchDelivery {
  provider: string
  event: ParsedEvent
  meta: DeliveryMeta
  /** Deliveries of this identity in the batch (at least 1). */
  count: number
}

/** Outcome of one distinct identity of a batch. */
export interface BatchInsertResult extends InsertResult {
  provider: string
  eventKey: string
}

/** A total order of (provider, event key) that every batch shares (which order matters less than agreeing). */
function compareKeys(providerA: string, keyA: string, providerB: string, keyB: string): number {
  if (providerA !== providerB) return providerA < providerB ? -1 : 1
  return keyA < keyB ? -1 : keyA > keyB ? 1 : 0
}

/** An event claimed for one attempt. */
export interface ClaimedEvent extends HooklineEvent {
  /** Number of this attempt (attempts so far, this one included). */
  attempt: number
  /** Id of this attempt's row in `hookline_attempts`. */
  attemptId: bigint
  /** When the event was first stored. */
  receivedAt: Date
}

interface EventRow {
  id: string
  provider: string
  event_key: string
  type: string
  tenant: string | null
  entity_key: string | null
  occurred_at: Date | null
  received_at: Date
  source: EventSource
  payload: unknown
  generation: number
  attempts: number
  attempt_id: bigint
}

/**
 * Reads and writes `hookline_events` and `hookline_attempts`.
 *
 * @example
 * const inbox = new Inbox(prisma)
 * const [row] = await inbox.insertMany([{ provider: 'stripe', event: parsed, meta: { source: 'webhook', headers, rawBody }, count: 1 }], 60_000)
 */
export class Inbox {
  constructor(private readonly db: SqlClient) {}

  /**
   * Stores many deliveries in one statement (one commit). Each distinct provider identity is
   * inserted; one already in the inbox is, with `onConflict: 'count'` (webhooks), counted with
   * `count` more deliveries — every identity then returns a row, in no particular order — or, with
   * `'skip'` (reconciliation, which is not a delivery), left untouched and not returned.
   */
  async insertMany(deliveries: readonly BatchDelivery[], graceMs: number, onConflict: 'count' | 'skip' = 'count'): Promise<BatchInsertResult[]> {
    if (deliveries.length === 0) return []
    // One statement cannot touch a row twice (ON CONFLICT DO UPDATE), hence distinct identities
    // when counting; and concurrent batches lock their rows in one global order, hence sorted: no
    // deadlocks.
    const rows = [...deliveries].sort((a, b) => compareKeys(a.provider, a.event.eventKey, b.provider, b.event.eventKey))
    return this.db.$queryRawUnsafe<BatchInsertResult[]>(
      `INSERT INTO hookline_events
         (provider, event_key, type, tenant, entity_key, occurred_at, source, headers, raw_body, payload,
          status, processed_at, next_attempt_at, deliveries)
       SELECT u.pv, u.k, u.t, u.tn, u.e, u.o::timestamptz, u.src::hookline_event_source, u.h::jsonb,
              decode(u.b, 'base64'), u.p::jsonb,
              CASE WHEN u.r THEN 'processed' ELSE 'received' END::hookline_event_status,
              CASE WHEN u.r THEN now() END, now() + $1 * interval '1 millisecond', u.n
         FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
                     $10::text[], $11::text[], $12::boolean[], $13::int[])
              WITH ORDINALITY AS u(pv, k, t, tn, e, o, src, h, b, p, r, n, ord)
        ORDER BY u.ord
       ON CONFLICT (provider, event_key) DO ${onConflict === 'count'
         ? 'UPDATE SET deliveries = hookline_events.deliveries + EXCLUDED.deliveries, last_delivered_at = now()'
         : 'NOTHING'}
       RETURNING id::text, provider, event_key AS "eventKey", (xmax = 0) AS inserted, status::text`,
      graceMs,
      rows.map((d) => d.provider),
      rows.map((d) => d.event.eventKey),
      rows.map((d) => d.event.type),
      rows.map((d) => d.event.tenant),
      rows.map((d) => d.event.entityKey),
      rows.map((d) => d.event.occurredAt?.toISOString() ?? null),
      rows.map((d) => d.meta.source),
      rows.map((d) => JSON.stringify(d.meta.headers)),
      // Text, not bytea[]: an array of byte strings is not a parameter type every driver maps.
      rows.map((d) => d.meta.rawBody?.toString('base64') ?? null),
      rows.map((d) => JSON.stringify(d.event.payload)),
      rows.map((d) => d.event.recordOnly === true),
      rows.map((d) => d.count),
    )
  }

  /** The subset of `eventKeys` the inbox holds for `provider`. */
  async knownKeys(provider: string, eventKeys: readonly string[]): Promise<Set<string>> {
    if (eventKeys.length === 0) return new Set()
    const rows = await this.db.$queryRawUnsafe<{ k: string }[]>(
      `SELECT event_key AS k FROM hookline_events WHERE provider = $1 AND event_key = ANY($2::text[])`,
      provider,
      eventKeys,
    )
    return new Set(rows.map((r) => r.k))
  }

  /** Makes a stored event due for the sweeper at once (its enqueue failed). */
  async markDue(id: string): Promise<void> {
    await this.db.$executeRawUnsafe(`UPDATE hookline_events SET next_attempt_at = now() WHERE id = $1::uuid`, id)
  }

  /**
   * Starts an attempt: counts it, sets `processing` with a lease (after which the sweeper may
   * re-enqueue the event) and opens its attempt row — committed before the handler runs, so that an
   * attempt whose worker dies is still counted. Null when the event needs no attempt.
   */
  async claim(id: string, leaseMs: number): Promise<ClaimedEvent | null> {
    const rows = await this.db.$queryRawUnsafe<EventRow[]>(
      `WITH ev AS (
         UPDATE hookline_events
            SET status = 'processing', attempts = attempts + 1, updated_at = now(),
                next_attempt_at = now() + $2 * interval '1 millisecond'
          WHERE id = $1::uuid AND status IN ('received', 'failed', 'processing')
          RETURNING id, provider, event_key, type, tenant, entity_key, occurred_at, received_at, source,
                    payload, generation, attempts
       ), crashed AS (
         -- an attempt still open at a new claim belonged to a worker that stopped mid-handler
         UPDATE hookline_attempts
            SET finished_at = now(), outcome = 'failed', error = 'the worker stopped during this attempt'
          WHERE event_id = (SELECT id FROM ev) AND outcome IS NULL
       ), att AS (
         INSERT INTO hookline_attempts (event_id, n, generation)
         SELECT id, attempts, generation FROM ev RETURNING id
       )
       SELECT ev.id::text AS id, provider, event_key, type, tenant, entity_key, occurred_at,
              received_at, source::text AS source, payload, generation, attempts, att.id AS attempt_id
         FROM ev, att`,
      id,
      leaseMs,
    )
    const row = rows[0]
    if (!row) return null
    return {
      id: row.id,
      provider: row.provider,
      eventKey: row.event_key,
      type: row.type,
      tenant: row.tenant,
      entityKey: row.entity_key,
      occurredAt: row.occurred_at,
      source: row.source,
      payload: row.payload,
      generation: row.generation,
      attempt: row.attempts,
      attemptId: row.attempt_id,
      receivedAt: row.received_at,
    }
  }

  /**
   * Inside `tx`, in one round trip: locks the event row and returns its status (null when the row
   * is gone); when the row is `processing` and has an entity, also locks the entity's version row
   * (creating it at the epoch if the entity is new) for the rest of `tx` — so events of one entity
   * run one at a time — and returns the source time of the newest event applied to it.
   */
  async lockForProcessing(tx: TransactionClient, id: string): Promise<{ status: string; newestApplied: Date | null } | null> {
    // MATERIALIZED keeps the event row lock ahead of the entity lock, in the order the worker
    // always used. The entity row is locked by INSERT … ON CONFLICT DO UPDATE, which waits for a
    // concurrent holder and then works on the latest committed version even under READ COMMITTED:
    // RETURNING gives the newest applied time as the previous holder committed it, in the same
    // statement (a plain read here would see the snapshot taken before the wait).
    const rows = await tx.$queryRawUnsafe<{ status: string; newest: Date | null }[]>(
      `WITH ev AS MATERIALIZED (
         SELECT id, status, provider, entity_key FROM hookline_events WHERE id = $1::uuid FOR UPDATE
       ), ver AS (
         INSERT INTO hookline_entity_versions AS v (provider, entity_key, occurred_at, event_id)
         SELECT provider, entity_key, 'epoch', id FROM ev WHERE status = 'processing' AND entity_key IS NOT NULL
         ON CONFLICT (provider, entity_key) DO UPDATE SET occurred_at = v.occurred_at
         RETURNING v.occurred_at
       )
       SELECT ev.status::text AS status, (SELECT occurred_at FROM ver) AS newest FROM ev`,
      id,
    )
    const row = rows[0]
    return row ? { status: row.status, newestApplied: row.newest } : null
  }

  /**
   * Inside `tx`: withdraws an attempt that found its event already finished by a concurrent one
   * (possible only when BullMQ re-ran a job whose worker was still alive).
   */
  async discardAttempt(tx: TransactionClient, event: ClaimedEvent): Promise<void> {
    await tx.$executeRawUnsafe(
      `WITH att AS (DELETE FROM hookline_attempts WHERE id = $2)
       UPDATE hookline_events SET attempts = attempts - 1 WHERE id = $1::uuid`,
      event.id,
      event.attemptId,
    )
  }

  /**
   * Inside `tx`: marks the event processed, closes its attempt and, unless it was stale, records it
   * as the newest applied event of its entity.
   */
  async markProcessed(tx: TransactionClient, event: ClaimedEvent, stale: boolean): Promise<void> {
    await tx.$executeRawUnsafe(
      `WITH ev AS (
         UPDATE hookline_events
            SET status = 'processed', processed_at = now(), updated_at = now(), last_error = NULL, stale = $3
          WHERE id = $1::uuid
          RETURNING id
       ), att AS (
         UPDATE hookline_attempts SET finished_at = now(), outcome = $4::hookline_attempt_outcome WHERE id = $2
       ), ver AS (
         INSERT INTO hookline_entity_versions AS v (provider, entity_key, occurred_at, event_id, updated_at)
         SELECT $5, $6, $7, $1::uuid, now() WHERE $6::text IS NOT NULL AND $7::timestamptz IS NOT NULL AND NOT $3
         ON CONFLICT (provider, entity_key) DO UPDATE
           SET occurred_at = EXCLUDED.occurred_at, event_id = EXCLUDED.event_id, updated_at = now()
           WHERE v.occurred_at <= EXCLUDED.occurred_at
       )
       SELECT 1 FROM ev`,
      event.id,
      event.attemptId,
      stale,
      stale ? 'stale' : 'succeeded',
      event.provider,
      event.entityKey,
      event.occurredAt,
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
    const rows = await this.db.$queryRawUnsafe<{ id: string }[]>(
      `WITH ev AS (
         UPDATE hookline_events
            SET status = $2::hookline_event_status, last_error = $3, updated_at = now(),
                next_attempt_at = now() + $4 * interval '1 millisecond'
          WHERE id = $1::uuid AND status = 'processing'
          RETURNING id
       ), att AS (
         UPDATE hookline_attempts
            SET finished_at = now(), outcome = $2::text::hookline_attempt_outcome, error = $3, stack = $5
          WHERE id = $6
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

  /**
   * Ids of unfinished events past their due time (Redis lost their job, or a worker died), oldest
   * first; their due time moves `graceMs` on so that the next pass does not pick them again at once.
   */
  async takeOverdue(limit: number, graceMs: number): Promise<string[]> {
    const rows = await this.db.$queryRawUnsafe<{ id: string }[]>(
      `UPDATE hookline_events SET next_attempt_at = now() + $2 * interval '1 millisecond'
        WHERE id IN (SELECT id FROM hookline_events
                      WHERE status IN ('received', 'failed', 'processing') AND next_attempt_at <= now()
                      ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
        RETURNING id::text`,
      limit,
      graceMs,
    )
    return rows.map((r) => r.id)
  }

  /** Number of dead-lettered events (the DLQ depth). */
  async countDead(): Promise<number> {
    const rows = await this.db.$queryRawUnsafe<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM hookline_events WHERE status = 'dead'`,
    )
    return rows[0]?.n ?? 0
  }

  /** Throws unless the database answers. */
  async ping(): Promise<void> {
    await this.db.$queryRawUnsafe(`SELECT 1`)
  }
}

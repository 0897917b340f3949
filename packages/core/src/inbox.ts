/**
 * @module The durable inbox in PostgreSQL: insert-or-count on the dedupe key, claim an event for an
 * attempt, and the writes that close an attempt. Raw SQL: Hookline's own statements on its `pg`
 * pool (prepared once per connection), the transactional part on any Prisma client, so that it also
 * runs in an application's own client's transaction.
 */
import { isUtf8 } from 'node:buffer'
import { createHash } from 'node:crypto'
import type { ParsedEvent } from './adapter.ts'
import type { EventSource, HooklineEvent, TransactionClient } from './handler.ts'

/** The part of a Prisma client the inbox uses (satisfied by every generated PrismaClient). */
export interface SqlClient extends TransactionClient {
  $transaction<R>(fn: (tx: never) => Promise<R>, options?: { maxWait?: number; timeout?: number }): Promise<R>
}

/** A `pg` pool or client: what the inbox's own statements prefer (no ORM work per query). */
export interface Queryable {
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>
}

/**
 * SQL for an event's payload as JSON text: the `payload` column, or — NULL there when the payload
 * is the body itself — the raw body, stored once. Parse it with `JSON.parse` (never `::jsonb`:
 * the body may hold a `\u0000` that jsonb refuses).
 */
export const PAYLOAD_JSON = "COALESCE(payload::text, convert_from(raw_body, 'UTF8'))"

/** Runs one statement with positional parameters and returns its rows. */
type Run = <R>(sql: string, ...values: unknown[]) => Promise<R[]>

function runnerOf(db: SqlClient | TransactionClient | Queryable): Run {
  if ('query' in db && typeof db.query === 'function') {
    const pool = db as Queryable
    // Prepared statements, named after their text: each connection parses and plans one once.
    const names = new Map<string, string>()
    const nameOf = (sql: string): string => {
      let name = names.get(sql)
      if (name === undefined) names.set(sql, (name = `hookline_${createHash('sha1').update(sql).digest('hex').slice(0, 20)}`))
      return name
    }
    return async <R>(sql: string, ...values: unknown[]) => (await pool.query({ name: nameOf(sql), text: sql, values })).rows as R[]
  }
  const prisma = db as TransactionClient
  return <R>(sql: string, ...values: unknown[]) => prisma.$queryRawUnsafe<R[]>(sql, ...values)
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
  /** Id of this attempt's row in `hookline_attempts` (a bigint, as text). */
  attemptId: string
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
  payload_json: string
  generation: number
  attempts: number
  attempt_id: bigint | string
}

/**
 * Reads and writes `hookline_events` and `hookline_attempts`.
 *
 * @example
 * const inbox = new Inbox(pool)
 * const [row] = await inbox.insertMany([{ provider: 'stripe', event: parsed, meta: { source: 'webhook', headers, rawBody }, count: 1 }], 60_000)
 */
export class Inbox {
  private readonly run: Run

  /**
   * @param db where the inbox's own statements run: Hookline's `pg` pool, or a Prisma client or
   * transaction (the reconciler stores a page in its transaction). Handler transactions are
   * passed to the methods that take one.
   */
  constructor(db: SqlClient | TransactionClient | Queryable) {
    this.run = runnerOf(db)
  }

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
    // Every row's JSON and raw bytes travel back to back in one binary parameter, each row pointing
    // at its slices (no text decoding, no escaping into array literals): the raw body as it arrived,
    // the headers, and the payload. A payload that is the body itself is not stored twice: its
    // column stays NULL and readers parse the raw body (PAYLOAD_JSON), so Postgres neither
    // converts nor compresses a second copy, and JSON that jsonb cannot hold (a \u0000) is kept.
    const segments: Buffer[] = []
    let next = 1 // substring() counts bytes from 1
    const slice = (bytes: Buffer): [number, number] => {
      segments.push(bytes)
      next += bytes.length
      return [next - bytes.length, bytes.length]
    }
    const columns = { hs: [] as number[], hl: [] as number[], bs: [] as (number | null)[], bl: [] as (number | null)[], ps: [] as (number | null)[], pl: [] as (number | null)[] }
    for (const { event, meta } of rows) {
      const [hs, hl] = slice(Buffer.from(JSON.stringify(meta.headers)))
      const body = meta.rawBody === null ? null : slice(meta.rawBody)
      const payloadIsBody = body !== null && event.payloadIsBody === true && isUtf8(meta.rawBody!)
      // A payload JSON cannot express (undefined) is stored as JSON null: NULL means "the body".
      const [ps, pl] = payloadIsBody ? [null, null] : slice(Buffer.from(JSON.stringify(event.payload) ?? 'null'))
      columns.hs.push(hs)
      columns.hl.push(hl)
      columns.bs.push(body?.[0] ?? null)
      columns.bl.push(body?.[1] ?? null)
      columns.ps.push(ps)
      columns.pl.push(pl)
    }
    // A new `received` event also gets its row in the work list, due once the grace has passed.
    return this.run<BatchInsertResult>(
      `WITH ev AS (
       INSERT INTO hookline_events
         (provider, event_key, type, tenant, entity_key, occurred_at, source, headers, raw_body, payload,
          status, processed_at, deliveries)
       SELECT u.pv, u.k, u.t, u.tn, u.e, u.o::timestamptz, u.src::hookline_event_source,
              convert_from(substring($17::bytea FROM u.hs FOR u.hl), 'UTF8')::jsonb,
              substring($17::bytea FROM u.bs FOR u.bl),
              convert_from(substring($17::bytea FROM u.ps FOR u.pl), 'UTF8')::jsonb,
              CASE WHEN u.r THEN 'processed' ELSE 'received' END::hookline_event_status,
              CASE WHEN u.r THEN now() END, u.n
         FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                     $9::int[], $10::int[], $11::int[], $12::int[], $13::int[], $14::int[], $15::boolean[], $16::int[])
              WITH ORDINALITY AS u(pv, k, t, tn, e, o, src, hs, hl, bs, bl, ps, pl, r, n, ord)
        ORDER BY u.ord
       ON CONFLICT (provider, event_key) DO ${onConflict === 'count'
         ? 'UPDATE SET deliveries = hookline_events.deliveries + EXCLUDED.deliveries, last_delivered_at = now()'
         : 'NOTHING'}
       RETURNING id, provider, event_key, (xmax = 0) AS inserted, status
       ), due AS (
         INSERT INTO hookline_due_events (event_id, due_at)
         SELECT id, now() + $1 * interval '1 millisecond' FROM ev WHERE inserted AND status = 'received'
       )
       SELECT id::text, provider, event_key AS "eventKey", inserted, status::text FROM ev`,
      graceMs,
      rows.map((d) => d.provider),
      rows.map((d) => d.event.eventKey),
      rows.map((d) => d.event.type),
      rows.map((d) => d.event.tenant),
      rows.map((d) => d.event.entityKey),
      rows.map((d) => d.event.occurredAt?.toISOString() ?? null),
      rows.map((d) => d.meta.source),
      columns.hs,
      columns.hl,
      columns.bs,
      columns.bl,
      columns.ps,
      columns.pl,
      rows.map((d) => d.event.recordOnly === true),
      rows.map((d) => d.count),
      Buffer.concat(segments, next - 1),
    )
  }

  /** The subset of `eventKeys` the inbox holds for `provider`. */
  async knownKeys(provider: string, eventKeys: readonly string[]): Promise<Set<string>> {
    if (eventKeys.length === 0) return new Set()
    const rows = await this.run<{ k: string }>(
      `SELECT event_key AS k FROM hookline_events WHERE provider = $1 AND event_key = ANY($2::text[])`,
      provider,
      eventKeys,
    )
    return new Set(rows.map((r) => r.k))
  }

  /** Makes stored events due for the sweeper at once (their enqueue failed), in one statement. */
  async markDue(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return
    await this.run(`UPDATE hookline_due_events SET due_at = now() WHERE event_id = ANY($1::uuid[]) AND due_at IS NOT NULL`, ids)
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
    const rows = await this.run<EventRow>(
      `WITH ev AS (
         UPDATE hookline_events
            SET status = 'processing', attempts = attempts + 1, updated_at = now()
          WHERE id IN (SELECT id FROM hookline_events WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE)
            AND status IN ('received', 'failed', 'processing')
          RETURNING id, provider, event_key, type, tenant, entity_key, occurred_at, received_at, source,
                    ${PAYLOAD_JSON} AS payload_json, generation, attempts
       ), lease AS (
         UPDATE hookline_due_events SET due_at = now() + $2 * interval '1 millisecond'
          WHERE event_id IN (SELECT id FROM ev) AND due_at < now() + $2 / 2 * interval '1 millisecond'
       ), crashed AS (
         -- an attempt still open at a new claim belonged to a worker that stopped mid-handler
         UPDATE hookline_attempts
            SET finished_at = now(), outcome = 'failed', error = 'the worker stopped during this attempt'
          WHERE event_id IN (SELECT id FROM ev) AND outcome IS NULL
       ), att AS (
         INSERT INTO hookline_attempts (event_id, n, generation)
         SELECT id, attempts, generation FROM ev RETURNING id, event_id
       )
       SELECT ev.id::text AS id, provider, event_key, type, tenant, entity_key, occurred_at,
              received_at, source::text AS source, payload_json, generation, attempts, att.id AS attempt_id
         FROM ev JOIN att ON att.event_id = ev.id`,
      ids,
      leaseMs,
    )
    return rows.map((row) => ({
      id: row.id,
      provider: row.provider,
      eventKey: row.event_key,
      type: row.type,
      tenant: row.tenant,
      entityKey: row.entity_key,
      occurredAt: row.occurred_at,
      source: row.source,
      payload: JSON.parse(row.payload_json),
      generation: row.generation,
      attempt: row.attempts,
      attemptId: String(row.attempt_id),
      receivedAt: row.received_at,
    }))
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
    const rows = await tx.$queryRawUnsafe<{ id: string; status: string; newest: Date | null }[]>(
      `WITH ev AS MATERIALIZED (
         SELECT id, status, provider, entity_key FROM hookline_events WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE
       ), ver AS (
         INSERT INTO hookline_entity_versions AS v (provider, entity_key, occurred_at, event_id)
         SELECT DISTINCT ON (provider, entity_key) provider, entity_key, 'epoch'::timestamptz, id
           FROM ev WHERE status = 'processing' AND entity_key IS NOT NULL
          ORDER BY provider, entity_key
         ON CONFLICT (provider, entity_key) DO UPDATE SET occurred_at = v.occurred_at
         RETURNING v.provider, v.entity_key, v.occurred_at
       )
       SELECT ev.id::text AS id, ev.status::text AS status, ver.occurred_at AS newest
         FROM ev LEFT JOIN ver ON ver.provider = ev.provider AND ver.entity_key = ev.entity_key`,
      ids,
    )
    return new Map(rows.map((row) => [row.id, { status: row.status, newestApplied: row.newest }]))
  }

  /**
   * Inside `tx`: withdraws attempts that found their event already finished by a concurrent one
   * (possible only when BullMQ re-ran a job whose worker was still alive).
   */
  async discardAttempts(tx: TransactionClient, events: readonly ClaimedEvent[]): Promise<void> {
    if (events.length === 0) return
    await tx.$executeRawUnsafe(
      `WITH att AS (DELETE FROM hookline_attempts WHERE id = ANY($2::text[]::bigint[]))
       UPDATE hookline_events SET attempts = attempts - 1 WHERE id = ANY($1::uuid[])`,
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
    await tx.$executeRawUnsafe(
      `WITH ev AS (
         UPDATE hookline_events AS e
            SET status = 'processed', processed_at = now(), updated_at = now(), last_error = NULL, stale = u.stale
           FROM unnest($1::uuid[], $2::boolean[]) AS u(id, stale)
          WHERE e.id = u.id
       ), due AS (
         DELETE FROM hookline_due_events WHERE event_id = ANY($1::uuid[])
       ), att AS (
         UPDATE hookline_attempts AS a
            SET finished_at = now(), outcome = u.outcome::hookline_attempt_outcome
           FROM unnest($3::text[], $4::text[]) AS u(id, outcome)
          WHERE a.id = u.id::bigint
       )
       INSERT INTO hookline_entity_versions AS v (provider, entity_key, occurred_at, event_id, updated_at)
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
         UPDATE hookline_events
            SET status = $2::hookline_event_status, last_error = $3, updated_at = now()
          WHERE id = $1::uuid AND status = 'processing'
          RETURNING id
       ), due AS (
         UPDATE hookline_due_events
            SET due_at = CASE WHEN $2::text = 'dead' THEN NULL ELSE now() + $4 * interval '1 millisecond' END
          WHERE event_id IN (SELECT id FROM ev)
       ), att AS (
         UPDATE hookline_attempts
            SET finished_at = now(), outcome = $2::text::hookline_attempt_outcome, error = $3, stack = $5
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

  /**
   * Ids of unfinished events past their due time (Redis lost their job, or a worker died), and
   * due before `dueBefore` when given, oldest first; their due time moves `graceMs` on so that the
   * next pass does not pick them again at once.
   */
  async takeOverdue(limit: number, graceMs: number, dueBefore?: Date): Promise<string[]> {
    // LEAST ignores a NULL: without `dueBefore`, everything due by now.
    const rows = await this.run<{ id: string }>(
      `UPDATE hookline_due_events SET due_at = now() + $2 * interval '1 millisecond'
        WHERE event_id IN (SELECT event_id FROM hookline_due_events WHERE due_at <= LEAST(now(), $3::timestamptz)
                            ORDER BY due_at LIMIT $1 FOR UPDATE SKIP LOCKED)
        RETURNING event_id::text AS id`,
      limit,
      graceMs,
      dueBefore ?? null,
    )
    return rows.map((r) => r.id)
  }

  /** Number of dead-lettered events (the DLQ depth). */
  async countDead(): Promise<number> {
    const rows = await this.run<{ n: number }>(
      `SELECT count(*)::int AS n FROM hookline_due_events WHERE due_at IS NULL`,
    )
    return rows[0]?.n ?? 0
  }

  /** Throws unless the database answers. */
  async ping(): Promise<void> {
    await this.run(`SELECT 1`)
  }
}

/**
 * @module The inbox's ingest side in PostgreSQL (`hookline.hookline_events` and the work list
 * `hookline.hookline_due_events`): insert-or-count on the dedupe key, the reconciler's lookups, and the
 * sweeper's reads of the work list.
 */
import { isUtf8 } from 'node:buffer'
import type { ParsedEvent } from '../adapter.ts'
import type { EventSource } from '../handler.ts'
import { type Sql, sqlRunner, type SqlTarget } from './sql-runner.ts'

/**
 * SQL for an event's payload as JSON text: the `payload` column, or — NULL there when the payload
 * is the body itself — the raw body, stored once. Parse it with `JSON.parse` (never `::jsonb`:
 * the body may hold a `\u0000` that jsonb refuses).
 */
export const PAYLOAD_JSON = "COALESCE(payload::text, convert_from(raw_body, 'UTF8'))"

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
export function compareKeys(providerA: string, keyA: string, providerB: string, keyB: string): number {
  if (providerA !== providerB) return providerA < providerB ? -1 : 1
  return keyA < keyB ? -1 : keyA > keyB ? 1 : 0
}

/**
 * Stores deliveries in `hookline.hookline_events` and reads the work list.
 *
 * @example
 * const inbox = new Inbox(pool)
 * const [row] = await inbox.insertMany([{ provider: 'stripe', event: parsed, meta: { source: 'webhook', headers, rawBody }, count: 1 }], 60_000)
 */
export class Inbox {
  private readonly run: Sql

  /**
   * @param db where the statements run: Hookline's `pg` pool, or one of its connections in a
   * transaction (the reconciler stores a page with its progress).
   */
  constructor(db: SqlTarget, schema?: string) {
    this.run = sqlRunner(db, schema)
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
    const arrival = new Map(deliveries.map((delivery, i) => [delivery, i]))
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
    // A new `received` event also gets its row in the work list, due once the grace has passed,
    // numbered in the order the deliveries arrived (the worker keeps an entity's events in it).
    return this.run<BatchInsertResult>(
      `WITH ev AS (
       INSERT INTO hookline.hookline_events
         (provider, event_key, type, tenant, entity_key, occurred_at, source, headers, raw_body, payload,
          status, processed_at, deliveries)
       SELECT u.pv, u.k, u.t, u.tn, u.e, u.o::timestamptz, u.src::hookline.hookline_event_source,
              convert_from(substring($17::bytea FROM u.hs FOR u.hl), 'UTF8')::jsonb,
              substring($17::bytea FROM u.bs FOR u.bl),
              convert_from(substring($17::bytea FROM u.ps FOR u.pl), 'UTF8')::jsonb,
              CASE WHEN u.r THEN 'processed' ELSE 'received' END::hookline.hookline_event_status,
              CASE WHEN u.r THEN now() END, u.n
         FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                     $9::int[], $10::int[], $11::int[], $12::int[], $13::int[], $14::int[], $15::boolean[], $16::int[])
              WITH ORDINALITY AS u(pv, k, t, tn, e, o, src, hs, hl, bs, bl, ps, pl, r, n, ord)
        ORDER BY u.ord
       ON CONFLICT (provider, event_key) DO ${onConflict === 'count'
         ? 'UPDATE SET deliveries = hookline_events.deliveries + EXCLUDED.deliveries, last_delivered_at = now()'
         : 'NOTHING'}
       RETURNING id, provider, event_key, entity_key, (xmax = 0) AS inserted, status
       ), due AS (
         INSERT INTO hookline.hookline_due_events (event_id, due_at, provider, entity_key)
         SELECT id, now() + $1 * interval '1 millisecond', CASE WHEN entity_key IS NOT NULL THEN provider END, entity_key
           FROM ev JOIN unnest($2::text[], $3::text[], $18::int[]) AS a(pv, k, arrived) ON a.pv = ev.provider AND a.k = ev.event_key
          WHERE inserted AND status = 'received'
          ORDER BY a.arrived
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
      rows.map((d) => arrival.get(d)!),
    )
  }

  /** The subset of `eventKeys` the inbox holds for `provider`. */
  async knownKeys(provider: string, eventKeys: readonly string[]): Promise<Set<string>> {
    if (eventKeys.length === 0) return new Set()
    const rows = await this.run<{ k: string }>(
      `SELECT event_key AS k FROM hookline.hookline_events WHERE provider = $1 AND event_key = ANY($2::text[])`,
      provider,
      eventKeys,
    )
    return new Set(rows.map((r) => r.k))
  }

  /** Makes stored events due for the sweeper at once (their enqueue failed), in one statement. */
  async markDue(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return
    await this.run(`UPDATE hookline.hookline_due_events SET due_at = now() WHERE event_id = ANY($1::uuid[]) AND due_at IS NOT NULL`, ids)
  }

  /**
   * Ids of unfinished events past their due time (Redis lost their job, or a worker died), and
   * due before `dueBefore` when given, oldest first; their due time moves `graceMs` on so that the
   * next pass does not pick them again at once.
   */
  async takeOverdue(limit: number, graceMs: number, dueBefore?: Date): Promise<string[]> {
    // LEAST ignores a NULL: without `dueBefore`, everything due by now.
    const rows = await this.run<{ id: string }>(
      `UPDATE hookline.hookline_due_events SET due_at = now() + $2 * interval '1 millisecond'
        WHERE event_id IN (SELECT event_id FROM hookline.hookline_due_events WHERE due_at <= LEAST(now(), $3::timestamptz)
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
      `SELECT count(*)::int AS n FROM hookline.hookline_due_events WHERE due_at IS NULL`,
    )
    return rows[0]?.n ?? 0
  }

  /** Throws unless the database answers. */
  async ping(): Promise<void> {
    await this.run(`SELECT 1`)
  }
}

/**
 * @module The transactional outbox in PostgreSQL (`hookline.hookline_outbox`): the emit insert that
 * runs in the application's transaction, and the relay's take of committed rows, in emit order
 * within each key.
 */
import type { EmitInput } from '../outbox/emit.ts'
import { type Sql, sqlRunner, type SqlTarget } from './sql-runner.ts'

/** A committed outbox row the relay took. */
export interface OutboxRow {
  seq: string
  id: string
  type: string
  key: string | null
  tenant: string | null
  /** The payload as JSON text. */
  payload: string
  emittedAt: Date
}

/**
 * First key of the two-key advisory locks an emit takes per event key ("hl" "ob" in ASCII): emits
 * of one key commit one after another, so that their `seq` order is their commit order.
 */
const EMIT_LOCK_CLASS = 0x686c6f62

/**
 * Writes one outbox row in the transaction `tx` runs and, with a `channel`, wakes the relays when
 * it commits (a notification serialises the commits of every notifying transaction). With a
 * key, the statement first waits for any other uncommitted emit of that key: a relay reading
 * committed rows can then never see a later emit of a key before an earlier one. Resolves to the
 * event's id (the given one when a row with it already existed).
 */
export async function insertOutboxEvent(tx: SqlTarget, schema: string, channel: string | null, event: EmitInput): Promise<string> {
  const rows = await sqlRunner(tx, schema)<{ id: string }>(
    `INSERT INTO hookline.hookline_outbox (id, type, key, tenant, payload)
     SELECT COALESCE($1::text, hookline.hookline_uuid_v7()::text), $2, $3, $4, $5::jsonb
      WHERE CASE WHEN $3::text IS NULL THEN true ELSE pg_advisory_xact_lock(${EMIT_LOCK_CLASS}, hashtext($3::text))::text = '' END
        AND ($6::text IS NULL OR pg_notify($6, '')::text = '')
     ON CONFLICT (id) DO NOTHING
     RETURNING id`,
    event.id ?? null,
    event.type,
    event.key ?? null,
    event.tenant ?? null,
    JSON.stringify(event.payload ?? null),
    channel,
  )
  return rows[0]?.id ?? event.id!
}

/**
 * The relay's side of the outbox, on one connection in a transaction (or the pool for reads).
 *
 * @example
 * const rows = await inPoolTransaction(pool, (tx) => new OutboxStore(tx).take(500))
 */
export class OutboxStore {
  private readonly run: Sql

  constructor(db: SqlTarget, schema?: string) {
    this.run = sqlRunner(db, schema)
  }

  /**
   * Deletes and returns up to `limit` committed rows, oldest first, skipping rows another relay
   * holds, and any row of a key whose earlier row is not among those taken (held elsewhere, or
   * beyond `limit`): a key's events thus leave in emit order whatever the relays interleave. The
   * deletion commits with whatever the caller writes in the same transaction.
   */
  async take(limit: number): Promise<OutboxRow[]> {
    const rows = await this.run<OutboxRow>(
      `WITH claimed AS (
         SELECT seq, key FROM hookline.hookline_outbox ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED
       ), ready AS (
         SELECT c.seq FROM claimed c
          WHERE c.key IS NULL
             OR NOT EXISTS (SELECT 1 FROM hookline.hookline_outbox p
                             WHERE p.key = c.key AND p.seq < c.seq AND p.seq NOT IN (SELECT seq FROM claimed))
       )
       DELETE FROM hookline.hookline_outbox o USING ready r WHERE o.seq = r.seq
       RETURNING o.seq::text, o.id, o.type, o.key, o.tenant, o.payload::text AS payload, o.emitted_at AS "emittedAt"`,
      limit,
    )
    return rows.sort((a, b) => (BigInt(a.seq) < BigInt(b.seq) ? -1 : 1))
  }

  /** Whether any row is left (the relay keeps going while it takes full batches). */
  async pending(): Promise<boolean> {
    const rows = await this.run<{ any: boolean }>(`SELECT EXISTS (SELECT 1 FROM hookline.hookline_outbox) AS any`)
    return rows[0]?.any === true
  }

  /** Age in seconds of the oldest row not yet relayed; 0 when none. */
  async lagSeconds(): Promise<number> {
    const rows = await this.run<{ s: number | null }>(
      `SELECT extract(epoch FROM now() - emitted_at)::float8 AS s FROM hookline.hookline_outbox ORDER BY seq LIMIT 1`,
    )
    return Math.max(0, rows[0]?.s ?? 0)
  }
}

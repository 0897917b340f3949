/**
 * @module Support's pauses (`hookline.hookline_pauses`): which providers and types are held, and the
 * writes that pause and resume them, each audited in the same transaction.
 */
import { recordAudit } from './audit-log.ts'
import { inPoolTransaction, type ConnectionPool } from './pool-transaction.ts'
import { type Sql, sqlRunner } from './sql-runner.ts'

/** One pause: `type` undefined holds every type of the provider; a `type` ending in `*` is a prefix. */
export interface Pause {
  provider: string
  type: string | undefined
  since: Date
  actor: string
  note: string | null
}

/** True when `pause` holds events of `provider` and `type`. */
export function pauseCovers(pause: Pick<Pause, 'provider' | 'type'>, provider: string, type: string): boolean {
  if (pause.provider !== provider) return false
  if (pause.type === undefined) return true
  return pause.type.endsWith('*') ? type.startsWith(pause.type.slice(0, -1)) : pause.type === type
}

/** SQL: pause row `p` covers event row `e` (the same rule as {@link pauseCovers}). */
const COVERS = `(p.provider = e.provider AND (p.type = '' OR p.type = e.type
  OR (right(p.type, 1) = '*' AND starts_with(e.type, left(p.type, -1)))))`

/**
 * Reads and writes pauses.
 *
 * @example
 * const pauses = new Pauses(pool)
 * await pauses.add({ provider: 'stripe' }, { actor: 'ana' })
 */
export class Pauses {
  private readonly run: Sql

  constructor(
    private readonly pool: ConnectionPool,
    private readonly schema?: string,
  ) {
    this.run = sqlRunner(pool, schema)
  }

  /** Every pause, oldest first. */
  async list(): Promise<Pause[]> {
    const rows = await this.run<Omit<Pause, 'type'> & { type: string }>(
      `SELECT provider, type, since, actor, note FROM hookline.hookline_pauses ORDER BY since, provider, type`,
    )
    return rows.map((row) => ({ ...row, type: row.type === '' ? undefined : row.type }))
  }

  /**
   * How many unfinished events some pause covers now, by provider, counting at most `limit` (what
   * one scrape of `/metrics` may cost). Reads only the pauses when there are none.
   */
  async countHeld(limit: number): Promise<{ provider: string; count: number }[]> {
    if ((await this.list()).length === 0) return []
    return this.run<{ provider: string; count: number }>(
      `SELECT provider, count(*)::int AS count FROM (
         SELECT e.provider FROM hookline.hookline_due_events d
           JOIN hookline.hookline_events e ON e.id = d.event_id
          WHERE d.due_at IS NOT NULL AND e.status IN ('received', 'failed')
            AND EXISTS (SELECT 1 FROM hookline.hookline_pauses p WHERE ${COVERS})
          LIMIT $1) held
        GROUP BY provider ORDER BY provider`,
      limit,
    )
  }

  /** Pauses a scope (again: keeps the first one's time and actor) and audits it; returns the pause. */
  async add(scope: { provider: string; type?: string | undefined }, by: { actor: string; note?: string | undefined }): Promise<Pause> {
    return inPoolTransaction(this.pool, async (connection) => {
      const run = sqlRunner(connection, this.schema)
      const [row] = await run<Omit<Pause, 'type'> & { type: string }>(
        `INSERT INTO hookline.hookline_pauses (provider, type, actor, note) VALUES ($1, $2, $3, $4)
         ON CONFLICT (provider, type) DO UPDATE SET provider = EXCLUDED.provider
         RETURNING provider, type, since, actor, note`,
        scope.provider,
        scope.type ?? '',
        by.actor,
        by.note ?? null,
      )
      await recordAudit(connection, { actor: by.actor, action: 'pause', filter: scope, note: by.note ?? null }, this.schema)
      return { ...row!, type: row!.type === '' ? undefined : row!.type }
    })
  }

  /**
   * Lifts a pause and audits it; returns the ids of the held events it releases (unfinished, in
   * its scope, covered by no other pause), oldest first, made due after `graceMs` (so that the
   * sweeper queues them should their jobs be lost), or undefined when the scope was not paused.
   */
  async remove(scope: { provider: string; type?: string | undefined }, by: { actor: string; note?: string | undefined }, graceMs: number): Promise<string[] | undefined> {
    return inPoolTransaction(this.pool, async (connection) => {
      const run = sqlRunner(connection, this.schema)
      const gone = await run(`DELETE FROM hookline.hookline_pauses WHERE provider = $1 AND type = $2 RETURNING provider`, scope.provider, scope.type ?? '')
      if (gone.length === 0) return undefined
      const released = await run<{ id: string }>(
        `WITH p AS (SELECT $1::text AS provider, $2::text AS type),
         held AS (
           SELECT d.event_id, d.seq FROM hookline.hookline_due_events d
             JOIN hookline.hookline_events e ON e.id = d.event_id
             JOIN p ON ${COVERS}
            WHERE d.due_at IS NOT NULL AND e.status IN ('received', 'failed')
              AND NOT EXISTS (SELECT 1 FROM hookline.hookline_pauses p WHERE ${COVERS})
            ORDER BY d.seq FOR UPDATE OF d
         ), due AS (
           UPDATE hookline.hookline_due_events d SET due_at = now() + $3 * interval '1 millisecond'
             FROM held WHERE d.event_id = held.event_id
         )
         SELECT event_id::text AS id FROM held ORDER BY seq`,
        scope.provider,
        scope.type ?? '',
        graceMs,
      )
      await recordAudit(connection, { actor: by.actor, action: 'resume', filter: scope, count: released.length, note: by.note ?? null }, this.schema)
      return released.map((row) => row.id)
    })
  }
}

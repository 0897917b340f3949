/**
 * @module The record of reconciliation runs (`hookline.hookline_reconcile_runs`) and of where each provider
 * and tenant was reconciled up to (`hookline.hookline_reconcile_cursors`).
 */
import { ReconcileBusyError } from '../errors.ts'
import type { ReconcileRun } from '../reconcile/reconcile-types.ts'
import { type ConnectionPool, inPoolTransaction } from './pool-transaction.ts'
import { type Queryable, type Sql, sqlRunner } from './sql-runner.ts'

/** A run as the engine works on it: with the provider's cursor of the last stored page. */
export interface RunState extends ReconcileRun {
  pageCursor: string | null
}

/** What a stored page adds to its run. */
export interface PageProgress {
  cursor: string | null
  scanned: number
  known: number
  recovered: number
  warnings: string[]
}

const RUN_COLUMNS = `id::text, provider, NULLIF(tenant, '') AS tenant, status::text AS status, trigger,
  dry_run AS "dryRun", since, until, started_at AS "startedAt", finished_at AS "finishedAt", pages, scanned,
  known, recovered, errors, warnings, last_error AS "lastError"`

const STATE_COLUMNS = `${RUN_COLUMNS}, page_cursor AS "pageCursor"`

/**
 * Reads and writes reconciliation runs. A run's tenant is stored as `''` for the provider's
 * default account (a key column cannot be NULL) and read back as null.
 */
export class ReconcileRuns {
  private readonly run: Sql

  constructor(private readonly pool: ConnectionPool, private readonly schema?: string) {
    this.run = sqlRunner(pool, schema)
  }

  /**
   * Records a new run, or returns the running one whose process died (to be taken over). Throws
   * {@link ReconcileBusyError} while a run of this provider and tenant is alive.
   */
  open(request: { provider: string; tenant: string | null; trigger: string; dryRun: boolean; since: Date | null }, leaseMs: number, windowMs: number): Promise<RunState> {
    const tenant = request.tenant ?? ''
    return inPoolTransaction(this.pool, async (connection) => {
      const tx = sqlRunner(connection, this.schema)
      // One opener at a time per provider and tenant, so that two never both start a run.
      await tx(`SELECT pg_advisory_xact_lock(hashtextextended('hookline-reconcile' || chr(31) || $1 || chr(31) || $2, 0))::text`, request.provider, tenant)
      const [current] = await tx<RunState & { alive: boolean }>(
        `SELECT ${STATE_COLUMNS}, heartbeat_at > now() - $3 * interval '1 millisecond' AS alive
           FROM hookline.hookline_reconcile_runs WHERE provider = $1 AND tenant = $2 AND status = 'running'
          ORDER BY started_at DESC LIMIT 1`,
        request.provider,
        tenant,
        leaseMs,
      )
      if (current?.alive) throw new ReconcileBusyError(current.id)
      if (current) return withoutAlive(current)
      const [inserted] = await tx<RunState>(
        `INSERT INTO hookline.hookline_reconcile_runs (provider, tenant, trigger, dry_run, since, until)
         SELECT $1, $2, $3, $4,
                COALESCE($5::timestamptz, (SELECT position FROM hookline.hookline_reconcile_cursors WHERE provider = $1 AND tenant = $2), now())
                  - CASE WHEN $5::timestamptz IS NULL THEN $6 * interval '1 millisecond' ELSE interval '0' END,
                now()
         RETURNING ${STATE_COLUMNS}`,
        request.provider,
        tenant,
        request.trigger,
        request.dryRun,
        request.since,
        windowMs,
      )
      return inserted!
    })
  }

  /** Takes the lease of a running run for `owner` unless a live execution holds it. */
  async claim(runId: string, owner: string, leaseMs: number): Promise<RunState | undefined> {
    const [row] = await this.run<RunState>(
      `UPDATE hookline.hookline_reconcile_runs SET lease_owner = $2::uuid, heartbeat_at = now()
        WHERE id = $1::uuid AND status = 'running'
          AND (lease_owner IS NULL OR heartbeat_at <= now() - $3 * interval '1 millisecond')
        RETURNING ${STATE_COLUMNS}`,
      runId,
      owner,
      leaseMs,
    )
    return row
  }

  /**
   * Inside `tx` (the page's own transaction): adds a stored page to its run. False when `owner`
   * no longer holds the run's lease.
   */
  async recordPage(tx: Queryable, runId: string, owner: string, page: PageProgress): Promise<boolean> {
    const rows = await sqlRunner(tx, this.schema)(
      `UPDATE hookline.hookline_reconcile_runs
          SET page_cursor = $2, pages = pages + 1, scanned = scanned + $3, known = known + $4,
              recovered = recovered + $5, warnings = $6::jsonb, heartbeat_at = now()
        WHERE id = $1::uuid AND lease_owner = $7::uuid AND status = 'running'
        RETURNING id`,
      runId,
      page.cursor,
      page.scanned,
      page.known,
      page.recovered,
      JSON.stringify(page.warnings),
      owner,
    )
    return rows.length > 0
  }

  /**
   * Ends a run `owner` holds; a succeeded one that was not a dry run moves its cursor forward
   * (never back). Undefined when `owner` no longer holds it.
   */
  async finish(runId: string, owner: string, status: 'succeeded' | 'failed', warnings: string[], error: string | null): Promise<ReconcileRun | undefined> {
    const [row] = await this.run<ReconcileRun>(
      `WITH run AS (
         UPDATE hookline.hookline_reconcile_runs
            SET status = $2::hookline.hookline_reconcile_status, finished_at = now(), heartbeat_at = now(),
                warnings = $3::jsonb, last_error = $4, errors = errors + CASE WHEN $4::text IS NULL THEN 0 ELSE 1 END
          WHERE id = $1::uuid AND lease_owner = $5::uuid AND status = 'running'
          RETURNING *
       ), cursor AS (
         INSERT INTO hookline.hookline_reconcile_cursors AS c (provider, tenant, position, updated_at)
         SELECT provider, tenant, until, now() FROM run WHERE status = 'succeeded' AND NOT dry_run
         ON CONFLICT (provider, tenant) DO UPDATE
           SET position = GREATEST(c.position, EXCLUDED.position), updated_at = now()
       )
       SELECT ${RUN_COLUMNS} FROM run`,
      runId,
      status,
      JSON.stringify(warnings),
      error,
      owner,
    )
    return row
  }

  /** Runs, newest first. */
  list(limit: number, provider: string | null): Promise<ReconcileRun[]> {
    return this.run<ReconcileRun>(
      `SELECT ${RUN_COLUMNS} FROM hookline.hookline_reconcile_runs WHERE $2::text IS NULL OR provider = $2
        ORDER BY started_at DESC, id LIMIT $1`,
      limit,
      provider,
    )
  }

  /** One run by its id (a UUID), or undefined. */
  async get(id: string): Promise<ReconcileRun | undefined> {
    const [row] = await this.run<ReconcileRun>(`SELECT ${RUN_COLUMNS} FROM hookline.hookline_reconcile_runs WHERE id = $1::uuid`, id)
    return row
  }
}

function withoutAlive(row: RunState & { alive?: boolean }): RunState {
  delete row.alive
  return row
}

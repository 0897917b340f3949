/**
 * @module The reconcile engine: for one provider and tenant, pages through the provider's API
 * (the adapter's `reconcile`) and ingests what the inbox lacks through the same insert-or-skip
 * path as webhooks (`source = reconcile`). Runs are recorded, resumable after a crash, exclusive
 * per provider and tenant, and wait out rate limits.
 */
import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import { z } from 'zod'
import type { ProviderAdapter, ReconcilePage } from './adapter.ts'
import type { Dispatcher } from './dispatcher.ts'
import { enqueueStored, type EnqueueStoredDeps } from './enqueue-stored.ts'
import { ReconcileBusyError, ReconcileUnsupportedError, retryAfterMsOf } from './errors.ts'
import { parseTimeBound } from './event-filter.ts'
import { Inbox, type SqlClient } from './inbox.ts'
import type { HooklineMetrics } from './metrics.ts'
import { type ConnectionPool, inPoolTransaction } from './pool-transaction.ts'

/** Reconciliation settings. */
export interface ReconcileSettings {
  /**
   * Overlap: a run starts this long before where the previous one ended.
   * @defaultValue 25 hours
   */
  windowMs: number
  /**
   * A running run whose progress is older than this is considered dead and is taken over.
   * @defaultValue 120_000
   */
  leaseMs: number
  /**
   * Longest a run may take before it fails.
   * @defaultValue 30 minutes
   */
  timeoutMs: number
  /**
   * Rate-limit waits (429 / Retry-After) tolerated in one run before it fails.
   * @defaultValue 20
   */
  maxRateLimitWaits: number
}

/** What to reconcile. */
export interface ReconcileRequest {
  provider: string
  /** Tenant (e.g. a Stripe Connect account); null or absent = the provider's default account. */
  tenant?: string | null
  /** Start of the window; default: the provider's cursor minus the overlap window. */
  since?: Date
  /** Count what is missing without ingesting it. */
  dryRun?: boolean
  /** Who asked: `schedule`, `api`, `cli`, … */
  trigger?: string
}

/** A reconciliation run as recorded. */
export interface ReconcileRun {
  id: string
  provider: string
  tenant: string | null
  status: 'running' | 'succeeded' | 'failed'
  trigger: string
  dryRun: boolean
  since: Date
  until: Date
  startedAt: Date
  finishedAt: Date | null
  pages: number
  scanned: number
  known: number
  recovered: number
  errors: number
  warnings: string[]
  lastError: string | null
}

/** zod schema of an on-demand {@link ReconcileRequest} (admin API body): `since` takes a date or `25h`. */
export const reconcileRequestSchema = z.strictObject({
  /** Absent: every provider that can be reconciled. */
  provider: z.string().trim().min(1).optional(),
  tenant: z.string().trim().min(1).nullish(),
  since: z
    .string()
    .transform((text, ctx) => {
      const date = parseTimeBound(text)
      if (!date) ctx.addIssue({ code: 'custom', message: 'expected an ISO 8601 date or a duration such as 25h or 3d' })
      return date ?? new Date(Number.NaN)
    })
    .optional(),
  dryRun: z.boolean().optional(),
})

/** zod schema of the run listing's query. */
export const reconcileRunsQuerySchema = z.strictObject({
  provider: z.string().trim().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
})

/** Called when a run recovered events (the webhook path lost them) or failed. */
export type ReconcileAlertHook = (run: ReconcileRun) => void | Promise<void>

interface RunRow {
  id: string
  provider: string
  tenant: string
  status: ReconcileRun['status']
  trigger: string
  dry_run: boolean
  since: Date
  until: Date
  started_at: Date
  finished_at: Date | null
  page_cursor: string | null
  pages: number
  scanned: number
  known: number
  recovered: number
  errors: number
  warnings: string[]
  last_error: string | null
}

const RUN_COLUMNS = `id::text, provider, tenant, status::text AS status, trigger, dry_run, since, until, started_at,
  finished_at, page_cursor, pages, scanned, known, recovered, errors, warnings, last_error`

/** What the engine needs from the rest of Hookline. */
export interface ReconcilerDeps {
  db: SqlClient
  /** Hookline's `pg` pool, under `db`: the inbox's lookups and each page's transaction run on it. */
  pool: ConnectionPool
  dispatcher: Dispatcher
  adapters: ReadonlyMap<string, ProviderAdapter<unknown>>
  metrics: HooklineMetrics
  logger: Logger
  settings: ReconcileSettings
  /** Sweeper grace for the events it inserts (see SweeperOptions.graceMs). */
  graceMs: number
  onAlert?: ReconcileAlertHook | undefined
}

/**
 * Runs reconciliations.
 *
 * @example
 * const run = await reconciler.run({ provider: 'stripe', trigger: 'cli' })
 * console.log(run.recovered) // events the webhooks missed, now in the inbox
 */
export class Reconciler {
  private readonly inbox: Inbox
  /** What each page's enqueue (and its fallback) uses. */
  private readonly enqueueDeps: EnqueueStoredDeps

  constructor(private readonly deps: ReconcilerDeps) {
    this.inbox = new Inbox(deps.pool)
    this.enqueueDeps = { ...deps, inbox: this.inbox }
  }

  /** Opens and executes a run in this process. */
  async run(request: ReconcileRequest, onPage?: (run: ReconcileRun) => void): Promise<ReconcileRun> {
    const run = await this.open(request)
    return this.execute(run.id, onPage)
  }

  /**
   * Records a new run (or takes over one whose process died, to resume it). Throws
   * {@link ReconcileBusyError} while another run of this provider and tenant is alive.
   */
  async open(request: ReconcileRequest): Promise<ReconcileRun> {
    const adapter = this.deps.adapters.get(request.provider)
    if (!adapter?.reconcile) throw new ReconcileUnsupportedError(request.provider)
    const tenant = request.tenant ?? ''
    const { leaseMs, windowMs } = this.deps.settings
    const row = await this.deps.db.$transaction(async (txAny) => {
      const tx = txAny as SqlClient
      // One opener at a time per provider and tenant, so that two never both start a run.
      await tx.$queryRawUnsafe(`SELECT pg_advisory_xact_lock(hashtextextended('hookline-reconcile' || chr(31) || $1 || chr(31) || $2, 0))::text`, request.provider, tenant)
      const running = await tx.$queryRawUnsafe<(RunRow & { alive: boolean })[]>(
        `SELECT ${RUN_COLUMNS}, heartbeat_at > now() - $3 * interval '1 millisecond' AS alive
           FROM hookline_reconcile_runs WHERE provider = $1 AND tenant = $2 AND status = 'running'
          ORDER BY started_at DESC LIMIT 1`,
        request.provider,
        tenant,
        leaseMs,
      )
      const current = running[0]
      if (current?.alive) throw new ReconcileBusyError(current.id)
      // A run whose process died: hand it back so that `execute` takes it over and resumes it.
      if (current) return current
      const inserted = await tx.$queryRawUnsafe<RunRow[]>(
        `INSERT INTO hookline_reconcile_runs (provider, tenant, trigger, dry_run, since, until)
         SELECT $1, $2, $3, $4,
                COALESCE($5::timestamptz, (SELECT position FROM hookline_reconcile_cursors WHERE provider = $1 AND tenant = $2), now())
                  - CASE WHEN $5::timestamptz IS NULL THEN $6 * interval '1 millisecond' ELSE interval '0' END,
                now()
         RETURNING ${RUN_COLUMNS}`,
        request.provider,
        tenant,
        request.trigger ?? 'manual',
        request.dryRun ?? false,
        request.since ?? null,
        windowMs,
      )
      return inserted[0]!
    })
    return toRun(row)
  }

  /**
   * Executes (or resumes) a recorded run to its end; never throws for a provider failure. When
   * another live execution owns the run, returns its current state without touching it.
   */
  async execute(runId: string, onPage?: (run: ReconcileRun) => void): Promise<ReconcileRun> {
    const owner = randomUUID()
    const claimed = await this.deps.db.$queryRawUnsafe<RunRow[]>(
      `UPDATE hookline_reconcile_runs SET lease_owner = $2::uuid, heartbeat_at = now()
        WHERE id = $1::uuid AND status = 'running'
          AND (lease_owner IS NULL OR heartbeat_at <= now() - $3 * interval '1 millisecond')
        RETURNING ${RUN_COLUMNS}`,
      runId,
      owner,
      this.deps.settings.leaseMs,
    )
    const row = claimed[0]
    if (!row) return toRun(await this.load(runId))
    const adapter = this.deps.adapters.get(row.provider)
    if (!adapter?.reconcile) throw new ReconcileUnsupportedError(row.provider)
    const log = this.deps.logger.child({ reconcileRun: row.id, provider: row.provider, tenant: row.tenant || null })
    const signal = AbortSignal.timeout(this.deps.settings.timeoutMs)
    const warnings = [...row.warnings]
    let resumeFrom = row.page_cursor
    let rateLimitWaits = 0
    // A page's jobs are offered while the next pages are fetched and stored; one such enqueue at a time.
    let enqueuing: Promise<void> = Promise.resolve()
    try {
      for (;;) {
        try {
          const pages = adapter.reconcile({
            tenant: row.tenant || null,
            since: row.since,
            until: row.until,
            resumeFrom,
            knownKeys: (keys) => this.inbox.knownKeys(row.provider, keys),
            warn: (message) => {
              if (!warnings.includes(message)) warnings.push(message)
            },
            signal,
          })
          for await (const page of readAhead(pages, signal)) {
            const inserted = await this.ingestPage(row, owner, page, warnings)
            await enqueuing
            enqueuing = enqueueStored(this.enqueueDeps, inserted.map((id) => ({ id, provider: row.provider })), 'reconcile')
            resumeFrom = page.cursor
            onPage?.(toRun(await this.load(row.id)))
          }
          break
        } catch (err) {
          const waitMs = retryAfterMsOf(err)
          if (waitMs === undefined || signal.aborted || rateLimitWaits >= this.deps.settings.maxRateLimitWaits) throw err
          rateLimitWaits += 1
          log.warn({ waitMs }, 'provider rate limit: waiting, then resuming from the last page')
          await sleep(waitMs, signal)
        }
      }
      await enqueuing
      return await this.finish(row, owner, 'succeeded', warnings, null)
    } catch (err) {
      await enqueuing
      if (err instanceof LostLeaseError) {
        log.warn('another execution took this run over; stopping')
        return toRun(await this.load(row.id))
      }
      const message = signal.aborted ? `timed out after ${this.deps.settings.timeoutMs} ms` : err instanceof Error ? err.message : String(err)
      log.error({ err: message }, 'reconciliation failed')
      return this.finish(row, owner, 'failed', warnings, message)
    }
  }

  /**
   * Ingests one page and records the progress in the same transaction (exact counts on resume);
   * returns the ids of the events it inserted, which need jobs.
   */
  private async ingestPage(row: RunRow, owner: string, page: ReconcilePage, warnings: string[]): Promise<string[]> {
    const skipped = page.skippedKnown ?? 0
    const outOfBand = page.recoveredOutOfBand ?? 0
    const { inserted, known } = await inPoolTransaction(this.deps.pool, async (tx) => {
      const inbox = new Inbox(tx)
      let inserted: { id: string }[] = []
      let known: number
      if (row.dry_run) {
        known = (await inbox.knownKeys(row.provider, page.events.map((e) => e.eventKey))).size
      } else {
        const deliveries = page.events.map((event) => ({ provider: row.provider, event, meta: { source: 'reconcile' as const, headers: event.headers ?? {}, rawBody: null }, count: 1 }))
        inserted = await inbox.insertMany(deliveries, this.deps.graceMs, 'skip')
        known = page.events.length - inserted.length
      }
      const recovered = page.events.length - known
      const { rows: updated } = await tx.query({
        name: 'hookline_reconcile_progress',
        text: `UPDATE hookline_reconcile_runs
                  SET page_cursor = $2, pages = pages + 1, scanned = scanned + $3, known = known + $4,
                      recovered = recovered + $5, warnings = $6::jsonb, heartbeat_at = now()
                WHERE id = $1::uuid AND lease_owner = $7::uuid AND status = 'running'
                RETURNING id`,
        values: [row.id, page.cursor, page.events.length + skipped + outOfBand, known + skipped, recovered + outOfBand, JSON.stringify(warnings), owner],
      })
      // Rolls this page's inserts back with the transaction: the new owner ingests them.
      if (updated.length === 0) throw new LostLeaseError()
      return { inserted, known }
    })
    this.deps.metrics.reconcileScanned.inc({ provider: row.provider }, page.events.length + skipped + outOfBand)
    if (!row.dry_run) this.deps.metrics.reconcileRecovered.inc({ provider: row.provider }, page.events.length - known + outOfBand)
    return inserted.map((r) => r.id)
  }

  private async finish(row: RunRow, owner: string, status: 'succeeded' | 'failed', warnings: string[], error: string | null): Promise<ReconcileRun> {
    const rows = await this.deps.db.$queryRawUnsafe<RunRow[]>(
      `WITH run AS (
         UPDATE hookline_reconcile_runs
            SET status = $2::hookline_reconcile_status, finished_at = now(), heartbeat_at = now(),
                warnings = $3::jsonb, last_error = $4, errors = errors + CASE WHEN $4::text IS NULL THEN 0 ELSE 1 END
          WHERE id = $1::uuid AND lease_owner = $5::uuid AND status = 'running'
          RETURNING ${RUN_COLUMNS}
       ), cursor AS (
         INSERT INTO hookline_reconcile_cursors AS c (provider, tenant, position, updated_at)
         SELECT provider, tenant, until, now() FROM run WHERE status = 'succeeded' AND NOT dry_run
         ON CONFLICT (provider, tenant) DO UPDATE
           SET position = GREATEST(c.position, EXCLUDED.position), updated_at = now()
       )
       SELECT * FROM run`,
      row.id,
      status,
      JSON.stringify(warnings),
      error,
      owner,
    )
    if (!rows[0]) return toRun(await this.load(row.id))
    const run = toRun(rows[0])
    this.deps.metrics.reconcileRuns.inc({ provider: run.provider, status })
    this.deps.logger.info({ reconcileRun: run.id, provider: run.provider, status, scanned: run.scanned, known: run.known, recovered: run.recovered }, 'reconciliation finished')
    if (!run.dryRun && (status === 'failed' || run.recovered > 0)) {
      try {
        await this.deps.onAlert?.(run)
      } catch (err) {
        this.deps.logger.error({ err: (err as Error).message }, 'reconcile alert hook failed')
      }
    }
    return run
  }

  /**
   * The runs a request covers: its provider (else every provider that can be reconciled), and its
   * tenant (else every tenant the adapter reconciles by default: `reconcileTenants`, or the
   * provider's default account).
   */
  targetsOf(request: Omit<ReconcileRequest, 'provider'> & { provider?: string | undefined }): ReconcileRequest[] {
    const providers = request.provider !== undefined
      ? [request.provider]
      : [...this.deps.adapters.values()].filter((a) => a.reconcile).map((a) => a.name)
    if (providers.length === 0) throw new ReconcileUnsupportedError('(any)')
    return providers.flatMap((provider) => {
      const adapter = this.deps.adapters.get(provider)
      if (!adapter?.reconcile) throw new ReconcileUnsupportedError(provider)
      const tenants = request.tenant !== undefined && request.tenant !== null ? [request.tenant] : [...(adapter.reconcileTenants ?? [null])]
      return tenants.map((tenant) => ({ ...request, provider, tenant }))
    })
  }

  /** Every configured provider and tenant once (what the scheduler triggers); busy ones are skipped. */
  async runAll(trigger: string): Promise<ReconcileRun[]> {
    const runs: ReconcileRun[] = []
    for (const adapter of this.deps.adapters.values()) {
      if (!adapter.reconcile) continue
      for (const tenant of adapter.reconcileTenants ?? [null]) {
        try {
          runs.push(await this.run({ provider: adapter.name, tenant, trigger }))
        } catch (err) {
          if (!(err instanceof ReconcileBusyError)) throw err
          this.deps.logger.info({ provider: adapter.name, tenant, runId: err.runId }, 'reconciliation already running; skipped')
        }
      }
    }
    return runs
  }

  /** Runs, newest first. */
  async list(options: { limit?: number; provider?: string } = {}): Promise<ReconcileRun[]> {
    const rows = await this.deps.db.$queryRawUnsafe<RunRow[]>(
      `SELECT ${RUN_COLUMNS} FROM hookline_reconcile_runs WHERE $2::text IS NULL OR provider = $2
        ORDER BY started_at DESC, id LIMIT $1`,
      options.limit ?? 50,
      options.provider ?? null,
    )
    return rows.map(toRun)
  }

  /** One run, or null (also for an id that is not a UUID). */
  async get(id: string): Promise<ReconcileRun | null> {
    if (!z.uuid().safeParse(id).success) return null
    const rows = await this.deps.db.$queryRawUnsafe<RunRow[]>(`SELECT ${RUN_COLUMNS} FROM hookline_reconcile_runs WHERE id = $1::uuid`, id)
    return rows[0] ? toRun(rows[0]) : null
  }

  private async load(id: string): Promise<RunRow> {
    const rows = await this.deps.db.$queryRawUnsafe<RunRow[]>(`SELECT ${RUN_COLUMNS} FROM hookline_reconcile_runs WHERE id = $1::uuid`, id)
    if (!rows[0]) throw new Error(`reconcile run ${id} does not exist`)
    return rows[0]
  }
}

/** This execution no longer owns its run (it was taken over after its lease expired). */
class LostLeaseError extends Error {
  constructor() {
    super('the reconcile run was taken over by another execution')
    this.name = 'LostLeaseError'
  }
}

function toRun(row: RunRow): ReconcileRun {
  return {
    id: row.id,
    provider: row.provider,
    tenant: row.tenant === '' ? null : row.tenant,
    status: row.status,
    trigger: row.trigger,
    dryRun: row.dry_run,
    since: row.since,
    until: row.until,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    pages: row.pages,
    scanned: row.scanned,
    known: row.known,
    recovered: row.recovered,
    errors: row.errors,
    warnings: row.warnings,
    lastError: row.last_error,
  }
}

/**
 * The pages of `pages`, each next one asked for as soon as the previous one is handed out: the
 * provider's next page is fetched while the caller stores the current one. One page ahead at
 * most; a failure to fetch it (a rate limit, say) reaches the caller when it asks for that page,
 * after the current one is stored. Stops when `signal` aborts: a provider call that hangs past
 * the run's timeout must not hold the run (an adapter's client may not honour the signal), so
 * each wait for a page races the signal.
 */
async function* readAhead<T>(pages: AsyncIterable<T>, signal: AbortSignal): AsyncGenerator<T> {
  const iterator = pages[Symbol.asyncIterator]()
  const aborted = new Promise<never>((_, reject) => {
    if (signal.aborted) reject(signal.reason)
    signal.addEventListener('abort', () => reject(signal.reason), { once: true })
  })
  aborted.catch(() => undefined)
  let next = iterator.next()
  try {
    for (;;) {
      const page = await Promise.race([next, aborted])
      if (page.done) return
      next = iterator.next()
      // Its failure is the caller's once it asks for that page; until then it is not unhandled.
      next.catch(() => undefined)
      yield page.value
    }
  } finally {
    // Not awaited: a generator stuck in a call cannot finish until that call does.
    void Promise.resolve(iterator.return?.()).catch(() => undefined)
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener('abort', () => {
      clearTimeout(timer)
      reject(signal.reason)
    }, { once: true })
  })
}

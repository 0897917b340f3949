/**
 * @module The reconcile engine: for one provider and tenant, pages through the provider's API
 * (the adapter's `reconcile`) and ingests what the inbox lacks through the same insert-or-skip
 * path as webhooks (`source = reconcile`). Runs are recorded, resumable after a crash, exclusive
 * per provider and tenant, and wait out rate limits.
 */
import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import { z } from 'zod'
import type { ProviderAdapter, ReconcilePage } from '../adapter.ts'
import { ReconcileBusyError, ReconcileUnsupportedError, retryAfterMsOf } from '../errors.ts'
import type { HooklineMetrics } from '../metrics.ts'
import { type Dispatcher, RECONCILE_JOB } from '../queue/dispatcher.ts'
import { enqueueStored, type EnqueueStoredDeps } from '../queue/enqueue-stored.ts'
import { Inbox } from '../store/inbox.ts'
import { type ConnectionPool, inPoolTransaction } from '../store/pool-transaction.ts'
import { ReconcileRuns, type RunState } from '../store/reconcile-runs.ts'
import { readAhead, sleep } from './read-ahead.ts'
import type { ReconcileAlertHook, ReconcileRequest, ReconcileRun, ReconcileSettings } from './reconcile-types.ts'

/** What the engine needs from the rest of Hookline. */
export interface ReconcilerDeps {
  /** Hookline's `pg` pool: the runs' records, the inbox's lookups and each page's transaction. */
  pool: ConnectionPool
  /** The schema of Hookline's tables. */
  schema?: string | undefined
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
  private readonly runs: ReconcileRuns
  /** What each page's enqueue (and its fallback) uses. */
  private readonly enqueueDeps: EnqueueStoredDeps

  constructor(private readonly deps: ReconcilerDeps) {
    this.inbox = new Inbox(deps.pool, deps.schema)
    this.runs = new ReconcileRuns(deps.pool, deps.schema)
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
    const { leaseMs, windowMs } = this.deps.settings
    const opened = { provider: request.provider, tenant: request.tenant ?? null, trigger: request.trigger ?? 'manual', dryRun: request.dryRun ?? false, since: request.since ?? null }
    return publicRun(await this.runs.open(opened, leaseMs, windowMs))
  }

  /**
   * Executes (or resumes) a recorded run to its end; never throws for a provider failure. When
   * another live execution owns the run, returns its current state without touching it.
   */
  async execute(runId: string, onPage?: (run: ReconcileRun) => void): Promise<ReconcileRun> {
    const owner = randomUUID()
    const row = await this.runs.claim(runId, owner, this.deps.settings.leaseMs)
    if (!row) return this.load(runId)
    const adapter = this.deps.adapters.get(row.provider)
    if (!adapter?.reconcile) throw new ReconcileUnsupportedError(row.provider)
    const log = this.deps.logger.child({ reconcileRun: row.id, provider: row.provider, tenant: row.tenant })
    const signal = AbortSignal.timeout(this.deps.settings.timeoutMs)
    const warnings = [...row.warnings]
    let resumeFrom = row.pageCursor
    let rateLimitWaits = 0
    // A page's jobs are offered while the next pages are fetched and stored; one such enqueue at a time.
    let enqueuing: Promise<void> = Promise.resolve()
    try {
      for (;;) {
        try {
          const pages = adapter.reconcile({
            tenant: row.tenant,
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
            onPage?.(await this.load(row.id))
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
        return this.load(row.id)
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
  private async ingestPage(row: RunState, owner: string, page: ReconcilePage, warnings: string[]): Promise<string[]> {
    const skipped = page.skippedKnown ?? 0
    const outOfBand = page.recoveredOutOfBand ?? 0
    const { inserted, known } = await inPoolTransaction(this.deps.pool, async (tx) => {
      const inbox = new Inbox(tx, this.deps.schema)
      let inserted: { id: string }[] = []
      let known: number
      if (row.dryRun) {
        known = (await inbox.knownKeys(row.provider, page.events.map((e) => e.eventKey))).size
      } else {
        const deliveries = page.events.map((event) => ({ provider: row.provider, event, meta: { source: 'reconcile' as const, headers: event.headers ?? {}, rawBody: null }, count: 1 }))
        inserted = await inbox.insertMany(deliveries, this.deps.graceMs, 'skip')
        known = page.events.length - inserted.length
      }
      const recovered = page.events.length - known
      const progress = { cursor: page.cursor, scanned: page.events.length + skipped + outOfBand, known: known + skipped, recovered: recovered + outOfBand, warnings }
      const stillOwned = await this.runs.recordPage(tx, row.id, owner, progress)
      // Rolls this page's inserts back with the transaction: the new owner ingests them.
      if (!stillOwned) throw new LostLeaseError()
      return { inserted, known }
    })
    this.deps.metrics.reconcileScanned.inc({ provider: row.provider }, page.events.length + skipped + outOfBand)
    if (!row.dryRun) this.deps.metrics.reconcileRecovered.inc({ provider: row.provider }, page.events.length - known + outOfBand)
    return inserted.map((r) => r.id)
  }

  private async finish(row: RunState, owner: string, status: 'succeeded' | 'failed', warnings: string[], error: string | null): Promise<ReconcileRun> {
    const run = await this.runs.finish(row.id, owner, status, warnings, error)
    if (!run) return this.load(row.id)
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

  /**
   * Opens a run per target of `request` and queues each for the workers; resolves with the runs
   * (status `running`). A target already being reconciled is skipped; only when all are busy does
   * it throw {@link ReconcileBusyError}.
   */
  async queueRuns(request: Omit<ReconcileRequest, 'provider'> & { provider?: string | undefined }): Promise<ReconcileRun[]> {
    const runs: ReconcileRun[] = []
    let busy: unknown
    for (const target of this.targetsOf(request)) {
      try {
        const run = await this.open(target)
        await this.deps.dispatcher.queue.add(RECONCILE_JOB, { runId: run.id }, { jobId: `reconcile-${run.id}`, removeOnComplete: true, removeOnFail: true })
        runs.push(run)
      } catch (err) {
        if (!(err instanceof ReconcileBusyError)) throw err
        busy = err
      }
    }
    if (runs.length === 0 && busy) throw busy
    return runs
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
  list(options: { limit?: number; provider?: string } = {}): Promise<ReconcileRun[]> {
    return this.runs.list(options.limit ?? 50, options.provider ?? null)
  }

  /** One run, or null (also for an id that is not a UUID). */
  async get(id: string): Promise<ReconcileRun | null> {
    if (!z.uuid().safeParse(id).success) return null
    return (await this.runs.get(id)) ?? null
  }

  private async load(id: string): Promise<ReconcileRun> {
    const run = await this.runs.get(id)
    if (!run) throw new Error(`reconcile run ${id} does not exist`)
    return run
  }
}

/** This execution no longer owns its run (it was taken over after its lease expired). */
class LostLeaseError extends Error {
  constructor() {
    super('the reconcile run was taken over by another execution')
    this.name = 'LostLeaseError'
  }
}

function publicRun(state: RunState): ReconcileRun {
  const { pageCursor: _, ...run } = state
  return run
}

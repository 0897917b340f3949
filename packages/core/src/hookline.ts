/**
 * @module `createHookline`: the one object an application builds. It receives verified deliveries
 * into the inbox, runs the worker and the sweeper, and exposes health and metrics.
 */
import { createDatabase, type Database } from '@hookline/db'
import { pino, type Logger } from 'pino'
import type { ImmediateReply, ParsedEvent, ProviderAdapter, RawRequest } from './adapter.ts'
import { Dispatcher, RECONCILE_JOB, SWEEP_JOB } from './dispatcher.ts'
import { enqueueStored } from './enqueue-stored.ts'
import { errorCodeOf, ConfigError, ReconcileBusyError, StoreUnavailableError, UnknownProviderError } from './errors.ts'
import { type DeadLetterHook, DEFAULT_WORKER_OPTIONS, EventWorker, type WorkerOptions } from './event-worker.ts'
import type { HandlerMap } from './handler.ts'
import { Inbox, type SqlClient } from './inbox.ts'
import { IngestBatcher, type IngestBatchOptions } from './ingest-batcher.ts'
import { EventQuery } from './events-query.ts'
import { HooklineMetrics } from './metrics.ts'
import { type ReconcileAlertHook, Reconciler, type ReconcileRequest, type ReconcileRun, type ReconcileSettings } from './reconciler.ts'
import { Replayer, type ReplaySettings } from './replay.ts'
import { retryPolicy, type RetryPolicy } from './retry-policy.ts'
import { Sweeper, type SweeperOptions } from './sweeper.ts'
import { errorReply, jsonReply, type ReplyOptions, type WebhookReply } from './ingest/webhook-reply.ts'

/** Options of {@link createHookline}. */
export interface HooklineOptions<Tx = never> {
  /** Postgres holding the inbox (and, in library use, the application's tables). */
  databaseUrl: string
  /** Redis for the BullMQ dispatch queue. */
  redisUrl: string
  /** The enabled providers. */
  adapters: ProviderAdapter<any>[]
  /** Handlers keyed by `provider:type`, `provider:*` or `*`; events with none are only recorded. */
  handlers?: HandlerMap<Tx>
  /**
   * The application's own Prisma client: handlers then run in its transaction, and the processed
   * mark is written there too (its database must hold Hookline's tables).
   */
  prisma?: SqlClient
  /** Retry policy (see {@link RetryPolicy}). */
  retry?: Partial<RetryPolicy>
  /** BullMQ key prefix and queue name. */
  queue?: { prefix?: string; name?: string }
  /** Worker tuning (see {@link WorkerOptions}). */
  worker?: Partial<WorkerOptions>
  /** Sweeper tuning (see {@link SweeperOptions}). */
  sweeper?: Partial<SweeperOptions>
  /** Called for every dead-lettered event (alerting). */
  onDeadLetter?: DeadLetterHook
  /**
   * Reconciliation against the providers' APIs: `cron` schedules it (a BullMQ job scheduler, so
   * that many instances run it once); `onAlert` is called when a run recovers events or fails.
   */
  reconcile?: Partial<ReconcileSettings> & { cron?: string; onAlert?: ReconcileAlertHook }
  /** Throttling of support's bulk replays (see {@link ReplaySettings}). */
  replay?: Partial<ReplaySettings>
  /** Group commit of the ingress (see {@link IngestBatchOptions}). */
  ingest?: Partial<IngestBatchOptions>
  /** Logger; defaults to pino at `info`. Secrets and raw bodies are never logged. */
  logger?: Logger
  /**
   * Connections in Hookline's own Postgres pool, shared by its Prisma client and its own
   * statements. The ingress writes at most `ingest.maxConcurrentBatches` batches at once; a worker
   * runs at most `ceil(concurrency / batchSize)` batch transactions plus `singleConcurrency`
   * single-event ones (4 + 6 + 16 with the defaults).
   * @defaultValue 30
   */
  poolMax?: number
}

/** Result of receiving one request. */
export type ReceiveResult =
  | { kind: 'accepted'; id: string; duplicate: boolean; reply?: ParsedEvent['reply'] }
  | ImmediateReply

/** Id of the BullMQ job scheduler that triggers the nightly reconciliation. */
export const RECONCILE_SCHEDULER_ID = 'hookline-reconcile'

/** Headers never stored with an event (credentials of the hop, not of the provider). */
const DROPPED_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization'])

/**
 * A Hookline instance.
 *
 * @example
 * const hookline = createHookline({
 *   databaseUrl: process.env.DATABASE_URL!, redisUrl: 'redis://127.0.0.1:6379',
 *   adapters: [stripeAdapter({ secrets: [process.env.STRIPE_WEBHOOK_SECRET!] })],
 *   handlers: { 'stripe:invoice.paid': async (event, { tx }) => { … } },
 * })
 * app.use(webhookRouter(hookline))
 * await hookline.startWorker()
 */
export class Hookline {
  /** Metrics of this instance (render with `metrics.registry.metrics()`). */
  readonly metrics: HooklineMetrics
  /** The logger. */
  readonly logger: Logger
  /** The enabled adapters by provider name. */
  readonly adapters: ReadonlyMap<string, ProviderAdapter<unknown>>
  /** The inbox. */
  readonly inbox: Inbox
  /** The dispatch queue. */
  readonly dispatcher: Dispatcher
  /** The retry policy in force. */
  readonly policy: RetryPolicy
  private readonly db: SqlClient
  private readonly database: Database
  /** The reconcile engine. */
  readonly reconciler: Reconciler
  /** Support's read side: search and inspect events, overview counts. */
  readonly events: EventQuery
  /** Support's write side: replay and ignore events (audited). */
  readonly replayer: Replayer
  private readonly sweeper: Sweeper
  private readonly ingest: IngestBatcher
  private readonly sweeperOptions: SweeperOptions
  private readonly workerOptions: WorkerOptions
  private worker: EventWorker | undefined
  private closing: Promise<void> | undefined

  constructor(private readonly options: HooklineOptions<any>) {
    this.logger = options.logger ?? pino({ name: 'hookline' })
    this.policy = retryPolicy(options.retry)
    this.workerOptions = { ...DEFAULT_WORKER_OPTIONS, ...options.worker }
    this.sweeperOptions = { intervalMs: 30_000, graceMs: 60_000, batchSize: 500, ...options.sweeper }
    const adapters = new Map<string, ProviderAdapter<unknown>>()
    for (const adapter of options.adapters) {
      if (adapters.has(adapter.name)) throw new ConfigError(`two adapters are named "${adapter.name}"`)
      adapters.set(adapter.name, adapter)
    }
    this.adapters = adapters
    this.database = createDatabase(options.databaseUrl, { poolMax: options.poolMax ?? 30 })
    this.db = this.database.prisma as unknown as SqlClient
    // The inbox's own statements (ingest, claims, sweeps) go to the pool directly: no ORM work per query.
    this.inbox = new Inbox(this.database.pool)
    this.metrics = new HooklineMetrics({ dlqDepth: () => this.inbox.countDead(), defaultMetrics: true })
    this.dispatcher = new Dispatcher(
      { redisUrl: options.redisUrl, prefix: options.queue?.prefix ?? 'hookline', name: options.queue?.name ?? 'events' },
      this.policy,
    )
    this.sweeper = new Sweeper(this.inbox, this.dispatcher, this.metrics, this.sweeperOptions)
    this.ingest = new IngestBatcher(this.inbox, this.sweeperOptions.graceMs, (stored) => enqueueStored(this, stored, 'webhook'), {
      maxBatchSize: 100,
      maxWaitMs: 0,
      maxConcurrentBatches: 4,
      ...options.ingest,
    })
    this.reconciler = new Reconciler({
      db: this.db,
      pool: this.database.pool,
      dispatcher: this.dispatcher,
      adapters: this.adapters,
      metrics: this.metrics,
      logger: this.logger,
      graceMs: this.sweeperOptions.graceMs,
      settings: { windowMs: 25 * 3_600_000, leaseMs: 120_000, timeoutMs: 30 * 60_000, maxRateLimitWaits: 20, ...options.reconcile },
      onAlert: options.reconcile?.onAlert,
    })
    this.events = new EventQuery(this.db)
    this.replayer = new Replayer({
      db: this.db,
      dispatcher: this.dispatcher,
      logger: this.logger,
      graceMs: this.sweeperOptions.graceMs,
      settings: { ratePerSecond: 50, batchSize: 500, ...options.replay },
    })
  }

  /**
   * Verifies, parses and durably stores one delivery, then queues it. Resolves only after the
   * insert committed; a failed enqueue is logged and left to the sweeper. Throws the typed errors
   * of `errors.ts` (see `httpStatusFor`).
   */
  async receive(provider: string, req: RawRequest): Promise<ReceiveResult> {
    const adapter = this.adapters.get(provider)
    if (!adapter) throw this.recordRejection(provider, new UnknownProviderError(provider))
    const stopTimer = this.metrics.ingestDuration.startTimer({ provider })
    try {
      const verified = await adapter.verify(req)
      const parsed = adapter.parse(verified, req)
      if (parsed.kind === 'immediate') return parsed
      // Resolves after the commit holding this delivery, shared with concurrent ones (its job follows).
      const stored = await this.ingest
        .submit(provider, parsed, { source: 'webhook', headers: keptHeaders(req.headers), rawBody: req.body })
        .catch((err: unknown) => {
          throw new StoreUnavailableError('the inbox database is unavailable; retry later', { cause: err })
        })
      stopTimer()
      this.metrics.received.inc({ provider })
      if (!stored.inserted) this.metrics.duplicates.inc({ provider })
      return { kind: 'accepted', id: stored.id, duplicate: !stored.inserted, ...(parsed.reply ? { reply: parsed.reply } : {}) }
    } catch (err) {
      throw this.recordRejection(provider, err)
    }
  }

  /**
   * Receives one delivery and resolves to the HTTP reply to send: `200 {"id","duplicate"}` once
   * durable (or the adapter's protocol answer), else the refusal's status and error JSON (see
   * {@link errorReply}). Never rejects: every refusal is counted and logged here.
   *
   * @example
   * const { status, headers, body } = await hookline.handleWebhook('stripe', { body, headers, receivedAt: new Date() })
   */
  async handleWebhook(provider: string, req: RawRequest, options?: ReplyOptions): Promise<WebhookReply> {
    try {
      const result = await this.receive(provider, req)
      if (result.kind === 'immediate') return jsonReply(result.status, result.body)
      return result.reply ? jsonReply(result.reply.status, result.reply.body) : jsonReply(200, { id: result.id, duplicate: result.duplicate })
    } catch (err) {
      // receive counted and logged it already.
      return errorReply(err, options)
    }
  }

  /**
   * The reply to a delivery a binding refused before Hookline saw it (body too large or unreadable):
   * counted and logged like any other refusal.
   */
  rejectWebhook(provider: string, err: unknown, options?: ReplyOptions): WebhookReply {
    return errorReply(this.recordRejection(provider, err), options)
  }

  /** Counts and logs a refused request (without secrets or body) and returns the error. */
  recordRejection<E>(provider: string, err: E): E {
    const reason = errorCodeOf(err)
    const label = this.adapters.has(provider) ? provider : 'unknown'
    this.metrics.rejected.inc({ provider: label, reason })
    const cause = err instanceof StoreUnavailableError && err.cause instanceof Error ? err.cause.message : undefined
    this.logger.warn({ provider: label, reason, message: err instanceof Error ? err.message : String(err), cause }, 'webhook rejected')
    return err
  }

  /**
   * Starts the worker in this process: a sweeper pass (events Redis lost), the sweeper's job
   * scheduler, and the BullMQ worker.
   */
  async startWorker(): Promise<void> {
    if (this.worker) return
    this.worker = new EventWorker(
      { redisUrl: this.options.redisUrl, prefix: this.options.queue?.prefix ?? 'hookline', name: this.options.queue?.name ?? 'events' },
      {
        inbox: this.inbox,
        handlerClient: this.options.prisma ?? this.db,
        handlers: (this.options.handlers ?? {}) as HandlerMap<never>,
        policy: this.policy,
        options: this.workerOptions,
        metrics: this.metrics,
        logger: this.logger,
        onDeadLetter: this.options.onDeadLetter,
        dispatcher: this.dispatcher,
        maintenance: {
          [SWEEP_JOB]: () => this.sweeper.run(),
          [RECONCILE_JOB]: async (data) => {
            const { runId } = (data ?? {}) as { runId?: string }
            return runId ? this.reconciler.execute(runId) : this.reconciler.runAll('schedule')
          },
        },
      },
    )
    await this.worker.start()
    await this.recoverDispatch()
    // Redis may come back empty (it keeps nothing on disk): restore the scheduler and re-dispatch.
    this.dispatcher.onReconnect(() => void this.recoverDispatch())
  }

  /**
   * Records a reconciliation run per provider and tenant the request covers (see
   * `Reconciler.targetsOf`) and queues them for the workers; resolves with the runs (status
   * `running`). Throws `ReconcileBusyError` while one of the same provider and tenant is alive.
   */
  async reconcile(request: Omit<ReconcileRequest, 'provider'> & { provider?: string | undefined }): Promise<ReconcileRun[]> {
    const runs: ReconcileRun[] = []
    let busy: unknown
    for (const target of this.reconciler.targetsOf(request)) {
      try {
        const run = await this.reconciler.open(target)
        await this.dispatcher.queue.add(RECONCILE_JOB, { runId: run.id }, { jobId: `reconcile-${run.id}`, removeOnComplete: true, removeOnFail: true })
        runs.push(run)
      } catch (err) {
        // A target already being reconciled is skipped; only when all are busy is it an error.
        if (!(err instanceof ReconcileBusyError)) throw err
        busy = err
      }
    }
    if (runs.length === 0 && busy) throw busy
    return runs
  }

  /** Runs a reconciliation in this process and resolves when it ends. */
  reconcileNow(request: ReconcileRequest, onPage?: (run: ReconcileRun) => void): Promise<ReconcileRun> {
    return this.reconciler.run(request, onPage)
  }

  /** Reconciliation runs, newest first. */
  reconcileRuns(options?: { limit?: number; provider?: string }): Promise<ReconcileRun[]> {
    return this.reconciler.list(options)
  }

  /** Runs one sweeper pass now; returns how many events were re-enqueued. */
  sweep(): Promise<number> {
    return this.sweeper.run()
  }

  private async recoverDispatch(): Promise<void> {
    try {
      await this.sweeper.schedule(SWEEP_JOB)
      const cron = this.options.reconcile?.cron
      if (cron) {
        await this.dispatcher.queue.upsertJobScheduler(RECONCILE_SCHEDULER_ID, { pattern: cron }, { name: RECONCILE_JOB, data: {}, opts: { removeOnComplete: true, removeOnFail: true } })
      }
      const n = await this.sweeper.run()
      if (n > 0) this.logger.info({ requeued: n }, 'sweeper re-enqueued overdue events')
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'sweeper pass failed; the next one will retry')
    }
  }

  /** Readiness: rejects unless both Postgres and Redis answer. */
  async checkReady(): Promise<{ postgres: boolean; redis: boolean }> {
    const [pg, redis] = await Promise.allSettled([this.inbox.ping(), this.dispatcher.ping()])
    return { postgres: pg.status === 'fulfilled', redis: redis.status === 'fulfilled' }
  }

  /**
   * Stops the worker, closes the queue and the database pool, without waiting on a Redis that is
   * down. Calling it again returns the same promise.
   */
  close(): Promise<void> {
    return (this.closing ??= (async () => {
      await this.worker?.close()
      await this.dispatcher.close()
      await this.database.close()
    })())
  }
}

/**
 * Builds a {@link Hookline} instance.
 *
 * @example
 * const hookline = createHookline({ databaseUrl, redisUrl, adapters: [stripeAdapter({ secrets })] })
 */
export function createHookline<Tx = never>(options: HooklineOptions<Tx>): Hookline {
  return new Hookline(options)
}

function keptHeaders(headers: RawRequest['headers']): Record<string, string> {
  const kept: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !DROPPED_HEADERS.has(name)) kept[name] = value
  }
  return kept
}

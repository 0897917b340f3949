/**
 * @module `createHookline`: the one object an application builds. It receives verified deliveries
 * into the inbox, runs the worker and the sweeper, and exposes health and metrics.
 */
import { createDatabase, type Database, DEFAULT_SCHEMA } from '@hookline/db'
import { pino, type Logger } from 'pino'
import type { ProviderAdapter, RawRequest } from './adapter.ts'
import { ConfigError } from './errors.ts'
import type { HandlerMap, TransactionClient } from './handler.ts'
import { DEFAULT_INGEST_BATCH_OPTIONS, IngestBatcher, type IngestBatchOptions } from './ingest/ingest-batcher.ts'
import { type ReceiveResult, WebhookReceiver } from './ingest/receiver.ts'
import type { ReplyOptions, WebhookReply } from './ingest/webhook-reply.ts'
import { HooklineMetrics } from './metrics.ts'
import { DEFAULT_QUEUE_CONFIG, Dispatcher, type QueueConfig, RECONCILE_JOB, SWEEP_JOB } from './queue/dispatcher.ts'
import { enqueueStored } from './queue/enqueue-stored.ts'
import { DEFAULT_SWEEPER_OPTIONS, Sweeper, type SweeperOptions } from './queue/sweeper.ts'
import { DEFAULT_RECONCILE_SETTINGS, type ReconcileAlertHook, type ReconcileRequest, type ReconcileRun, type ReconcileSettings } from './reconcile/reconcile-types.ts'
import { Reconciler } from './reconcile/reconciler.ts'
import { Attempts } from './store/attempts.ts'
import { Inbox } from './store/inbox.ts'
import type { SqlClient } from './store/sql-runner.ts'
import { EventQuery } from './support/events-query.ts'
import { DEFAULT_REPLAY_SETTINGS, Replayer, type ReplaySettings } from './support/replay.ts'
import { EventWorker } from './worker/event-worker.ts'
import { retryPolicy, type RetryPolicy } from './worker/retry-policy.ts'
import { type DeadLetterHook, DEFAULT_WORKER_OPTIONS, type WorkerOptions } from './worker/worker-options.ts'

/** Options of {@link createHookline}. */
export interface HooklineOptions<Tx = TransactionClient> {
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
  /**
   * The Postgres schema of Hookline's tables: what `hookline migrate` (or `migrate`) was given.
   * @defaultValue 'hookline'
   */
  schema?: string
}

/** The defaults of {@link HooklineOptions}' own scalars (each nested options object has its own). */
export const DEFAULT_HOOKLINE_OPTIONS = { poolMax: 30, schema: DEFAULT_SCHEMA } as const satisfies Partial<HooklineOptions>

/** Id of the BullMQ job scheduler that triggers the nightly reconciliation. */
export const RECONCILE_SCHEDULER_ID = 'hookline-reconcile'

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
  private readonly attempts: Attempts
  private readonly receiver: WebhookReceiver
  private readonly sweeperOptions: SweeperOptions
  private readonly workerOptions: WorkerOptions
  private worker: EventWorker | undefined
  private closing: Promise<void> | undefined

  constructor(private readonly options: HooklineOptions<any>) {
    this.logger = options.logger ?? pino({ name: 'hookline' })
    this.policy = retryPolicy(options.retry)
    this.workerOptions = { ...DEFAULT_WORKER_OPTIONS, ...options.worker }
    this.sweeperOptions = { ...DEFAULT_SWEEPER_OPTIONS, ...options.sweeper }
    const adapters = new Map<string, ProviderAdapter<unknown>>()
    for (const adapter of options.adapters) {
      if (adapters.has(adapter.name)) throw new ConfigError(`two adapters are named "${adapter.name}"`)
      adapters.set(adapter.name, adapter)
    }
    this.adapters = adapters
    const schema = options.schema ?? DEFAULT_HOOKLINE_OPTIONS.schema
    this.database = createDatabase(options.databaseUrl, { poolMax: options.poolMax ?? DEFAULT_HOOKLINE_OPTIONS.poolMax, schema })
    this.db = this.database.prisma
    const pool = this.database.pool
    const graceMs = this.sweeperOptions.graceMs
    this.inbox = new Inbox(pool, schema)
    this.attempts = new Attempts(pool, schema)
    this.metrics = new HooklineMetrics({ dlqDepth: () => this.inbox.countDead(), defaultMetrics: true })
    this.dispatcher = new Dispatcher(this.queueConfig(), this.policy)
    this.sweeper = new Sweeper(this.inbox, this.dispatcher, this.metrics, this.sweeperOptions)
    const enqueueDeps = { dispatcher: this.dispatcher, inbox: this.inbox, metrics: this.metrics, logger: this.logger }
    const batcher = new IngestBatcher(this.inbox, graceMs, (stored) => enqueueStored(enqueueDeps, stored, 'webhook'), { ...DEFAULT_INGEST_BATCH_OPTIONS, ...options.ingest })
    this.receiver = new WebhookReceiver({ adapters, batcher, metrics: this.metrics, logger: this.logger })
    this.reconciler = new Reconciler({
      pool,
      schema,
      dispatcher: this.dispatcher,
      adapters,
      metrics: this.metrics,
      logger: this.logger,
      graceMs,
      settings: { ...DEFAULT_RECONCILE_SETTINGS, ...options.reconcile },
      onAlert: options.reconcile?.onAlert,
    })
    this.events = new EventQuery(pool, undefined, schema, this.policy.maxAttempts)
    this.replayer = new Replayer({ db: pool, schema, dispatcher: this.dispatcher, logger: this.logger, graceMs, settings: { ...DEFAULT_REPLAY_SETTINGS, ...options.replay } })
  }

  /** Verifies, parses and durably stores one delivery, then queues it (see {@link WebhookReceiver.receive}). */
  receive(provider: string, req: RawRequest): Promise<ReceiveResult> {
    return this.receiver.receive(provider, req)
  }

  /**
   * Receives one delivery and resolves to the HTTP reply to send: `200 {"id","duplicate"}` once
   * durable (or the adapter's protocol answer), else the refusal's status and error JSON (see
   * `errorReply`). Never rejects: every refusal is counted and logged.
   *
   * @example
   * const { status, headers, body } = await hookline.handleWebhook('stripe', { body, headers, receivedAt: new Date() })
   */
  handleWebhook(provider: string, req: RawRequest, options?: ReplyOptions): Promise<WebhookReply> {
    return this.receiver.handleWebhook(provider, req, options)
  }

  /**
   * The reply to a delivery a binding refused before Hookline saw it (body too large or unreadable):
   * counted and logged like any other refusal.
   */
  rejectWebhook(provider: string, err: unknown, options?: ReplyOptions): WebhookReply {
    return this.receiver.rejectWebhook(provider, err, options)
  }

  private queueConfig(): QueueConfig {
    const { prefix = DEFAULT_QUEUE_CONFIG.prefix, name = DEFAULT_QUEUE_CONFIG.name } = this.options.queue ?? {}
    return { redisUrl: this.options.redisUrl, prefix, name }
  }

  /**
   * Starts the worker in this process: a sweeper pass (events Redis lost), the sweeper's job
   * scheduler, and the BullMQ worker.
   */
  async startWorker(): Promise<void> {
    if (this.worker) return
    this.worker = new EventWorker(this.queueConfig(), {
        attempts: this.attempts,
        handlerClient: this.options.prisma ?? this.db,
        handlers: (this.options.handlers ?? {}) as HandlerMap<never>,
        adapters: this.adapters,
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
      })
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
  reconcile(request: Omit<ReconcileRequest, 'provider'> & { provider?: string | undefined }): Promise<ReconcileRun[]> {
    return this.reconciler.queueRuns(request)
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
export function createHookline<Tx = TransactionClient>(options: HooklineOptions<Tx>): Hookline {
  return new Hookline(options)
}

/**
 * @module `createHookline`: the one object an application builds. It receives verified deliveries
 * into the inbox, runs the worker and the sweeper, and exposes health and metrics.
 */
import { createDatabase, type Database, DEFAULT_SCHEMA } from '@hookline/db'
import { Redis } from 'ioredis'
import { pino, type Logger } from 'pino'
import type { ProviderAdapter, RawRequest } from './adapter.ts'
import type { AlertOccurrence } from './alerts/alert.ts'
import { AlertWorker } from './alerts/alert-worker.ts'
import { Alerter } from './alerts/alerter.ts'
import { type AlertOptions, DEFAULT_ALERT_OPTIONS } from './alerts/alert-options.ts'
import { ConfigError, PauseNotFoundError } from './errors.ts'
import { type BreakerOpenHook, type BreakerOptions, type BreakerState, DEFAULT_BREAKER_OPTIONS } from './holds/breaker-options.ts'
import { CircuitBreakers } from './holds/circuit-breakers.ts'
import { EventHolds, type HeldReason } from './holds/event-holds.ts'
import { checkHandlers, type HandlerMap, type TransactionClient } from './handler.ts'
import { DEFAULT_INGEST_BATCH_OPTIONS, IngestBatcher, type IngestBatchOptions } from './ingest/ingest-batcher.ts'
import { type ReceiveResult, WebhookReceiver } from './ingest/receiver.ts'
import type { ReplyOptions, WebhookReply } from './ingest/webhook-reply.ts'
import { HooklineMetrics } from './metrics.ts'
import { type Emit, type EmitInput, outboxChannel, outboxEmitter } from './outbox/emit.ts'
import { DEFAULT_OUTBOX_OPTIONS, type OutboxOptions } from './outbox/outbox-options.ts'
import { OutboxRelay } from './outbox/outbox-relay.ts'
import { DEFAULT_QUEUE_CONFIG, Dispatcher, PRUNE_JOB, type QueueConfig, RECONCILE_JOB, SWEEP_JOB } from './queue/dispatcher.ts'
import { enqueueStored } from './queue/enqueue-stored.ts'
import { DEFAULT_SWEEPER_OPTIONS, Sweeper, type SweeperOptions } from './queue/sweeper.ts'
import { DEFAULT_RECONCILE_SETTINGS, type ReconcileAlertHook, type ReconcileRequest, type ReconcileRun, type ReconcileSettings } from './reconcile/reconcile-types.ts'
import { Reconciler } from './reconcile/reconciler.ts'
import { type PruneResult, Pruner } from './retention/pruner.ts'
import { checkRetention, DEFAULT_RETENTION_OPTIONS, type RetentionOptions } from './retention/retention-options.ts'
import { AlertReads } from './store/alert-reads.ts'
import { Attempts } from './store/attempts.ts'
import { recordAudit } from './store/audit-log.ts'
import { Inbox } from './store/inbox.ts'
import { OutboxStore } from './store/outbox.ts'
import { type Pause, Pauses } from './store/pauses.ts'
import type { SqlClient, SqlTarget } from './store/sql-runner.ts'
import { EventFeed } from './support/event-feed.ts'
import { EventQuery } from './support/events-query.ts'
import { FailureIssues } from './support/failure-issues.ts'
import { DEFAULT_REPLAY_SETTINGS, Replayer, type ReplaySettings } from './support/replay.ts'
import { EventWorker } from './worker/event-worker.ts'
import { SATURATION_TTL_MS, SaturationSignal } from './yield/saturation-signal.ts'
import type { IssueHook } from './worker/issue-hook.ts'
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
  /** Called for every dead-lettered event. */
  onDeadLetter?: DeadLetterHook
  /** Circuit breakers per route (see {@link BreakerOptions}). */
  breaker?: Partial<BreakerOptions>
  /** Called each time a circuit breaker opens or reopens (alerting). */
  onBreakerOpen?: BreakerOpenHook
  /** Called when a failure opens a new issue or reopens a resolved one (alerting). */
  onIssue?: IssueHook
  /**
   * Alerts (see {@link AlertOptions}): `sinks` (e.g. `alertSinksFromUrls(urls, secret)`) and
   * `onAlert` receive grouped, rate-limited alerts, delivered by the worker processes.
   */
  alerts?: Partial<AlertOptions>
  /**
   * Reconciliation against the providers' APIs: `cron` schedules it (a BullMQ job scheduler, so
   * that many instances run it once); `onAlert` is called when a run recovers events or fails.
   */
  reconcile?: Partial<ReconcileSettings> & { cron?: string; onAlert?: ReconcileAlertHook }
  /** Throttling of support's bulk replays (see {@link ReplaySettings}). */
  replay?: Partial<ReplaySettings>
  /** The transactional outbox: the provider name of emitted events and the relay (see {@link OutboxOptions}). */
  outbox?: Partial<OutboxOptions>
  /** How long payloads, events and audit rows are kept (see {@link RetentionOptions}). */
  retention?: Partial<RetentionOptions>
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

/** Id of the BullMQ job scheduler that triggers the retention passes. */
export const PRUNE_SCHEDULER_ID = 'hookline-prune'

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
  /** The inbox as a stream in order of arrival (`GET /admin/api/events/stream`, `hookline listen`). */
  readonly feed: EventFeed
  /** Support's write side: replay and ignore events (audited). */
  readonly replayer: Replayer
  /** Failures grouped into issues: list, inspect, replay and resolve them (audited). */
  readonly issues: FailureIssues
  private readonly sweeper: Sweeper
  private readonly pauseStore: Pauses
  private readonly breakerStore: CircuitBreakers
  private readonly breakerRedis: Redis
  private readonly holds: EventHolds
  private readonly attempts: Attempts
  private readonly receiver: WebhookReceiver
  private readonly sweeperOptions: SweeperOptions
  private readonly workerOptions: WorkerOptions
  private readonly outboxOptions: OutboxOptions
  private readonly emitter: Emit
  private readonly relay: OutboxRelay
  private readonly retention: RetentionOptions
  private readonly pruner: Pruner
  private readonly saturation: SaturationSignal
  private worker: EventWorker | undefined
  /** Groups alerts and routes them to the sinks. */
  readonly alerter: Alerter
  private alertWorker: AlertWorker | undefined
  private closing: Promise<void> | undefined

  constructor(private readonly options: HooklineOptions<any>) {
    this.logger = options.logger ?? pino({ name: 'hookline' })
    this.policy = retryPolicy(options.retry)
    this.workerOptions = { ...DEFAULT_WORKER_OPTIONS, ...options.worker }
    this.sweeperOptions = { ...DEFAULT_SWEEPER_OPTIONS, ...options.sweeper }
    this.outboxOptions = { ...DEFAULT_OUTBOX_OPTIONS, ...options.outbox }
    this.retention = { ...DEFAULT_RETENTION_OPTIONS, ...options.retention }
    checkRetention(this.retention, options.reconcile?.windowMs ?? DEFAULT_RECONCILE_SETTINGS.windowMs)
    checkHandlers(options.handlers ?? {})
    const adapters = new Map<string, ProviderAdapter<unknown>>()
    for (const adapter of options.adapters) {
      if (adapters.has(adapter.name)) throw new ConfigError(`two adapters are named "${adapter.name}"`)
      adapters.set(adapter.name, adapter)
    }
    if (adapters.has(this.outboxOptions.provider)) throw new ConfigError(`the outbox provider "${this.outboxOptions.provider}" is also an adapter's name`)
    this.adapters = adapters
    const schema = options.schema ?? DEFAULT_HOOKLINE_OPTIONS.schema
    this.database = createDatabase(options.databaseUrl, { poolMax: options.poolMax ?? DEFAULT_HOOKLINE_OPTIONS.poolMax, schema })
    this.db = this.database.prisma
    const pool = this.database.pool
    const graceMs = this.sweeperOptions.graceMs
    this.inbox = new Inbox(pool, schema)
    this.attempts = new Attempts(pool, schema)
    this.pauseStore = new Pauses(pool, schema)
    const queue = this.queueConfig()
    // Like the dispatcher's: a breaker read never waits for a Redis that is down (it counts as closed).
    this.breakerRedis = new Redis(queue.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000, retryStrategy: (n) => Math.min(n * 200, 2000) })
    this.breakerRedis.on('error', () => undefined)
    this.breakerStore = new CircuitBreakers(this.breakerRedis, `${queue.prefix}:${queue.name}:breaker`, { ...DEFAULT_BREAKER_OPTIONS, ...options.breaker })
    this.holds = new EventHolds(this.pauseStore, this.breakerStore, options.handlers ?? {}, this.logger)
    const outbox = new OutboxStore(pool, schema)
    this.metrics = new HooklineMetrics({
      dlqDepth: () => this.inbox.countDead(),
      outboxLag: () => outbox.lagSeconds(),
      breakers: () => this.breakerStore.list(),
      heldNow: () => this.holds.heldNow(),
      openIssues: () => this.issues.countOpen(),
      defaultMetrics: true,
    })
    this.emitter = outboxEmitter(schema, this.metrics)
    this.dispatcher = new Dispatcher(this.queueConfig(), this.policy)
    this.alerter = new Alerter(this.queueConfig(), { ...DEFAULT_ALERT_OPTIONS, ...options.alerts }, this.logger)
    this.sweeper = new Sweeper(this.inbox, this.dispatcher, this.metrics, this.sweeperOptions)
    const enqueueDeps = { dispatcher: this.dispatcher, inbox: this.inbox, metrics: this.metrics, logger: this.logger }
    this.saturation = new SaturationSignal(() => this.dispatcher.reportSaturated(SATURATION_TTL_MS))
    const batcher = new IngestBatcher(this.inbox, graceMs, (stored) => enqueueStored(enqueueDeps, stored, 'webhook'), { ...DEFAULT_INGEST_BATCH_OPTIONS, ...options.ingest })
    this.receiver = new WebhookReceiver({
      adapters,
      batcher,
      metrics: this.metrics,
      logger: this.logger,
      onRejected: (provider, reason) => {
        if (reason === 'hookline.signature_invalid') this.alerter.countRejection(provider)
      },
      onRequest: () => this.saturation.noteRequest(),
    })
    this.reconciler = new Reconciler({
      pool,
      schema,
      dispatcher: this.dispatcher,
      adapters,
      metrics: this.metrics,
      logger: this.logger,
      graceMs,
      settings: { ...DEFAULT_RECONCILE_SETTINGS, ...options.reconcile },
      onAlert: async (run) => {
        if (run.status === 'failed') this.raise({ type: 'reconcile_failed', provider: run.provider, ids: [run.id], details: { tenant: run.tenant, error: run.lastError, recovered: run.recovered } })
        else this.raise({ type: 'reconcile_recovered', provider: run.provider, count: run.recovered, ids: [run.id], details: { tenant: run.tenant, scanned: run.scanned } })
        await options.reconcile?.onAlert?.(run)
      },
    })
    this.relay = new OutboxRelay({
      pool,
      schema,
      channel: outboxChannel(schema),
      options: this.outboxOptions,
      redisUrl: options.redisUrl,
      dispatcher: this.dispatcher,
      metrics: this.metrics,
      logger: this.logger,
      graceMs,
    })
    this.pruner = new Pruner(pool, schema, this.retention, this.metrics, this.logger)
    this.events = new EventQuery(pool, undefined, schema, this.policy.maxAttempts)
    this.feed = new EventFeed(pool, schema, this.policy.maxAttempts)
    this.replayer = new Replayer({ db: pool, schema, dispatcher: this.dispatcher, logger: this.logger, graceMs, settings: { ...DEFAULT_REPLAY_SETTINGS, ...options.replay } })
    this.issues = new FailureIssues(pool, schema, this.events, this.replayer)
  }

  /**
   * Raises an alert occurrence (grouped with others of its type and provider, then sent to the
   * sinks by a worker); returns at once. No-op without sinks or for a disabled kind.
   *
   * @example
   * hookline.raise({ type: 'dead_letter', provider: 'stripe', ids: [id], details: { error: 'boom' } })
   */
  raise(occurrence: AlertOccurrence): void {
    this.alerter.raise(occurrence)
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

  /** The provider name of the application's own events in the inbox (see `outbox.provider`). */
  get outboxProvider(): string {
    return this.outboxOptions.provider
  }

  /**
   * Writes an event of the application's own to the outbox inside the transaction `tx` runs: the
   * application's Prisma interactive-transaction client (its database must hold Hookline's
   * tables), or a `pg` connection in a transaction. It is delivered to the handlers of
   * `<outbox provider>:<type>` through the inbox if and only if that transaction commits; events
   * of one `key` in the order their transactions committed. Resolves to the event's id.
   *
   * @example
   * await prisma.$transaction(async (tx) => {
   *   await tx.order.update({ where: { id }, data: { status: 'paid' } })
   *   await hookline.emit(tx, { type: 'order.paid', key: id, payload: { id } })
   * })
   */
  emit(tx: SqlTarget, event: EmitInput): Promise<string> {
    return this.emitter(tx, event)
  }

  /**
   * Starts the outbox relay in this process (`startWorker` does, unless `outbox.relay` is false): it moves committed outbox events
   * into the inbox. Any number of processes may run one.
   */
  startRelay(): Promise<void> {
    return this.relay.start()
  }

  private queueConfig(): QueueConfig {
    const { prefix = DEFAULT_QUEUE_CONFIG.prefix, name = DEFAULT_QUEUE_CONFIG.name } = this.options.queue ?? {}
    return { redisUrl: this.options.redisUrl, prefix, name }
  }

  /**
   * Starts the worker in this process: the BullMQ worker, the outbox relay, a sweeper pass (events
   * Redis lost) and the sweeper's job scheduler.
   */
  async startWorker(): Promise<void> {
    if (this.worker) return
    this.worker = new EventWorker(this.queueConfig(), {
        attempts: this.attempts,
        handlerClient: this.options.prisma ?? this.db,
        handlers: (this.options.handlers ?? {}) as HandlerMap<never>,
        adapters: this.adapters,
        emit: this.emitter,
        policy: this.policy,
        options: this.workerOptions,
        metrics: this.metrics,
        logger: this.logger,
        onDeadLetter: async (event, error) => {
          this.raise({ type: 'dead_letter', provider: event.provider, ids: [event.id], details: { eventType: event.type, error: error.message } })
          await this.options.onDeadLetter?.(event, error)
        },
        holds: this.holds,
        breakers: this.breakerStore,
        onBreakerOpen: async (breaker) => {
          this.raise({ type: 'breaker_open', key: breaker.route, ids: [], details: { route: breaker.route, openUntil: breaker.openUntil?.toISOString() ?? null, failures: breaker.failures } })
          await this.options.onBreakerOpen?.(breaker)
        },
        onIssue: async (issue, event) => {
          const { fingerprint, route, errorClass, message } = issue
          this.raise({ type: issue.change === 'new' ? 'issue_new' : 'issue_reopened', provider: event.provider, key: fingerprint, ids: [event.id], details: { fingerprint, route, errorClass, message } })
          await this.options.onIssue?.(issue, event)
        },
        dispatcher: this.dispatcher,
        maintenance: {
          [SWEEP_JOB]: () => this.sweeper.run(),
          [PRUNE_JOB]: () => this.pruner.run(),
          [RECONCILE_JOB]: async (data) => {
            const { runId } = (data ?? {}) as { runId?: string }
            return runId ? this.reconciler.execute(runId) : this.reconciler.runAll('schedule')
          },
        },
      })
    await this.worker.start()
    if (this.outboxOptions.relay) await this.startRelay()
    if (this.alerter.sinks.size > 0) {
      const reads = new AlertReads(this.database.pool, this.options.schema ?? DEFAULT_HOOKLINE_OPTIONS.schema)
      this.alertWorker = new AlertWorker(this.queueConfig(), { alerter: this.alerter, inbox: this.inbox, reads, providers: [...this.adapters.keys()], metrics: this.metrics, logger: this.logger })
      await this.alertWorker.start()
    }
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

  /**
   * Holds the events of a provider (and a type, or a prefix ending in `*`): deliveries are still
   * verified, stored and answered, but none of them runs, and none spends an attempt, until
   * {@link resume}. Audited.
   *
   * @example
   * await hookline.pause({ provider: 'stripe', type: 'invoice.*' }, { actor: 'ana', note: 'billing migration' })
   */
  async pause(scope: { provider: string; type?: string | undefined }, by: { actor: string; note?: string | undefined }): Promise<Pause> {
    const pause = await this.pauseStore.add(scope, by)
    this.holds.pausesChanged()
    return pause
  }

  /**
   * Lifts the pause of exactly this scope (audited) and queues the events it held, oldest first
   * (events of one entity still run in their order); resolves with how many it released. Throws
   * `PauseNotFoundError` when the scope is not paused.
   */
  async resume(scope: { provider: string; type?: string | undefined }, by: { actor: string; note?: string | undefined }): Promise<{ released: number }> {
    const ids = await this.pauseStore.remove(scope, by, this.sweeperOptions.graceMs)
    if (ids === undefined) throw new PauseNotFoundError(scope.provider, scope.type)
    await this.dispatcher.enqueue(ids).catch((err: unknown) => {
      this.logger.warn({ events: ids.length, err: (err as Error).message }, 'enqueue of resumed events failed; the sweeper will dispatch them')
    })
    return { released: ids.length }
  }

  /** The pauses in force, oldest first. */
  pauses(): Promise<Pause[]> {
    return this.pauseStore.list()
  }

  /** Every circuit breaker that has counted a failure, with its state. */
  breakers(): Promise<BreakerState[]> {
    return this.breakerStore.list()
  }

  /** Why an event would be held now (paused scope, open breaker), for its detail; undefined when it would run. */
  heldReason(event: { provider: string; type: string; status: string }): Promise<HeldReason | undefined> {
    return this.holds.reasonFor(event)
  }

  /** Runs one sweeper pass now; returns how many events were re-enqueued. */
  sweep(): Promise<number> {
    return this.sweeper.run()
  }

  /**
   * Runs one retention pass now (the workers run one every `retention.intervalMs`); with `dryRun`,
   * counts what it would remove instead. A pass with an `actor` is audited.
   */
  async prune(options: { dryRun?: boolean; actor?: string } = {}): Promise<PruneResult> {
    const result = await this.pruner.run(options)
    if (options.actor && !result.dryRun) {
      const { payloads, events, audit } = result
      await recordAudit(this.database.pool, { actor: options.actor, action: 'prune', count: payloads + events + audit, filter: { payloads, events, audit } }, this.options.schema ?? DEFAULT_HOOKLINE_OPTIONS.schema)
    }
    return result
  }

  private async recoverDispatch(): Promise<void> {
    try {
      await this.sweeper.schedule(SWEEP_JOB)
      if (this.pruner.enabled) {
        await this.dispatcher.queue.upsertJobScheduler(PRUNE_SCHEDULER_ID, { every: this.retention.intervalMs }, { name: PRUNE_JOB, opts: { removeOnComplete: true, removeOnFail: true } })
      } else {
        await this.dispatcher.queue.removeJobScheduler(PRUNE_SCHEDULER_ID)
      }
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
      this.saturation.close()
      this.feed.close()
      await this.relay.close()
      await this.worker?.close()
      await this.alertWorker?.close()
      await this.alerter.close()
      await this.dispatcher.close()
      this.breakerRedis.disconnect()
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

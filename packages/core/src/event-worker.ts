/**
 * @module The worker: a BullMQ `Worker` whose jobs claim an inbox event, run its handler and write
 * the processed mark in one transaction, and turn failures into retries or dead letters.
 */
import { type Job, Worker } from 'bullmq'
import { Redis } from 'ioredis'
import type { Logger } from 'pino'
import { PROCESS_JOB, type ProcessJobData, type QueueConfig } from './dispatcher.ts'
import { isPermanentError, retryAfterMsOf } from './errors.ts'
import type { HandlerContext, HandlerMap, HooklineEvent, TransactionClient } from './handler.ts'
import { resolveHandler } from './handler.ts'
import type { ClaimedEvent, Inbox, SqlClient } from './inbox.ts'
import type { HooklineMetrics } from './metrics.ts'
import { backoffDelayMs, decideAfterFailure, type RetryPolicy } from './retry-policy.ts'

/** Tuning of the worker. */
export interface WorkerOptions {
  /**
   * Jobs processed at once by one worker process.
   * @defaultValue 10
   */
  concurrency: number
  /**
   * Longest a handler's transaction may run before it is rolled back and retried.
   * @defaultValue 30_000
   */
  handlerTimeoutMs: number
  /**
   * BullMQ job lock: after a worker dies, its job is re-run once the lock expires.
   * @defaultValue 30_000
   */
  lockDurationMs: number
  /**
   * What happens to an event older than the newest one applied to its entity: `skip` records it as
   * processed (stale) without running the handler; `deliver` runs the handler with `ctx.stale`.
   * @defaultValue 'skip'
   */
  stale: 'skip' | 'deliver'
}

/** Called once for every event moved to the dead-letter queue. */
export type DeadLetterHook = (event: HooklineEvent, error: { message: string; stack: string | null }) => void | Promise<void>

/** The error a failed attempt is rethrown as, carrying the delay the retry policy chose. */
class RetryScheduledError extends Error {
  constructor(
    message: string,
    readonly delayMs: number,
  ) {
    super(message)
    this.name = 'RetryScheduledError'
  }
}

type Outcome = 'succeeded' | 'stale' | 'skipped'

/** What the worker needs from the rest of Hookline. */
export interface EventWorkerDeps {
  inbox: Inbox
  /** Client whose transaction the handlers run in (the application's own, or Hookline's). */
  handlerClient: SqlClient
  handlers: HandlerMap<never>
  policy: RetryPolicy
  options: WorkerOptions
  metrics: HooklineMetrics
  logger: Logger
  onDeadLetter?: DeadLetterHook | undefined
  /** Processors of the maintenance jobs (sweeper, reconciliation), by job name. */
  maintenance: Record<string, (data: unknown) => Promise<unknown>>
}

/**
 * Processes inbox events from the queue.
 *
 * @example
 * const worker = new EventWorker(queueConfig, deps)
 * await worker.start()
 */
export class EventWorker {
  private worker: Worker | undefined
  private connection: Redis | undefined

  constructor(
    private readonly queue: QueueConfig,
    private readonly deps: EventWorkerDeps,
  ) {}

  /** Starts consuming jobs. */
  async start(): Promise<void> {
    const { options, policy, logger } = this.deps
    // Workers block on Redis and must wait through outages rather than fail commands.
    this.connection = new Redis(this.queue.redisUrl, { maxRetriesPerRequest: null, retryStrategy: (n) => Math.min(n * 200, 2000) })
    this.connection.on('error', () => undefined)
    this.worker = new Worker(this.queue.name, (job) => this.run(job), {
      connection: this.connection,
      prefix: this.queue.prefix,
      concurrency: options.concurrency,
      lockDuration: options.lockDurationMs,
      stalledInterval: Math.max(1000, Math.floor(options.lockDurationMs / 2)),
      settings: {
        backoffStrategy: (attemptsMade: number, _type?: string, err?: Error) =>
          err instanceof RetryScheduledError ? err.delayMs : backoffDelayMs(policy, attemptsMade),
      },
    })
    this.worker.on('error', (err) => logger.warn({ err: err.message }, 'worker connection error'))
    await this.worker.waitUntilReady()
  }

  /** Stops taking jobs and waits for the running ones to finish. */
  async close(): Promise<void> {
    await this.worker?.close()
    this.connection?.disconnect()
  }

  private async run(job: Job): Promise<unknown> {
    if (job.name === PROCESS_JOB) return this.processEvent((job.data as ProcessJobData).id)
    const maintenance = this.deps.maintenance[job.name]
    return maintenance ? maintenance(job.data) : undefined
  }

  /** One attempt at one event. Resolves when finished (processed, skipped or dead); throws to retry. */
  private async processEvent(id: string): Promise<Outcome | 'dead' | 'none'> {
    const { inbox, options, policy, metrics } = this.deps
    const leaseMs = options.handlerTimeoutMs + options.lockDurationMs
    const event = await inbox.claim(id, leaseMs)
    if (!event) return 'none'
    const stopTimer = metrics.processingDuration.startTimer({ provider: event.provider })
    if (event.attempt > policy.maxAttempts) {
      // Only reachable when workers died during earlier attempts (a handler that kills the process).
      return this.fail(event, new Error(`attempts exhausted: the worker stopped during ${event.attempt - 1} attempts`), true)
    }
    try {
      const outcome = await this.deps.handlerClient.$transaction(
        (tx) => this.attempt(tx as TransactionClient, event),
        { timeout: options.handlerTimeoutMs, maxWait: options.handlerTimeoutMs },
      )
      stopTimer()
      if (outcome !== 'skipped') {
        metrics.processed.inc({ provider: event.provider, outcome })
        metrics.endToEnd.observe({ provider: event.provider }, (Date.now() - event.receivedAt.getTime()) / 1000)
      }
      return outcome
    } catch (err) {
      stopTimer()
      return this.fail(event, err, isPermanentError(err))
    }
  }

  private async attempt(tx: TransactionClient, event: ClaimedEvent): Promise<Outcome> {
    const { inbox, options, handlers, logger } = this.deps
    const locked = await inbox.lockForProcessing(tx, event.id)
    if (locked?.status !== 'processing') {
      await inbox.discardAttempt(tx, event)
      return 'skipped'
    }
    const newest = locked.newestApplied
    const stale = event.occurredAt !== null && newest !== null && event.occurredAt < newest
    if (!stale || options.stale === 'deliver') {
      const handler = resolveHandler(handlers as HandlerMap<TransactionClient>, event.provider, event.type)
      if (handler) {
        const log = logger.child({ eventId: event.id, provider: event.provider, type: event.type, attempt: event.attempt })
        const ctx: HandlerContext = {
          tx,
          attempt: event.attempt,
          stale,
          log,
          idempotencyKey: (step) => `hookline:${event.id}:g${event.generation}:${step}`,
        }
        await handler(publicEvent(event), ctx)
      }
    }
    await inbox.markProcessed(tx, event, stale)
    return stale ? 'stale' : 'succeeded'
  }

  private async fail(event: ClaimedEvent, err: unknown, permanent: boolean): Promise<'dead'> {
    const { inbox, policy, options, metrics, logger, onDeadLetter } = this.deps
    const error = describeError(err)
    const decision = decideAfterFailure(policy, event.attempt, permanent, retryAfterMsOf(err))
    const log = logger.child({ eventId: event.id, provider: event.provider, type: event.type, attempt: event.attempt })
    if (decision.action === 'retry') {
      // The sweeper may take over if Redis loses the delayed job: give it the delay plus a lease.
      await inbox.recordFailure(event, 'failed', error, decision.delayMs + options.lockDurationMs)
      metrics.retried.inc({ provider: event.provider })
      log.warn({ err: error.message, retryInMs: decision.delayMs }, 'handler failed; retry scheduled')
      throw new RetryScheduledError(error.message, decision.delayMs)
    }
    if (await inbox.recordFailure(event, 'dead', error, 0)) {
      metrics.dead.inc({ provider: event.provider })
      log.error({ err: error.message }, 'event dead-lettered')
      try {
        await onDeadLetter?.(publicEvent(event), error)
      } catch (hookErr) {
        log.error({ err: describeError(hookErr).message }, 'onDeadLetter hook failed')
      }
    }
    return 'dead'
  }
}

function publicEvent(event: ClaimedEvent): HooklineEvent {
  const { id, provider, eventKey, type, tenant, entityKey, occurredAt, source, payload, generation } = event
  return { id, provider, eventKey, type, tenant, entityKey, occurredAt, source, payload, generation }
}

/** Message and stack of anything thrown (handlers may throw non-Errors). */
function describeError(err: unknown): { message: string; stack: string | null } {
  if (err instanceof Error) return { message: `${err.name}: ${err.message}`, stack: err.stack ?? null }
  return { message: String(err), stack: null }
}

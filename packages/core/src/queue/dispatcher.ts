/**
 * @module The dispatch queue (BullMQ on Redis). New events are queued one job per committed batch
 * (an ingress group commit, a reconciled page); an event queued alone (a retry, the sweeper, a
 * replay) gets a job whose id is its inbox id, so that adding it twice is a no-op. Redis is only the
 * dispatch path; Postgres stays the truth.
 */
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { saturationKey } from '../yield/saturation-signal.ts'
import { closeWhileConnected } from './bullmq-close.ts'
import type { RetryPolicy } from '../worker/retry-policy.ts'

/** Where the queue lives. */
export interface QueueConfig {
  /** `redis://` URL. */
  redisUrl: string
  /**
   * Key prefix of every BullMQ key; give each test or environment its own.
   * @defaultValue 'hookline'
   */
  prefix: string
  /**
   * Queue name.
   * @defaultValue 'events'
   */
  name: string
}

/** The defaults of {@link QueueConfig} (the URL has none). */
export const DEFAULT_QUEUE_CONFIG: Readonly<Omit<QueueConfig, 'redisUrl'>> = { prefix: 'hookline', name: 'events' }

/** Name of the job that processes one inbox event. */
export const PROCESS_JOB = 'process'
/** Name of the job that processes the new events of one committed batch. */
export const PROCESS_BATCH_JOB = 'process-batch'
/** Name of the periodic sweeper job. */
export const SWEEP_JOB = 'sweep'
/** Name of a reconciliation job: `{ runId }` executes one recorded run, `{}` reconciles everything. */
export const RECONCILE_JOB = 'reconcile'
/** Name of the periodic retention job. */
export const PRUNE_JOB = 'prune'
/** Name of the backoff strategy the worker registers (delays come from the retry policy). */
export const BACKOFF_TYPE = 'hookline'

/** Data of a {@link PROCESS_JOB} job. */
export interface ProcessJobData {
  id: string
}

/** Data of a {@link PROCESS_BATCH_JOB} job: inbox ids. */
export interface ProcessBatchJobData {
  ids: string[]
}

/**
 * Adds processing jobs. Its Redis connection does not queue commands while Redis is down, so that
 * a webhook request never waits for Redis: a failed add is left to the sweeper.
 *
 * @example
 * const d = new Dispatcher({ redisUrl, prefix: 'hookline', name: 'events' }, policy)
 * await d.enqueue([eventId])
 */
export class Dispatcher {
  /** The BullMQ queue (also used to manage the sweeper's job scheduler). */
  readonly queue: Queue
  private readonly connection: Redis
  private readonly saturationKey: string

  constructor(
    config: QueueConfig,
    private readonly policy: RetryPolicy,
    private readonly timeoutMs = 2000,
  ) {
    this.connection = new Redis(config.redisUrl, {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      connectTimeout: timeoutMs,
      // Keep reconnecting (capped) so that dispatch resumes by itself when Redis is back.
      retryStrategy: (times) => Math.min(times * 200, 2000),
    })
    // ioredis emits 'error' on every failed reconnect; an unhandled one would crash the process.
    this.connection.on('error', () => undefined)
    this.queue = new Queue(config.name, { connection: this.connection, prefix: config.prefix })
    this.saturationKey = saturationKey(config.prefix, config.name)
    this.queue.on('error', () => undefined)
  }

  /**
   * Adds one processing job per id (existing jobs are left as they are), each after its entry of
   * `delaysMs` when given. Rejects on Redis failure or timeout.
   */
  async enqueue(ids: readonly string[], delaysMs?: readonly number[]): Promise<void> {
    if (ids.length === 0) return
    const jobs = ids.map((id, i) => ({
      name: PROCESS_JOB,
      data: { id } satisfies ProcessJobData,
      opts: { ...this.jobOptions(), jobId: id, delay: delaysMs?.[i] ?? 0 },
    }))
    await withTimeout(this.queue.addBulk(jobs), this.timeoutMs, 'enqueue')
  }

  /**
   * Adds one processing job per event that waited for an earlier one of its entity, named after
   * the wait it ends: the job it waited in may not be gone yet, and adding under that id would be
   * a no-op. Event `i` runs after `delaysMs[i]` when given (a hold's end). Rejects on Redis failure
   * or timeout.
   */
  async wake(events: readonly { id: string; waits: number }[], delaysMs?: readonly number[]): Promise<void> {
    if (events.length === 0) return
    const jobs = events.map(({ id, waits }, i) => ({
      name: PROCESS_JOB,
      data: { id } satisfies ProcessJobData,
      opts: { ...this.jobOptions(), jobId: `wake-${waits}-${id}`, delay: Math.max(0, delaysMs?.[i] ?? 0) },
    }))
    await withTimeout(this.queue.addBulk(jobs), this.timeoutMs, 'wake')
  }

  /**
   * Adds one processing job per event a closing circuit breaker released, named after the hold it
   * ends (`release-<waits>-<id>`): not after the inbox id, since the job that held the event may
   * still be finishing under that id (adding under it would be a no-op), nor after its wake-up,
   * which stays queued for the hold's end and then finds the event done. Rejects on Redis failure
   * or timeout.
   */
  async release(events: readonly { id: string; waits: number }[]): Promise<void> {
    if (events.length === 0) return
    const jobs = events.map(({ id, waits }) => ({
      name: PROCESS_JOB,
      data: { id } satisfies ProcessJobData,
      opts: { ...this.jobOptions(), jobId: `release-${waits}-${id}` },
    }))
    await withTimeout(this.queue.addBulk(jobs), this.timeoutMs, 'release')
  }

  /**
   * Adds one job for the new events `ids` of one commit, whose id is `batch-` and the first id (so
   * that adding the same batch twice is a no-op). A BullMQ job costs a Lua script in Redis and tens
   * of µs of the caller's CPU however little it carries: one per batch instead of one per event is
   * what lets the ingress keep up (docs/performance.md). Rejects on Redis failure or timeout.
   */
  async enqueueBatch(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return
    const data: ProcessBatchJobData = { ids: [...ids] }
    await withTimeout(this.queue.add(PROCESS_BATCH_JOB, data, { ...this.jobOptions(), jobId: `batch-${ids[0]}` }), this.timeoutMs, 'enqueue')
  }

  private jobOptions() {
    return {
      // The inbox row counts attempts and decides on dead letters; BullMQ's count is only a
      // backstop and may restart at 0 when the sweeper re-creates a job Redis lost.
      attempts: this.policy.maxAttempts + 1,
      backoff: { type: BACKOFF_TYPE },
      removeOnComplete: true,
      removeOnFail: true,
    }
  }

  /**
   * Queues replayed events, event `i` after `delaysMs[i]`: a leftover idle job of the same id (a
   * failed event's pending retry) is removed first, so that the replay runs at its own time with a
   * fresh BullMQ attempt count. A job running right now is kept: it will find the event replayed.
   */
  async requeue(ids: readonly string[], delaysMs: readonly number[]): Promise<void> {
    await withTimeout(Promise.all(ids.map((id) => this.queue.remove(id))), this.timeoutMs, 'remove replaced jobs')
    await this.enqueue(ids, delaysMs)
  }

  /**
   * When the oldest job still waiting in the queue was added (by the adding process's clock), or
   * undefined when none waits. Workers take jobs in the order they were added: a job added after
   * that one has not been reached yet.
   */
  async oldestWaitingSince(): Promise<Date | undefined> {
    const [job] = await withTimeout(this.queue.getJobs(['wait'], 0, 0, true), this.timeoutMs, 'oldest waiting job')
    return job ? new Date(job.timestamp) : undefined
  }

  /** Reports the ingress saturated for `ttlMs` to the queue's workers (see `yield-gate.ts`). */
  async reportSaturated(ttlMs: number): Promise<void> {
    await this.connection.set(this.saturationKey, '1', 'PX', ttlMs)
  }

  /** Resolves when Redis answers a PING within the timeout. */
  async ping(): Promise<void> {
    await withTimeout(this.connection.ping(), this.timeoutMs, 'redis ping')
  }

  /** Runs `listener` each time the queue's Redis connection becomes ready again after a loss. */
  onReconnect(listener: () => void): void {
    let lost = false
    this.connection.on('close', () => {
      lost = true
    })
    this.connection.on('ready', () => {
      if (lost) listener()
      lost = false
    })
  }

  /** Closes the queue and its connection (without waiting on a Redis that is down). */
  async close(): Promise<void> {
    await closeWhileConnected(() => this.queue.close(), this.connection)
  }
}

/** Rejects when `promise` has not settled after `ms` milliseconds. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

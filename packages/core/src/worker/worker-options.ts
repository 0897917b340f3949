/**
 * @module The worker's tuning, its defaults, and the dead-letter hook.
 */
import type { HooklineEvent } from '../handler.ts'

/** Tuning of the worker. */
export interface WorkerOptions {
  /**
   * Jobs processed at once by one worker process (first attempts share transactions, see
   * `batchSize`); a job carries one event, or the new events of one ingress commit or reconciled
   * page. Several batches in flight hide each one's round trips: on 2 cores the drain runs ~30 %
   * faster at 300 than at 100 (docs/performance.md).
   * @defaultValue 400
   */
  concurrency: number
  /**
   * Most events whose first attempts share one transaction (one claim, one lock statement, one
   * processed-mark statement and one commit for all of them); 1 gives each event its own. Should
   * one of them fail, the others are rolled back with it and each is attempted again alone. The
   * batch's transaction is bounded by `handlerTimeoutMs` as a whole.
   * @defaultValue 100
   */
  batchSize: number
  /**
   * Transactions of single events (retries, and the events of a batch that rolled back) running at
   * once; more wait their turn in the process, holding no database connection and spending no
   * attempt. Keep `ceil(concurrency / batchSize)` + this + the ingress's batches within the pool.
   * @defaultValue 16
   */
  singleConcurrency: number
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
   * What happens to an event older than the newest one applied to its entity: `skip` finishes it as
   * `skipped_stale` without running the handler; `deliver` runs the handler with `ctx.stale` (the
   * event is then `processed`, with `stale` true).
   * @defaultValue 'skip'
   */
  stale: 'skip' | 'deliver'
  /**
   * Longest the worker holds its batches back while the ingress of its queue is saturated (its
   * event loop busy with webhooks), so that a burst is answered at the speed of the ingress alone
   * on the cores they share; the events wait in the queue and are processed after it. The ingress
   * cannot tell a burst from a steady load it is busy with, so under a steady load processing
   * waits this long too: off by default, for senders whose bursts matter more than a processing
   * delay. Past it, and with 0, the worker runs one batch at a time while the saturation lasts.
   * @defaultValue 0
   */
  yieldMs: number
}

/**
 * The worker's tuning when nothing is given. Database connections it may hold at once:
 * `ceil(concurrency / batchSize)` batches (4) plus `singleConcurrency` (16).
 */
export const DEFAULT_WORKER_OPTIONS: Readonly<WorkerOptions> = {
  concurrency: 400,
  batchSize: 100,
  singleConcurrency: 16,
  handlerTimeoutMs: 30_000,
  lockDurationMs: 30_000,
  stale: 'skip',
  yieldMs: 0,
}

/** Called once for every event moved to the dead-letter queue. */
export type DeadLetterHook = (event: HooklineEvent, error: { message: string; stack: string | null }) => void | Promise<void>

/**
 * @module The sweeper: re-enqueues inbox events that are unfinished past their due time, and that
 * the queue's workers have gone past — the recovery path when Redis lost their jobs or a worker
 * died. Runs as a BullMQ job scheduler (once per interval across all instances) and as a pass at
 * worker start and after Redis reconnects.
 */
import type { Dispatcher } from './dispatcher.ts'
import type { Inbox } from '../store/inbox.ts'
import type { HooklineMetrics } from '../metrics.ts'

/** Sweeper settings. */
export interface SweeperOptions {
  /**
   * Time between scheduled passes.
   * @defaultValue 30_000
   */
  intervalMs: number
  /**
   * How long a stored event may wait for its job before it is considered lost; also the pause
   * before the sweeper re-enqueues the same event again.
   * @defaultValue 60_000
   */
  graceMs: number
  /**
   * Events re-enqueued per batch.
   * @defaultValue 500
   */
  batchSize: number
}

/** The defaults of {@link SweeperOptions}. */
export const DEFAULT_SWEEPER_OPTIONS: Readonly<SweeperOptions> = { intervalMs: 30_000, graceMs: 60_000, batchSize: 500 }

/** Id of the BullMQ job scheduler that triggers the sweeper. */
export const SWEEPER_SCHEDULER_ID = 'hookline-sweeper'

/**
 * Finds overdue events and re-adds their jobs (a no-op for jobs Redis still has).
 *
 * @example
 * const requeued = await new Sweeper(inbox, dispatcher, metrics, options).run()
 */
export class Sweeper {
  constructor(
    private readonly inbox: Inbox,
    private readonly dispatcher: Dispatcher,
    private readonly metrics: HooklineMetrics,
    private readonly options: SweeperOptions,
  ) {}

  /**
   * One pass; returns how many events were re-enqueued. An event that fell due after the oldest
   * job still waiting was added is left alone: the workers are behind, and its job may be waiting
   * too. Re-enqueued then, a whole backlog would be queued twice (per event, beside the batch jobs
   * that hold it), slowing its drain by a third or more (docs/performance.md). It is taken once the
   * workers have reached the jobs added after it fell due, or the queue is empty.
   */
  async run(): Promise<number> {
    const reached = await this.dispatcher.oldestWaitingSince()
    let total = 0
    for (;;) {
      const ids = await this.inbox.takeOverdue(this.options.batchSize, this.options.graceMs, reached)
      if (ids.length === 0) return total
      await this.dispatcher.enqueue(ids)
      this.metrics.swept.inc(ids.length)
      total += ids.length
      if (ids.length < this.options.batchSize) return total
    }
  }

  /** Creates or updates the job scheduler that runs {@link Sweeper.run} every interval. */
  async schedule(jobName: string): Promise<void> {
    await this.dispatcher.queue.upsertJobScheduler(
      SWEEPER_SCHEDULER_ID,
      { every: this.options.intervalMs },
      { name: jobName, opts: { removeOnComplete: true, removeOnFail: true } },
    )
  }
}

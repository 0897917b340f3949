/**
 * @module The worker's side of yielding: before each batch, a worker whose queue's ingress reports
 * saturation (see `saturation-signal.ts`) waits, up to `worker.yieldMs` per saturation, so that the
 * cores it shares with the ingress answer the burst first. Events wait in the queue meanwhile, as
 * durable as ever; the worker catches up once the ingress is no longer saturated. Past that wait
 * (at once by default), the worker runs one batch at a time while the saturation lasts.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { withTimeout } from '../queue/dispatcher.ts'
import { SATURATION_SAMPLE_MS } from './saturation-signal.ts'

/** A batch's turn: whether it runs alone, and what ends the turn. */
export interface Turn {
  alone: boolean
  done(): void
}

const SIDE_BY_SIDE: Turn = { alone: false, done: () => undefined }

/** What the gate reads the report with: the worker's Redis connection. */
export interface SaturationSource {
  exists(key: string): Promise<number>
}

/**
 * Holds batches back while the ingress is saturated, then lets them run one at a time.
 *
 * @example
 * const gate = new YieldGate(redis, saturationKey('hookline', 'events'), 15_000, (s) => metrics.yielded.inc(s))
 * const turn = await gate.turn() // before claiming a batch
 * turn.done() // once its transaction is done
 */
export class YieldGate {
  private checkedAt = 0
  private saturated = false
  private checking: Promise<void> | undefined
  /** When the current saturation first held a batch back. */
  private since: number | undefined
  /** Settles when the batch running alone (while the ingress is saturated) is done. */
  private single: Promise<void> = Promise.resolve()

  /**
   * @param maxYieldMs longest the worker holds back during one saturation (0: never); after it,
   * batches run one at a time until the ingress is no longer saturated.
   * @param onYielded told of each wait of a batch, in seconds, as it happens.
   */
  constructor(
    private readonly source: SaturationSource,
    private readonly key: string,
    private readonly maxYieldMs: number,
    private readonly onYielded: (seconds: number) => void,
  ) {}

  /**
   * Resolves when the next batch may run. While the ingress is saturated, batches past the yield
   * run one at a time (`alone`): the queue's events gather into fewer, larger batches, which cost
   * the shared cores less per event, and processing still goes on. `done()` ends the batch's turn.
   */
  async turn(): Promise<Turn> {
    for (;;) {
      await this.refresh()
      if (!this.saturated) {
        this.since = undefined
        return SIDE_BY_SIDE
      }
      const now = Date.now()
      this.since ??= now
      if (now - this.since >= this.maxYieldMs) break
      await sleep(Math.min(SATURATION_SAMPLE_MS, this.since + this.maxYieldMs - now))
      this.onYielded((Date.now() - now) / 1000)
    }
    const previous = this.single
    let done!: () => void
    this.single = new Promise<void>((resolve) => (done = resolve))
    await previous
    return { alone: true, done }
  }

  /**
   * Reads the report at most once a sample; concurrent callers share one read. A read that fails
   * or outlasts a sample (Redis down: the worker's connection queues commands) counts as not
   * saturated, so that batches already taken still run.
   */
  private refresh(): Promise<void> {
    if (Date.now() - this.checkedAt < SATURATION_SAMPLE_MS) return Promise.resolve()
    return (this.checking ??= withTimeout(this.source.exists(this.key), SATURATION_SAMPLE_MS, 'saturation read')
      .then(
        (n) => void (this.saturated = n > 0),
        () => void (this.saturated = false),
      )
      .finally(() => {
        this.checkedAt = Date.now()
        this.checking = undefined
      }))
  }
}

/**
 * @module The ingress's side of yielding: while its event loop is saturated by webhook requests it
 * says so in Redis, where the workers sharing its machine read it (see `yield-gate.ts`) and hold
 * their batches back, so that a burst is answered at the speed of the ingress alone and processed
 * right after.
 */
import { performance, type EventLoopUtilization } from 'node:perf_hooks'

/** How often the ingress measures its event loop, in milliseconds. */
export const SATURATION_SAMPLE_MS = 100

/** Share of a sample the event loop was busy at or above which the ingress counts as saturated. */
export const SATURATED_UTILIZATION = 0.9

/** How long one report of saturation lasts in Redis, in milliseconds: a few samples, so that a lost one does not flap. */
export const SATURATION_TTL_MS = 350

/** The Redis key of the saturation report of the queue `name` under `prefix`. */
export function saturationKey(prefix: string, name: string): string {
  return `${prefix}:${name}:ingress-saturated`
}

/**
 * Samples the event loop every {@link SATURATION_SAMPLE_MS} once a request has arrived, and
 * reports saturation when a sample was at least {@link SATURATED_UTILIZATION} busy and requests
 * arrived during it (a busy loop without webhooks, e.g. a support export, is not the workers' business).
 *
 * @example
 * const signal = new SaturationSignal(() => dispatcher.reportSaturated(SATURATION_TTL_MS))
 * signal.noteRequest() // in each webhook request
 */
export class SaturationSignal {
  private timer: NodeJS.Timeout | undefined
  private last: EventLoopUtilization | undefined
  private requests = 0

  /** @param report writes one report, lasting {@link SATURATION_TTL_MS}; it must not wait for a Redis that is down. */
  constructor(private readonly report: () => Promise<unknown>) {}

  /** Counts one webhook request; the first one starts the sampling. */
  noteRequest(): void {
    this.requests += 1
    if (this.timer !== undefined) return
    this.last = performance.eventLoopUtilization()
    this.timer = setInterval(() => this.sample(), SATURATION_SAMPLE_MS)
    this.timer.unref()
  }

  /** Stops sampling. */
  close(): void {
    clearInterval(this.timer)
    this.timer = undefined
  }

  private sample(): void {
    const now = performance.eventLoopUtilization()
    const { utilization } = performance.eventLoopUtilization(now, this.last)
    this.last = now
    const requests = this.requests
    this.requests = 0
    if (requests === 0 || utilization < SATURATED_UTILIZATION) return
    // Redis down: the workers then see no report and work as usual.
    this.report().catch(() => undefined)
  }
}

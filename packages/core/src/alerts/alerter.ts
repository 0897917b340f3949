/**
 * @module Raising alerts: `raise(occurrence)` from any process groups it in Redis and, for the
 * first of a window, schedules its flush on the `alerts` BullMQ queue; a worker then builds the
 * alert and adds one delivery job per sink, which BullMQ retries with exponential backoff. Nothing
 * here is awaited by ingest or the worker: a raise that fails is logged and dropped.
 */
import { randomUUID } from 'node:crypto'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import type { Logger } from 'pino'
import { ConfigError } from '../errors.ts'
import { closeWhileConnected } from '../queue/bullmq-close.ts'
import type { QueueConfig } from '../queue/dispatcher.ts'
import type { Alert, AlertDetails, AlertKind, AlertOccurrence } from './alert.ts'
import { buildAlert } from './alert-kinds.ts'
import type { AlertOptions } from './alert-options.ts'
import { type AlertSink, hookSink } from './alert-sink.ts'
import { AlertWindows } from './alert-windows.ts'

/** Name of the BullMQ queue of alerts (beside the events queue, under the same prefix). */
export const ALERT_QUEUE = 'alerts'
/** Job that sends what a window gathered: `{ group, type, provider }`. */
export const FLUSH_JOB = 'flush'
/** Job that delivers one alert to one sink: `{ sink, alert }`. */
export const DELIVER_JOB = 'deliver'
/** Periodic job of the DLQ-depth and silent-provider checks. */
export const CHECK_JOB = 'check'

/** Data of a {@link FLUSH_JOB}. */
export interface FlushJobData {
  group: string
  type: AlertKind
  provider: string | null
}

/** Data of a {@link DELIVER_JOB}. */
export interface DeliverJobData {
  sink: string
  alert: Alert
}

/** How long a window's state outlives its flush, should the flush job be lost with Redis. */
const STATE_MARGIN_MS = 60_000

/**
 * Raises, groups and routes alerts.
 *
 * @example
 * alerter.raise({ type: 'dead_letter', provider: 'stripe', ids: [event.id], details: { error } })
 */
export class Alerter {
  /** Every sink by name, `onAlert` included. */
  readonly sinks: ReadonlyMap<string, AlertSink>
  private readonly connection: Redis | undefined
  private readonly queue: Queue | undefined
  private readonly windows: AlertWindows | undefined

  constructor(
    config: QueueConfig,
    readonly options: AlertOptions,
    private readonly logger: Logger,
  ) {
    const sinks = new Map<string, AlertSink>()
    for (const sink of [...options.sinks, ...(options.onAlert ? [hookSink(options.onAlert)] : [])]) {
      if (sinks.has(sink.name)) throw new ConfigError(`two alert sinks are named "${sink.name}"`)
      sinks.set(sink.name, sink)
    }
    this.sinks = sinks
    if (sinks.size === 0) return
    // Like the dispatcher's: no command waits for a Redis that is down.
    this.connection = new Redis(config.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000, retryStrategy: (n) => Math.min(n * 200, 2000) })
    this.connection.on('error', () => undefined)
    this.queue = new Queue(ALERT_QUEUE, { connection: this.connection, prefix: config.prefix })
    this.queue.on('error', () => undefined)
    this.windows = new AlertWindows(this.connection, config.prefix)
  }

  /** Whether alerts of `type` are raised at all (a sink exists and the kind is not disabled). */
  enabled(type: AlertKind): boolean {
    return this.sinks.size > 0 && !this.options.disabled.includes(type)
  }

  /** Raises an occurrence without waiting; failures are logged. */
  raise(occurrence: AlertOccurrence): void {
    if (!this.enabled(occurrence.type)) return
    this.record(occurrence).catch((err: unknown) => this.logger.warn({ alert: occurrence.type, err: (err as Error).message }, 'alert could not be raised'))
  }

  /** Counts a signature rejection and raises `rejection_spike` from the threshold on. */
  countRejection(provider: string): void {
    if (!this.enabled('rejection_spike') || !this.windows) return
    const threshold = this.options.rejections
    this.windows.countRejection(provider, new Date()).then(
      (n) => {
        // The rejection that reaches the threshold stands for all of them; later ones for one each.
        if (n >= threshold) this.raise({ type: 'rejection_spike', provider, count: n - 1 < threshold ? n : 1, details: { threshold, windowMinutes: 5 } })
      },
      (err: unknown) => this.logger.warn({ provider, err: (err as Error).message }, 'signature rejection could not be counted'),
    )
  }

  private async record(o: AlertOccurrence): Promise<void> {
    const provider = o.provider ?? null
    const group = `${o.type}:${provider ?? '-'}:${o.key ?? '-'}`
    const { groupWaitMs, digestMs, maxIds } = this.options
    const sample = JSON.stringify(o.details ?? {})
    const opened = await this.windows!.record(group, o.count ?? 1, sample, o.ids ?? [], maxIds, groupWaitMs + digestMs + STATE_MARGIN_MS)
    if (opened) await this.scheduleFlush({ group, type: o.type, provider }, groupWaitMs)
  }

  private async scheduleFlush(data: FlushJobData, delayMs: number): Promise<void> {
    await this.queue!.add(FLUSH_JOB, data, { delay: delayMs, attempts: 5, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: true, removeOnFail: true })
  }

  /**
   * Runs a flush job: sends what the window gathered as an alert (one delivery job per sink) and
   * schedules the next flush one digest period later; a window with nothing new closes.
   */
  async flush(data: FlushJobData): Promise<Alert | undefined> {
    const { digestMs } = this.options
    const gathered = await this.windows!.take(data.group, digestMs + STATE_MARGIN_MS)
    if (!gathered) return undefined
    const alert = buildAlert({
      id: `alert_${randomUUID()}`,
      type: data.type,
      provider: data.provider,
      count: gathered.count,
      ids: gathered.ids,
      details: JSON.parse(gathered.sample) as AlertDetails,
      digest: gathered.digest,
      at: new Date(),
    })
    const { deliveryAttempts, backoffMs } = this.options
    await this.queue!.addBulk([...this.sinks.keys()].map((sink) => ({
      name: DELIVER_JOB,
      data: { sink, alert } satisfies DeliverJobData,
      opts: { jobId: `${alert.id}-${sink}`, attempts: deliveryAttempts, backoff: { type: 'exponential', delay: backoffMs }, removeOnComplete: true, removeOnFail: 1000 },
    })))
    await this.scheduleFlush(data, digestMs)
    this.logger.info({ alert: alert.id, type: alert.type, provider: alert.provider, count: gathered.count, digest: gathered.digest }, 'alert raised')
    return alert
  }

  /** The BullMQ queue of alerts (its job scheduler runs the checks). */
  get alertQueue(): Queue | undefined {
    return this.queue
  }

  /** Closes the queue and its connection. */
  async close(): Promise<void> {
    if (this.queue && this.connection) await closeWhileConnected(() => this.queue!.close(), this.connection)
  }
}

/**
 * @module The worker of the `alerts` queue, in every worker process: flushes windows, delivers
 * alerts to sinks (BullMQ retries a failed delivery with exponential backoff), and runs the
 * periodic checks once across instances (a job scheduler).
 */
import { type Job, Worker } from 'bullmq'
import { Redis } from 'ioredis'
import type { Logger } from 'pino'
import type { HooklineMetrics } from '../metrics.ts'
import { closeWhileConnected } from '../queue/bullmq-close.ts'
import type { QueueConfig } from '../queue/dispatcher.ts'
import type { AlertReads } from '../store/alert-reads.ts'
import type { Inbox } from '../store/inbox.ts'
import { ALERT_QUEUE, type Alerter, CHECK_JOB, DELIVER_JOB, type DeliverJobData, FLUSH_JOB, type FlushJobData } from './alerter.ts'

/** Id of the job scheduler of the periodic checks. */
export const ALERT_CHECK_SCHEDULER_ID = 'hookline-alert-check'

/** What the alert worker needs. */
export interface AlertWorkerDeps {
  alerter: Alerter
  inbox: Pick<Inbox, 'countDead'>
  reads: AlertReads
  /** The enabled providers (those `provider_silent` watches). */
  providers: readonly string[]
  metrics: HooklineMetrics
  logger: Logger
}

/** Consumes the `alerts` queue. */
export class AlertWorker {
  private worker: Worker | undefined
  private connection: Redis | undefined

  constructor(
    private readonly queue: QueueConfig,
    private readonly deps: AlertWorkerDeps,
  ) {}

  /** Starts consuming, and schedules the checks when a checked kind is on. */
  async start(): Promise<void> {
    const { alerter, logger } = this.deps
    this.connection = new Redis(this.queue.redisUrl, { maxRetriesPerRequest: null, retryStrategy: (n) => Math.min(n * 200, 2000) })
    this.connection.on('error', () => undefined)
    this.worker = new Worker(ALERT_QUEUE, (job) => this.run(job), { connection: this.connection, prefix: this.queue.prefix, concurrency: 8 })
    this.worker.on('error', (err) => logger.warn({ err: err.message }, 'alert worker connection error'))
    this.worker.on('failed', (job, err) => {
      if (job?.name !== DELIVER_JOB) return void logger.warn({ job: job?.name, err: err.message }, 'alert job failed')
      const { sink, alert } = job.data as DeliverJobData
      this.deps.metrics.alertDeliveryFailures.inc({ sink })
      const final = job.attemptsMade >= (job.opts.attempts ?? 1)
      logger.warn({ sink, alert: alert.id, type: alert.type, attempt: job.attemptsMade, err: err.message }, final ? 'alert delivery given up' : 'alert delivery failed; retrying later')
    })
    await this.worker.waitUntilReady()
    const checked = alerter.enabled('dlq_depth') || (alerter.enabled('provider_silent') && alerter.options.silenceMs > 0)
    if (checked) {
      await alerter.alertQueue!.upsertJobScheduler(ALERT_CHECK_SCHEDULER_ID, { every: alerter.options.checkIntervalMs }, { name: CHECK_JOB, data: {}, opts: { removeOnComplete: true, removeOnFail: true } })
    }
  }

  private async run(job: Job): Promise<unknown> {
    const { alerter } = this.deps
    if (job.name === FLUSH_JOB) return void (await alerter.flush(job.data as FlushJobData))
    if (job.name === DELIVER_JOB) {
      const { sink, alert } = job.data as DeliverJobData
      const target = alerter.sinks.get(sink)
      // A sink removed from the configuration since: nothing to deliver to.
      if (!target) return undefined
      await target.deliver(alert)
      this.deps.metrics.alertsDelivered.inc({ type: alert.type })
      return undefined
    }
    if (job.name === CHECK_JOB) return this.check()
    return undefined
  }

  /** The periodic conditions: the DLQ above its threshold, providers silent for too long. */
  private async check(): Promise<void> {
    const { alerter, inbox, reads, providers } = this.deps
    const { dlqDepth, silenceMs } = alerter.options
    if (alerter.enabled('dlq_depth')) {
      const depth = await inbox.countDead()
      if (depth > dlqDepth) alerter.raise({ type: 'dlq_depth', details: { depth, threshold: dlqDepth } })
    }
    if (alerter.enabled('provider_silent') && silenceMs > 0) {
      for (const provider of providers) {
        if (!(await reads.receivedWebhookWithin(provider, silenceMs))) {
          alerter.raise({ type: 'provider_silent', provider, details: { silentMinutes: Math.round(silenceMs / 60_000) } })
        }
      }
    }
  }

  /** Stops taking jobs and waits for the running ones. */
  async close(): Promise<void> {
    const { worker, connection } = this
    if (worker && connection) await closeWhileConnected(() => worker.close(), connection)
  }
}

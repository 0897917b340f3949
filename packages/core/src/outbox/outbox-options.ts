/**
 * @module Options of the transactional outbox: the provider name its events take in the inbox,
 * and the relay's batch and polling settings.
 */

/** Where the relay also publishes each event, for consumers outside Hookline. */
export interface OutboxPublishTarget {
  /** Name of the application's BullMQ queue (job name = event type, job id = event id). */
  queue: string
  /**
   * BullMQ key prefix of that queue.
   * @defaultValue 'bull'
   */
  prefix?: string
  /**
   * Redis of that queue.
   * @defaultValue Hookline's own `redisUrl`
   */
  redisUrl?: string
}

/** Outbox settings. */
export interface OutboxOptions {
  /**
   * Provider name of emitted events in the inbox: handlers match `<provider>:<type>`, support finds
   * them under it. Must differ from every adapter's name.
   * @defaultValue 'app'
   */
  provider: string
  /**
   * Rows the relay moves per transaction.
   * @defaultValue 500
   */
  batchSize: number
  /**
   * How often the relay looks for rows without being notified (a missed or lost notification).
   * @defaultValue 1000
   */
  pollIntervalMs: number
  /**
   * Whether `startWorker()` starts the relay too; without it, run `startRelay()` where it should run.
   * @defaultValue true
   */
  relay: boolean
  /** Also add each relayed event to a BullMQ queue of the application's. */
  publish?: OutboxPublishTarget | undefined
}

/** The defaults of {@link OutboxOptions}. */
export const DEFAULT_OUTBOX_OPTIONS: Readonly<OutboxOptions> = { provider: 'app', batchSize: 500, pollIntervalMs: 1000, relay: true }

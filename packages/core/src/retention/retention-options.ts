/**
 * @module Retention settings: how long payloads, events and audit rows are kept, and the floor
 * below which removing events would let a provider's redelivery in as a new event.
 */
import { ConfigError } from '../errors.ts'

/** Retention settings; a window of `null` keeps those rows forever. */
export interface RetentionOptions {
  /**
   * Age after which a finished (processed or ignored) event's payload, raw body and headers are
   * removed; the row, its status and attempts stay, and redeliveries are still duplicates.
   * @defaultValue 30 days
   */
  payloadsMs: number | null
  /**
   * Age after which finished events are removed altogether (their dedupe keys with them). At least
   * the reconciliation window plus {@link PROVIDER_RETRY_WINDOW_MS}.
   * @defaultValue 90 days
   */
  eventsMs: number | null
  /**
   * Age after which audit rows are removed.
   * @defaultValue null (kept)
   */
  auditMs: number | null
  /**
   * Time between pruning passes (a BullMQ job scheduler: one pass across all instances).
   * @defaultValue 600_000
   */
  intervalMs: number
  /**
   * Rows per statement: small batches keep each lock and each write burst short beside ingest.
   * @defaultValue 1000
   */
  batchSize: number
  /**
   * Pause after each batch: a pass removing a backlog of millions of rows then takes a share of
   * Postgres instead of all it can get, beside ingest.
   * @defaultValue 100
   */
  batchPauseMs: number
}

const DAY_MS = 86_400_000

/** The defaults of {@link RetentionOptions}. */
export const DEFAULT_RETENTION_OPTIONS: Readonly<RetentionOptions> = { payloadsMs: 30 * DAY_MS, eventsMs: 90 * DAY_MS, auditMs: null, intervalMs: 600_000, batchSize: 1000, batchPauseMs: 100 }

/** The longest a provider keeps redelivering an event (Stripe: 3 days). */
export const PROVIDER_RETRY_WINDOW_MS = 3 * DAY_MS

/**
 * Throws `ConfigError` when events would be removed while a provider may still redeliver them or
 * reconciliation may still find them: they would come back as new events.
 */
export function checkRetention(options: RetentionOptions, reconcileWindowMs: number): void {
  const floor = reconcileWindowMs + PROVIDER_RETRY_WINDOW_MS
  if (options.eventsMs !== null && options.eventsMs < floor) {
    const hours = (ms: number) => `${Math.round(ms / 3_600_000)}h`
    throw new ConfigError(
      `event retention of ${hours(options.eventsMs)} is shorter than the reconciliation window plus the providers' 3-day retry window (${hours(floor)}): ` +
        'events removed earlier could be redelivered or reconciled as new ones',
    )
  }
  for (const [name, value] of Object.entries({ payloadsMs: options.payloadsMs, eventsMs: options.eventsMs, auditMs: options.auditMs })) {
    if (value !== null && !(value > 0)) throw new ConfigError(`retention.${name} must be a positive number of milliseconds or null`)
  }
}

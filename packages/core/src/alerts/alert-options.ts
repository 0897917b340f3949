/**
 * @module The alerting settings of `createHookline({ alerts })` and their defaults.
 */
import type { AlertHook, AlertKind } from './alert.ts'
import type { AlertSink } from './alert-sink.ts'

/** Alerting settings. Alerting is off unless there is a sink or an `onAlert`. */
export interface AlertOptions {
  /**
   * Where alerts go (see `alertSinksFromUrls`).
   * @defaultValue []
   */
  sinks: AlertSink[]
  /** Called with every alert in a worker process, retried like a sink when it throws. */
  onAlert?: AlertHook | undefined
  /**
   * Kinds not raised.
   * @defaultValue []
   */
  disabled: AlertKind[]
  /**
   * How long the first occurrence waits for more of its kind, so that a burst is one alert.
   * @defaultValue 1000
   */
  groupWaitMs: number
  /**
   * After an alert, further occurrences of its kind and provider are sent as one digest at most
   * this often.
   * @defaultValue 60_000
   */
  digestMs: number
  /**
   * `dlq_depth` fires when the dead-letter queue holds more events than this.
   * @defaultValue 100
   */
  dlqDepth: number
  /**
   * `rejection_spike` fires at this many signature rejections of one provider in 5 minutes.
   * @defaultValue 20
   */
  rejections: number
  /**
   * `provider_silent` fires when an enabled provider sent no webhook for this long; 0 is off.
   * @defaultValue 0
   */
  silenceMs: number
  /**
   * How often one worker checks the DLQ depth and silent providers.
   * @defaultValue 30_000
   */
  checkIntervalMs: number
  /**
   * Tries of one alert at one sink before it is given up (logged).
   * @defaultValue 12
   */
  deliveryAttempts: number
  /**
   * First retry delay of a failed delivery, doubled at each try (12 tries: about 2 hours).
   * @defaultValue 2000
   */
  backoffMs: number
  /**
   * Most ids an alert lists.
   * @defaultValue 10
   */
  maxIds: number
}

/** The defaults of {@link AlertOptions}. */
export const DEFAULT_ALERT_OPTIONS: Readonly<AlertOptions> = {
  sinks: [],
  disabled: [],
  groupWaitMs: 1000,
  digestMs: 60_000,
  dlqDepth: 100,
  rejections: 20,
  silenceMs: 0,
  checkIntervalMs: 30_000,
  deliveryAttempts: 12,
  backoffMs: 2000,
  maxIds: 10,
}

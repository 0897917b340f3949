/**
 * @module The circuit breakers' tuning, their defaults, what a breaker looks like from outside, and
 * the hook called when one opens.
 */

/** Tuning of the circuit breakers (one per route: a handler key, or a downstream's name). */
export interface BreakerOptions {
  /**
   * Consecutive transient failures of a route that open its breaker (a success resets the count;
   * `PermanentError`s do not count).
   * @defaultValue 10
   */
  failures: number
  /**
   * How long an open breaker holds its route's events before one probe event runs.
   * @defaultValue 60_000
   */
  cooldownMs: number
  /**
   * Upper bound of the cool-down, which doubles each time a probe fails.
   * @defaultValue 900_000 (15 minutes)
   */
  maxCooldownMs: number
}

/** The defaults of {@link BreakerOptions}. */
export const DEFAULT_BREAKER_OPTIONS: Readonly<BreakerOptions> = { failures: 10, cooldownMs: 60_000, maxCooldownMs: 900_000 }

/** One route's breaker: `open` holds its events until `openUntil`; `half_open` lets one probe run. */
export interface BreakerState {
  route: string
  state: 'closed' | 'open' | 'half_open'
  /** Consecutive transient failures counted. */
  failures: number
  /** When the cool-down ends (open), null otherwise. */
  openUntil: Date | null
  /** The cool-down in force, in milliseconds (0 when closed). */
  cooldownMs: number
}

/** Called once each time a breaker opens (or reopens after a failed probe): where alerting hooks in. */
export type BreakerOpenHook = (breaker: BreakerState) => void | Promise<void>

/**
 * @module The retry policy as data (max attempts, exponential backoff with jitter) and the pure
 * functions that turn it into delays and decisions.
 */
import { z } from 'zod'

/** Retry policy of the worker. */
export interface RetryPolicy {
  /**
   * Attempts before an event is dead-lettered (the first try counts).
   * @defaultValue 8
   */
  maxAttempts: number
  /**
   * Delay before the second attempt; each further attempt doubles it.
   * @defaultValue 1000
   */
  backoffMs: number
  /**
   * Share of each delay that is random (0 = none, 1 = anywhere between 0 and the full delay), so
   * that events failing together do not retry together.
   * @defaultValue 0.5
   */
  jitter: number
  /**
   * Upper bound of one delay.
   * @defaultValue 3_600_000 (one hour)
   */
  maxDelayMs: number
  /**
   * Longest an event may keep retrying, counted from its first attempt: a failure after that
   * dead-letters it whatever attempts remain, so that a slow backoff cannot stretch retries past
   * what the downstream or the business can use (a provider's own retry window, say). Null: no
   * limit but `maxAttempts`.
   * @defaultValue null
   */
  maxRetryAgeMs: number | null
}

/** The defaults of {@link RetryPolicy}. */
export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = { maxAttempts: 8, backoffMs: 1000, jitter: 0.5, maxDelayMs: 3_600_000, maxRetryAgeMs: null }

const retryPolicySchema = z.object({
  maxAttempts: z.number().int().min(1).max(1000).default(DEFAULT_RETRY_POLICY.maxAttempts),
  backoffMs: z.number().int().min(0).default(DEFAULT_RETRY_POLICY.backoffMs),
  jitter: z.number().min(0).max(1).default(DEFAULT_RETRY_POLICY.jitter),
  maxDelayMs: z.number().int().min(0).default(DEFAULT_RETRY_POLICY.maxDelayMs),
  maxRetryAgeMs: z.number().int().min(1).nullable().default(DEFAULT_RETRY_POLICY.maxRetryAgeMs),
})

/**
 * Fills defaults and validates a partial policy.
 *
 * @example
 * retryPolicy({ maxAttempts: 3 }) // { maxAttempts: 3, backoffMs: 1000, jitter: 0.5, maxDelayMs: 3600000, maxRetryAgeMs: null }
 */
export function retryPolicy(input: Partial<RetryPolicy> = {}): RetryPolicy {
  return retryPolicySchema.parse(input)
}

/**
 * Delay before the attempt that follows failed attempt number `attempt` (1-based):
 * `backoffMs · 2^(attempt-1)`, capped, of which the `jitter` share is drawn at random.
 * `random` is injectable for tests.
 */
export function backoffDelayMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const full = Math.min(policy.maxDelayMs, policy.backoffMs * 2 ** Math.max(0, attempt - 1))
  return Math.round(full * (1 - policy.jitter) + full * policy.jitter * random())
}

/** What to do after a failed attempt. */
export type FailureDecision = { action: 'retry'; delayMs: number } | { action: 'dead' }

/**
 * Decides between another try and the dead-letter queue after failed attempt `attempt`.
 * `retryAfterMs` (a downstream's rate-limit hint) raises the delay; it never lowers it.
 * `firstAttemptAgeMs` (how long ago the event's first attempt started) past `maxRetryAgeMs`
 * dead-letters it.
 */
export function decideAfterFailure(
  policy: RetryPolicy,
  attempt: number,
  permanent: boolean,
  retryAfterMs?: number,
  random?: () => number,
  firstAttemptAgeMs?: number,
): FailureDecision {
  if (permanent || attempt >= policy.maxAttempts) return { action: 'dead' }
  if (policy.maxRetryAgeMs !== null && firstAttemptAgeMs !== undefined && firstAttemptAgeMs >= policy.maxRetryAgeMs) return { action: 'dead' }
  const delayMs = Math.max(backoffDelayMs(policy, attempt, random), retryAfterMs ?? 0)
  return { action: 'retry', delayMs }
}

/** The retry policy's pure functions: defaults, exponential growth, jitter bounds, decisions. */
import { describe, expect, it } from 'vitest'
import { PermanentError, isPermanentError, retryAfterMsOf, RetryAfterError } from '../errors.ts'
import { backoffDelayMs, decideAfterFailure, retryPolicy } from './retry-policy.ts'

describe('retryPolicy', () => {
  it('fills the documented defaults', () => {
    expect(retryPolicy()).toEqual({ maxAttempts: 8, backoffMs: 1000, jitter: 0.5, maxDelayMs: 3_600_000, maxRetryAgeMs: null })
  })
  it('refuses nonsense', () => {
    expect(() => retryPolicy({ maxAttempts: 0 })).toThrow()
    expect(() => retryPolicy({ jitter: 2 })).toThrow()
    expect(() => retryPolicy({ maxRetryAgeMs: 0 })).toThrow()
  })
})

describe('backoffDelayMs', () => {
  const policy = retryPolicy({ backoffMs: 100, jitter: 0.5, maxDelayMs: 1000 })
  it('doubles per attempt, the random share at its bounds', () => {
    expect([1, 2, 3].map((n) => backoffDelayMs(policy, n, () => 1))).toEqual([100, 200, 400])
    expect([1, 2, 3].map((n) => backoffDelayMs(policy, n, () => 0))).toEqual([50, 100, 200])
  })
  it('is capped', () => {
    expect(backoffDelayMs(policy, 20, () => 1)).toBe(1000)
  })
  it('without jitter is exact', () => {
    expect(backoffDelayMs({ ...policy, jitter: 0 }, 2, () => 0.3)).toBe(200)
  })
})

describe('decideAfterFailure', () => {
  const policy = retryPolicy({ maxAttempts: 3, backoffMs: 100, jitter: 0 })
  it('retries until the last attempt, then dead-letters', () => {
    expect(decideAfterFailure(policy, 1, false)).toEqual({ action: 'retry', delayMs: 100 })
    expect(decideAfterFailure(policy, 2, false)).toEqual({ action: 'retry', delayMs: 200 })
    expect(decideAfterFailure(policy, 3, false)).toEqual({ action: 'dead' })
  })
  it('dead-letters a permanent failure at once', () => {
    expect(decideAfterFailure(policy, 1, true)).toEqual({ action: 'dead' })
  })
  it('waits at least as long as a downstream asked', () => {
    expect(decideAfterFailure(policy, 1, false, 5000)).toEqual({ action: 'retry', delayMs: 5000 })
    expect(decideAfterFailure(policy, 1, false, 10)).toEqual({ action: 'retry', delayMs: 100 })
  })
  it('dead-letters an event retried longer than maxRetryAgeMs, attempts left or not', () => {
    const windowed = retryPolicy({ maxAttempts: 10, backoffMs: 100, jitter: 0, maxRetryAgeMs: 5000 })
    expect(decideAfterFailure(windowed, 2, false, undefined, undefined, 4999)).toEqual({ action: 'retry', delayMs: 200 })
    expect(decideAfterFailure(windowed, 2, false, undefined, undefined, 5000)).toEqual({ action: 'dead' })
    // No limit by default, whatever the age.
    expect(decideAfterFailure(policy, 1, false, undefined, undefined, 10 ** 9)).toEqual({ action: 'retry', delayMs: 100 })
  })
})

describe('error classification', () => {
  it('recognises permanent errors by name, across package copies', () => {
    expect(isPermanentError(new PermanentError('x'))).toBe(true)
    expect(isPermanentError(Object.assign(new Error('x'), { name: 'PermanentError' }))).toBe(true)
    expect(isPermanentError(Object.assign(new Error('x'), { name: 'ZodError' }))).toBe(true)
    expect(isPermanentError(new Error('x'))).toBe(false)
    expect(isPermanentError('PermanentError')).toBe(false)
  })
  it('reads a rate-limit hint', () => {
    expect(retryAfterMsOf(new RetryAfterError('slow down', 1500))).toBe(1500)
    expect(retryAfterMsOf(new Error('x'))).toBeUndefined()
  })
})

/**
 * The total retry window (`retry.maxRetryAgeMs`) against real Postgres and Redis: an event that
 * keeps failing is dead-lettered once its first attempt is older than the window, attempts left.
 */
import type { Handler } from '@hookline/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, startHarness } from './support/harness.ts'

const handlers: Record<string, Handler> = {
  'stripe:test.always': async (_event, ctx) => {
    throw new Error(`downstream down #${ctx.attempt}`)
  },
}

let h: Harness
beforeAll(async () => {
  h = await startHarness({ handlers: handlers as never, retry: { maxAttempts: 50, backoffMs: 300, jitter: 0, maxDelayMs: 600, maxRetryAgeMs: 1500 } })
})
afterAll(async () => h?.close())

describe('maxRetryAgeMs', () => {
  it('dead-letters an always-failing event after the window, with attempts left', async () => {
    const id = await h.sendStripeEvent({ type: 'test.always' })
    const row = await h.waitForStatus(id, 'dead', 15_000)
    expect(row.attempts).toBeGreaterThan(1)
    expect(row.attempts).toBeLessThan(50)
    const attempts = await h.prisma.attempt.findMany({ where: { eventId: id }, orderBy: { n: 'asc' } })
    expect(attempts.at(-1)!.outcome).toBe('dead')
    // The last attempt started after the window was over; every earlier failure was retried.
    expect(attempts.at(-1)!.startedAt.getTime() - attempts[0]!.startedAt.getTime()).toBeGreaterThanOrEqual(1500)
    expect(attempts.slice(0, -1).every((a) => a.outcome === 'failed')).toBe(true)
  })
})

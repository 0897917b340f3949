/**
 * @module Counts for the support overview: per provider and time bucket, the events received and
 * what became of them, and the depth of the dead-letter queue.
 */
import { z } from 'zod'
import type { EventReads } from '../store/event-reads.ts'
import { parseTimeBound } from './event-filter.ts'

/** Events received in one time bucket by one provider, by what became of them. */
export interface StatsBucket {
  /** Start of the bucket. */
  at: Date
  provider: string
  received: number
  /** Processed by their handler. */
  processed: number
  /** Finished without their handler: a newer event of their entity had been applied (`skipped_stale`). */
  skippedStale: number
  failed: number
  dead: number
  ignored: number
  /** Still `received` or `processing`. */
  pending: number
}

/** The overview's numbers. */
export interface EventStats {
  since: Date
  until: Date
  bucketSeconds: number
  /** Window totals per provider (same fields as a bucket, without `at`). */
  providers: Omit<StatsBucket, 'at'>[]
  /** Non-empty buckets, oldest first; a missing bucket had no events. */
  series: StatsBucket[]
  /** Dead events now, whenever they were received. */
  dlq: { depth: number; byProvider: Record<string, number> }
}

const DURATION = /^(\d+)(m|h|d)$/
const SECONDS = { m: 60, h: 3600, d: 86_400 } as const
const MAX_BUCKETS = 1000
const COUNTS = ['received', 'processed', 'skippedStale', 'failed', 'dead', 'ignored', 'pending'] as const

/** zod schema of a stats request: `since` (a time bound, default `24h`) and `bucket` (`1h`, `15m`, `1d`; default `1h`). */
export const statsRequestSchema = z
  .strictObject({
    since: z.string().default('24h'),
    bucket: z.string().regex(DURATION, 'expected a duration such as 15m, 1h or 1d').default('1h'),
  })
  .transform((v, ctx) => {
    const since = parseTimeBound(v.since)
    const [, n, unit] = DURATION.exec(v.bucket) ?? []
    const bucketSeconds = Number(n) * SECONDS[unit as keyof typeof SECONDS]
    if (!since) ctx.addIssue({ code: 'custom', path: ['since'], message: 'expected an ISO 8601 date (years 0001 to 9999) or a duration such as 24h' })
    else if (bucketSeconds < 60 || (Date.now() - since.getTime()) / 1000 / bucketSeconds > MAX_BUCKETS) {
      ctx.addIssue({ code: 'custom', path: ['bucket'], message: `at least 1m, and at most ${MAX_BUCKETS} buckets in the window` })
    }
    return { since: since ?? new Date(), bucketSeconds }
  })

/**
 * Counts events by provider and bucket of receipt time (one indexed scan of the window), and the
 * DLQ depth.
 *
 * @example
 * const stats = await eventStats(new EventReads(pool), { since: new Date(Date.now() - 86_400_000), bucketSeconds: 3600 })
 */
export async function eventStats(reads: EventReads, request: { since: Date; bucketSeconds: number }): Promise<EventStats> {
  const until = new Date()
  const [series, dead] = await Promise.all([reads.statsSeries(request.since, request.bucketSeconds), reads.deadByProvider()])
  const totals = new Map<string, Omit<StatsBucket, 'at'>>()
  for (const bucket of series) {
    const total = totals.get(bucket.provider) ?? { provider: bucket.provider, received: 0, processed: 0, skippedStale: 0, failed: 0, dead: 0, ignored: 0, pending: 0 }
    for (const key of COUNTS) total[key] += bucket[key]
    totals.set(bucket.provider, total)
  }
  return {
    since: request.since,
    until,
    bucketSeconds: request.bucketSeconds,
    providers: [...totals.values()].sort((a, b) => a.provider.localeCompare(b.provider)),
    series,
    dlq: { depth: sum(dead.map((d) => d.n)), byProvider: Object.fromEntries(dead.map((d) => [d.provider, d.n])) },
  }
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0)
}

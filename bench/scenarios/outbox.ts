/**
 * @module The outbox: an application process commits order transactions that emit an event each
 * (`hookline.emit`), interleaved with the same transactions without the emit (the baseline), while
 * a worker process relays and handles the events; then how fast they were handled and how long
 * each took from its commit to its handler's commit.
 */
import pg from 'pg'
import { forkChild, sleep } from '../support/child.ts'
import { type Infra, REDIS_URL } from '../support/infra.ts'
import type { OutboxAppConfig } from '../targets/outbox-app.ts'

/** What the outbox scenario measured. */
export interface OutboxResult {
  events: number
  concurrency: number
  /** Transactions per second without an emit (the baseline). */
  plainRate: number
  /** Transactions per second with one emit each. */
  emitRate: number
  /** From the first emitting transaction to the last event handled, events per second. */
  handledRate: number
  /** From an event's emit to its handler's commit. */
  lagP50Ms: number
  lagP99Ms: number
  workerPeakRss: number
}

/**
 * Runs `rounds` interleaved rounds of `events` transactions each, plain then emitting.
 *
 * @example
 * const result = await runOutbox(infra, { events: 10_000, concurrency: 16, rounds: 2 })
 */
export async function runOutbox(infra: Infra, options: { events: number; concurrency: number; rounds: number }): Promise<OutboxResult> {
  const sandbox = await infra.sandbox()
  const db = new pg.Client({ connectionString: sandbox.databaseUrl })
  await db.connect()
  await db.query(`CREATE TABLE bench_orders (id text PRIMARY KEY, status text NOT NULL); CREATE TABLE bench_handled (event_id uuid PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())`)
  const base = { ...sandbox, redisUrl: REDIS_URL }
  const worker = await forkChild('targets/outbox-app.ts', { ...base, role: 'worker' } satisfies OutboxAppConfig)
  const app = await forkChild('targets/outbox-app.ts', { ...base, role: 'app' } satisfies OutboxAppConfig)
  const count = async (sql: string) => (await db.query<{ n: number }>(sql)).rows[0]!.n
  try {
    let plainSeconds = 0
    let emitSeconds = 0
    let handledSeconds = 0
    for (let round = 0; round < options.rounds; round++) {
      const offset = round * options.events * 2
      plainSeconds += await app.call<number>('transact', { count: options.events, concurrency: options.concurrency, emit: false, offset })
      const started = performance.now()
      emitSeconds += await app.call<number>('transact', { count: options.events, concurrency: options.concurrency, emit: true, offset: offset + options.events })
      const expected = (round + 1) * options.events
      while ((await count(`SELECT count(*)::int AS n FROM bench_handled`)) < expected) await sleep(20)
      handledSeconds += (performance.now() - started) / 1000
    }
    const lag = (
      await db.query<{ p50: number; p99: number }>(
        `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50, percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99
           FROM (SELECT extract(epoch FROM h.at - e.occurred_at) * 1000 AS ms
                   FROM bench_handled h JOIN hookline.hookline_events e ON e.id = h.event_id) AS l`,
      )
    ).rows[0]!
    const total = options.events * options.rounds
    return {
      events: total,
      concurrency: options.concurrency,
      plainRate: total / plainSeconds,
      emitRate: total / emitSeconds,
      handledRate: total / handledSeconds,
      lagP50Ms: lag.p50,
      lagP99Ms: lag.p99,
      workerPeakRss: await worker.peakRssBytes(),
    }
  } finally {
    await app.stop()
    await worker.stop()
    await db.end()
  }
}

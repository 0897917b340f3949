/**
 * @module Ingest while retention runs: Hookline's ingress on an inbox holding a million events past
 * the event window, at the ingest cases' connection count, in windows without and with a pruner
 * process removing them in the scheduled pass's batches, interleaved.
 */
import type { LoadResult, LoadRun } from '../load/load-generator.ts'
import { type Child, forkChild } from '../support/child.ts'
import { prefillInbox } from '../support/inbox-prefill.ts'
import { type Infra, REDIS_URL } from '../support/infra.ts'
import type { IngestServerConfig } from '../targets/ingest-server.ts'
import type { PrunerConfig } from '../targets/pruner.ts'

/** What the retention scenario measured. */
export interface PruneResult {
  /** Events past the window the inbox held at the start. */
  rows: number
  connections: number
  without: { rate: number; p99: number }
  pruning: { rate: number; p99: number }
  /** Rows the pruner removed while measured, per second. */
  removedPerSecond: number
}

/**
 * Runs `rounds` pairs of windows (without, then with the pruner).
 *
 * @example
 * const result = await runPrune(infra, load, { rows: 1_000_000, connections: 50, seconds: 10, rounds: 2, poolRate: 10_000 })
 */
export async function runPrune(infra: Infra, load: Child<unknown>, settings: { rows: number; connections: number; seconds: number; rounds: number; poolRate: number }): Promise<PruneResult> {
  const sandbox = await infra.sandbox()
  await prefillInbox(sandbox.databaseUrl, settings.rows, { olderThanDays: 100 })
  const server = await forkChild<{ port: number }>('targets/ingest-server.ts', { mode: 'hookline', ...sandbox, redisUrl: REDIS_URL } satisfies IngestServerConfig)
  const pruner = await forkChild('targets/pruner.ts', { databaseUrl: sandbox.databaseUrl } satisfies PrunerConfig)
  const window = async (seconds: number): Promise<LoadResult> => {
    const run: LoadRun = {
      url: `http://127.0.0.1:${server.ready.port}`,
      path: '/webhooks/stripe',
      mix: { provider: 'stripe', count: Math.ceil(settings.poolRate * seconds), duplicateShare: 0 },
      connections: settings.connections,
      durationSeconds: seconds,
    }
    await load.call('prepare', run.mix)
    return load.call<LoadResult>('run', run)
  }
  try {
    await window(2)
    const without: LoadResult[] = []
    const pruning: LoadResult[] = []
    let removed = 0
    for (let round = 0; round < settings.rounds; round++) {
      without.push(await window(settings.seconds))
      const [measured, n] = await Promise.all([window(settings.seconds), pruner.call<number>('pruneFor', { seconds: settings.seconds })])
      pruning.push(measured)
      removed += n
    }
    const summary = (runs: LoadResult[]) => ({ rate: runs.reduce((s, r) => s + r.ok, 0) / runs.reduce((s, r) => s + r.seconds, 0), p99: Math.max(...runs.map((r) => r.p99)) })
    return { rows: settings.rows, connections: settings.connections, without: summary(without), pruning: summary(pruning), removedPerSecond: removed / (settings.seconds * settings.rounds) }
  } finally {
    await pruner.stop()
    await server.stop()
  }
}

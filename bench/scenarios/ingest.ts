/**
 * @module Ingest scenarios: every case (a target, a provider, a connection count, a share of
 * duplicates) runs for a few seconds per round, and rounds interleave all cases, so that a noisy
 * moment of the machine hits baselines and Hookline alike. Targets stay up for the whole scenario.
 */
import type { LoadResult, LoadRun } from '../load/load-generator.ts'
import type { BenchProvider } from '../load/deliveries.ts'
import { type Child, forkChild } from '../support/child.ts'
import { cpuBetween, type CpuUse, meanCpu, sampleCpu } from '../support/cpu.ts'
import { checkpoint, prefillInbox } from '../support/inbox-prefill.ts'
import { type Infra, REDIS_URL } from '../support/infra.ts'
import { quantile } from '../support/stats.ts'
import type { IngestServerConfig } from '../targets/ingest-server.ts'

/** A measured target process. */
export type IngestTarget = 'bare' | 'verify' | 'naive' | 'hookline' | 'hookline-unbatched' | 'hookline-large'

/** One ingest case. */
export interface IngestCase {
  name: string
  target: IngestTarget
  provider: BenchProvider
  connections: number
  duplicateShare?: number
}

/** Settings of the ingest scenarios. */
export interface IngestSettings {
  cases: IngestCase[]
  rounds: number
  secondsPerRound: number
  /**
   * Unique events pre-signed per second of a run against a database target; a target faster than
   * this gets repeats (reported as `wrapped`).
   */
  poolRate: number
  /**
   * Processed events in each database target's inbox before the load, with a `CHECKPOINT` before
   * each of their measured windows (see `bench/support/inbox-prefill.ts`); 0 starts empty.
   */
  inboxRows: number
  /** Processed events in the inbox of the `hookline-large` target (the cost of a grown inbox). */
  largeInboxRows: number
}

/** Aggregated result of one case over every round. */
export interface IngestRow {
  name: string
  target: IngestTarget
  provider: BenchProvider
  connections: number
  duplicateShare: number
  /** 2xx per second over all rounds. */
  rate: number
  /** Median over rounds of each round's p50 (ms). */
  p50: number
  /** Worst round's p99 (ms). */
  p99: number
  non2xx: number
  errors: number
  wrapped: number
  bodyBytes: number
  /** Peak RSS of the target process over the whole scenario (bytes; shared by its cases). */
  targetPeakRss: number
  /** Where the CPU went while the case ran (mean over rounds); absent where `/proc` is not. */
  cpu?: CpuUse
  rounds: LoadResult[]
}

/** One round of one case: the load's result and the CPU used meanwhile. */
interface Measured {
  load: LoadResult
  cpu: CpuUse | undefined
}

function serverConfig(target: IngestTarget, sandbox: { databaseUrl: string; queuePrefix: string }): IngestServerConfig {
  const base = { ...sandbox, redisUrl: REDIS_URL }
  if (target === 'hookline-unbatched') return { ...base, mode: 'hookline', hookline: { ingest: { maxBatchSize: 1 } } }
  if (target === 'hookline-large') return { ...base, mode: 'hookline' }
  return { ...base, mode: target }
}

/**
 * Runs every case `rounds` times, interleaved, and aggregates.
 *
 * @example
 * const rows = await runIngest(infra, load, { cases, rounds: 2, secondsPerRound: 5, poolRate: 5000 })
 */
export async function runIngest(infra: Infra, load: Child<unknown>, settings: IngestSettings, log: (line: string) => void): Promise<IngestRow[]> {
  const targets = new Map<IngestTarget, Child<{ port: number }>>()
  const databases = new Map<IngestTarget, string>()
  try {
    for (const target of new Set(settings.cases.map((c) => c.target))) {
      const needsDb = target !== 'bare' && target !== 'verify'
      const sandbox = needsDb ? await infra.sandbox() : { databaseUrl: '', queuePrefix: '' }
      if (needsDb) await prefillInbox(sandbox.databaseUrl, target === 'hookline-large' ? settings.largeInboxRows : settings.inboxRows)
      targets.set(target, await forkChild<{ port: number }>('targets/ingest-server.ts', serverConfig(target, sandbox)))
      databases.set(target, sandbox.databaseUrl)
    }
    const runCase = async (c: IngestCase, seconds: number): Promise<Measured> => {
      const server = targets.get(c.target)!
      const stateless = c.target === 'bare' || c.target === 'verify'
      const run: LoadRun = {
        url: `http://127.0.0.1:${server.ready.port}`,
        path: `/webhooks/${c.provider}`,
        // Stateless targets store nothing: a short cycled sequence is as good as unique events.
      mix: { provider: c.provider, count: stateless ? 2000 : Math.ceil(settings.poolRate * seconds), duplicateShare: c.duplicateShare ?? 0 },
        connections: c.connections,
        durationSeconds: seconds,
      }
      await load.call('prepare', run.mix)
      const database = databases.get(c.target)
      if (settings.inboxRows > 0 && database) await checkpoint(database)
      const before = await sampleCpu(server.pid, load.pid)
      const result = await load.call<LoadResult>('run', run)
      return { load: result, cpu: cpuBetween(before, await sampleCpu(server.pid, load.pid)) }
    }
    // Warm-up (JIT, pools, prepared plans): one short unrecorded run per target.
    for (const target of targets.keys()) {
      const first = settings.cases.find((c) => c.target === target)!
      await runCase({ ...first, duplicateShare: 0 }, 2)
    }
    const results = new Map<string, Measured[]>(settings.cases.map((c) => [c.name, []]))
    for (let round = 1; round <= settings.rounds; round++) {
      for (const c of settings.cases) {
        const measured = await runCase(c, settings.secondsPerRound)
        results.get(c.name)!.push(measured)
        const r = measured.load
        const cpu = measured.cpu ? `  main thread ${measured.cpu.mainRun.toFixed(2)} on a core + ${measured.cpu.mainWait.toFixed(2)} waiting` : ''
        log(`  round ${round} ${c.name.padEnd(34)} ${r.rate.toFixed(0).padStart(6)}/s  p50 ${r.p50} ms  p99 ${r.p99} ms${cpu}${r.non2xx + r.errors > 0 ? `  non-2xx ${r.non2xx} errors ${r.errors}` : ''}`)
      }
    }
    const rss = new Map<IngestTarget, number>()
    for (const [target, child] of targets) rss.set(target, await child.peakRssBytes())
    return settings.cases.map((c) => {
      const measured = results.get(c.name)!
      const rounds = measured.map((m) => m.load)
      const cpu = meanCpu(measured.map((m) => ({ cpu: m.cpu, seconds: m.load.seconds })))
      const seconds = rounds.reduce((s, r) => s + r.seconds, 0)
      return {
        name: c.name,
        target: c.target,
        provider: c.provider,
        connections: c.connections,
        duplicateShare: c.duplicateShare ?? 0,
        rate: rounds.reduce((s, r) => s + r.ok, 0) / seconds,
        p50: quantile(rounds.map((r) => r.p50), 0.5),
        p99: Math.max(...rounds.map((r) => r.p99)),
        non2xx: rounds.reduce((s, r) => s + r.non2xx, 0),
        errors: rounds.reduce((s, r) => s + r.errors, 0),
        wrapped: rounds.reduce((s, r) => s + r.wrapped, 0),
        bodyBytes: rounds[0]!.bodyBytes,
        targetPeakRss: rss.get(c.target)!,
        ...(cpu ? { cpu } : {}),
        rounds,
      }
    })
  } finally {
    for (const child of targets.values()) await child.stop()
  }
}

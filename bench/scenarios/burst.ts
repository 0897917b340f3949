/**
 * @module The service as users run it (`pnpm start`, default settings, worker processes on):
 * - *burst*: unique signed Stripe events as fast as it answers, at each connection count for a few
 *   seconds, interleaved with Express + `constructEvent` (the verify-only ceiling) and with a second
 *   `pnpm start` whose workers yield to a saturated ingress (`HOOKLINE_WORKER_YIELD_MS`), then the
 *   time until the backlog is processed;
 * - *capacity*: stepped steady offered rates (see `steady-rate.ts`), each held for a while; the highest step with every event
 *   answered and processed, the backlog bounded and processed p99 under a second, with the CPU each
 *   process spent per event.
 */
import pg from 'pg'
import type { LoadResult, LoadRun } from '../load/load-generator.ts'
import { type Child, forkChild, sleep } from '../support/child.ts'
import { cpuBetween, type CpuUse, meanCpu, sampleCpu } from '../support/cpu.ts'
import { type Infra, REDIS_URL } from '../support/infra.ts'
import { type ServiceProcess, startService } from '../support/service-process.ts'
import { quantile } from '../support/stats.ts'
import type { IngestServerConfig } from '../targets/ingest-server.ts'

/** A target of the burst: the verify-only ceiling, `pnpm start`, or `pnpm start` whose workers yield to bursts. */
export type BurstTarget = 'verify' | 'start' | 'start-yield'

/** What each target is called in the bench's output. */
export const BURST_TARGET_NAMES: Readonly<Record<BurstTarget, string>> = {
  verify: 'express + constructEvent',
  start: 'pnpm start',
  'start-yield': 'pnpm start, workers yielding',
}

/** `HOOKLINE_WORKER_YIELD_MS` of the yielding `pnpm start`: longer than a burst. */
const BURST_YIELD_MS = 15_000

/** One case of the burst: a target at one connection count, over every round. */
export interface BurstRow {
  target: BurstTarget
  connections: number
  /** 2xx per second over all rounds. */
  rate: number
  /** Median of the rounds' p50, worst round's p99 (ms). */
  p50: number
  p99: number
  non2xx: number
  errors: number
  /** `pnpm start` only: mean seconds from the end of a burst until its backlog was processed. */
  drainSeconds?: number
  /** Cores used during the rounds (the target is the verify-only server, or `pnpm start`'s ingress). */
  cpu?: CpuUse
  rounds: LoadResult[]
}

/** One step of the capacity search. */
export interface CapacityStep {
  offeredRate: number
  load: LoadResult
  /** Received→processed p99 of the step's events (ms). */
  processedP99: number
  /** Largest backlog sampled during the step, and at its end. */
  maxDepth: number
  endDepth: number
  /** Seconds after the step until its backlog was processed. */
  drainSeconds: number
  sustained: boolean
  /** µs of CPU per answered event, by process. */
  cpuPerEventUs?: { ingress: number; worker: number; postgres: number; redis: number; load: number }
}

/** What the `pnpm start` scenarios measured. */
export interface StartResult {
  burst: BurstRow[]
  capacity: { steps: CapacityStep[]; sustainedRate: number | null; ceilingRate: number | null }
}

/** Settings of {@link runStartScenarios}. */
export interface StartSettings {
  connections: number[]
  burstSeconds: number
  rounds: number
  poolRate: number
  capacityRates: number[]
  capacitySeconds: number
  capacityConnections: number
}

/**
 * Runs the burst rounds, then the capacity steps, on one `pnpm start` and one verify-only server.
 *
 * @example
 * const result = await runStartScenarios(infra, load, settings, log)
 */
export async function runStartScenarios(infra: Infra, load: Child<unknown>, settings: StartSettings, log: (line: string) => void): Promise<StartResult> {
  const sandbox = await infra.sandbox()
  const verify = await forkChild<{ port: number }>('targets/ingest-server.ts', { mode: 'verify', databaseUrl: '', queuePrefix: '', redisUrl: REDIS_URL } satisfies IngestServerConfig)
  const service = await startService(sandbox)
  const yieldingSandbox = await infra.sandbox()
  const yielding = await startService(yieldingSandbox, { HOOKLINE_WORKER_YIELD_MS: String(BURST_YIELD_MS) })
  const db = new pg.Pool({ connectionString: sandbox.databaseUrl, max: 2 })
  const backlog = async () => (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM hookline.hookline_due_events`)).rows[0]!.n
  const drained = async (deadlineMs = 180_000, count = backlog): Promise<number> => {
    const started = performance.now()
    while ((await count()) > 0 && performance.now() - started < deadlineMs) await sleep(100)
    return (performance.now() - started) / 1000
  }
  const yieldingDb = new pg.Pool({ connectionString: yieldingSandbox.databaseUrl, max: 2 })
  const yieldingBacklog = async () => (await yieldingDb.query<{ n: number }>(`SELECT count(*)::int AS n FROM hookline.hookline_due_events`)).rows[0]!.n
  const targets: BurstTarget[] = ['verify', 'start', 'start-yield']
  const url = (target: BurstTarget) => (target === 'verify' ? `http://127.0.0.1:${verify.ready.port}` : target === 'start' ? service.url : yielding.url)
  const pids = (target: BurstTarget): [number, number, number?] =>
    target === 'verify' ? [verify.pid, load.pid] : target === 'start' ? [service.ingressPid, load.pid, service.workerPids[0]] : [yielding.ingressPid, load.pid, yielding.workerPids[0]]
  const burst = async (target: BurstTarget, connections: number, seconds: number): Promise<LoadResult & { cpu?: CpuUse }> => {
    const run: LoadRun = {
      url: url(target),
      path: '/webhooks/stripe',
      mix: { provider: 'stripe', count: target === 'verify' ? 2000 : Math.ceil(settings.poolRate * seconds), duplicateShare: 0 },
      connections,
      durationSeconds: seconds,
    }
    await load.call('prepare', run.mix)
    const before = await sampleCpu(...pids(target))
    const result = await load.call<LoadResult>('run', run)
    const cpu = cpuBetween(before, await sampleCpu(...pids(target)))
    return { ...result, ...(cpu ? { cpu } : {}) }
  }
  try {
    // Warm-up of both (JIT, pools, prepared plans), and the worker's first backlog.
    for (const target of targets) await burst(target, settings.connections[0]!, 2)
    await drained()
    await drained(180_000, yieldingBacklog)
    const results = new Map<string, { rounds: (LoadResult & { cpu?: CpuUse })[]; drains: number[] }>()
    for (let round = 1; round <= settings.rounds; round++) {
      for (const connections of settings.connections) {
        for (const target of targets) {
          const r = await burst(target, connections, settings.burstSeconds)
          const drain = target === 'verify' ? undefined : await drained(180_000, target === 'start' ? backlog : yieldingBacklog)
          const key = `${target}@${connections}`
          const entry = results.get(key) ?? { rounds: [], drains: [] }
          entry.rounds.push(r)
          if (drain !== undefined) entry.drains.push(drain)
          results.set(key, entry)
          log(`  round ${round} ${BURST_TARGET_NAMES[target]} @${connections}`.padEnd(52) + ` ${r.rate.toFixed(0).padStart(6)}/s  p50 ${r.p50} ms  p99 ${r.p99} ms${drain === undefined ? '' : `  backlog processed ${drain.toFixed(1)} s later`}`)
        }
      }
    }
    const rows: BurstRow[] = [...results].map(([key, { rounds, drains }]) => {
      const [target, connections] = key.split('@') as [BurstTarget, string]
      const seconds = rounds.reduce((s, r) => s + r.seconds, 0)
      const cpu = meanCpu(rounds)
      return {
        target,
        connections: Number(connections),
        rate: rounds.reduce((s, r) => s + r.ok, 0) / seconds,
        p50: quantile(rounds.map((r) => r.p50), 0.5),
        p99: Math.max(...rounds.map((r) => r.p99)),
        non2xx: rounds.reduce((s, r) => s + r.non2xx, 0),
        errors: rounds.reduce((s, r) => s + r.errors, 0),
        ...(drains.length > 0 ? { drainSeconds: drains.reduce((s, d) => s + d, 0) / drains.length } : {}),
        ...(cpu ? { cpu } : {}),
        rounds: rounds.map(({ cpu: _, ...r }) => r),
      }
    })
    const steps = await capacity(service, load, db, backlog, drained, settings, log)
    const sustained = steps.filter((s) => s.sustained).map((s) => s.offeredRate)
    const ceiling = rows.find((r) => r.target === 'verify' && r.connections === settings.connections[0])?.rate ?? null
    return { burst: rows, capacity: { steps, sustainedRate: sustained.length > 0 ? Math.max(...sustained) : null, ceilingRate: ceiling } }
  } finally {
    await db.end()
    await yieldingDb.end()
    await yielding.stop()
    await service.stop()
    await verify.stop()
  }
}

/** The capacity steps, lowest rate first, stopping after the first that is not sustained. */
async function capacity(
  service: ServiceProcess,
  load: Child<unknown>,
  db: pg.Pool,
  backlog: () => Promise<number>,
  drained: () => Promise<number>,
  settings: StartSettings,
  log: (line: string) => void,
): Promise<CapacityStep[]> {
  const steps: CapacityStep[] = []
  for (const rate of settings.capacityRates) {
    const mix = { provider: 'stripe' as const, count: Math.ceil(rate * settings.capacitySeconds * 1.05), duplicateShare: 0 }
    await load.call('prepare', mix)
    const since = new Date()
    const depth: number[] = []
    let running = true
    const before = await sampleCpu(service.ingressPid, load.pid, service.workerPids[0])
    const done = load
      .call<LoadResult>('run', { url: service.url, path: '/webhooks/stripe', mix, connections: settings.capacityConnections, durationSeconds: settings.capacitySeconds, overallRate: rate } satisfies LoadRun)
      .finally(() => (running = false))
    while (running) {
      await sleep(1000)
      depth.push(await backlog())
    }
    const result = await done
    const cpu: CpuUse | undefined = cpuBetween(before, await sampleCpu(service.ingressPid, load.pid, service.workerPids[0]))
    const endDepth = await backlog()
    const drainSeconds = await drained()
    const { p99 } = (
      await db.query<{ p99: number }>(
        `SELECT percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM processed_at - received_at) * 1000) AS p99
           FROM hookline.hookline_events WHERE received_at >= $1 AND status = 'processed'`,
        [since],
      )
    ).rows[0]!
    const processedP99 = Number(p99)
    // Bounded: what is left when the load stops is at most a second of it.
    const sustained = result.non2xx + result.errors === 0 && result.rate >= 0.97 * rate && endDepth <= rate && processedP99 < 1000
    const perEvent = (cores: number | undefined) => ((cores ?? 0) * 1e6) / Math.max(1, result.rate)
    const step: CapacityStep = {
      offeredRate: rate,
      load: result,
      processedP99,
      maxDepth: Math.max(0, ...depth),
      endDepth,
      drainSeconds,
      sustained,
      ...(cpu ? { cpuPerEventUs: { ingress: perEvent(cpu.target), worker: perEvent(cpu.worker), postgres: perEvent(cpu.postgres), redis: perEvent(cpu.redis), load: perEvent(cpu.load) } } : {}),
    }
    steps.push(step)
    log(`  capacity ${rate}/s: achieved ${result.rate.toFixed(0)}/s, processed p99 ${processedP99.toFixed(0)} ms, backlog max ${step.maxDepth} end ${endDepth}${sustained ? '' : '  (not sustained)'}`)
    if (!sustained) break
  }
  return steps
}

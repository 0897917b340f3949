/**
 * @module End to end: the service under a fixed offered rate (no-op handler), in two layouts: the
 * ingress with its worker in a process of its own (what `pnpm start` runs), and both in one process
 * (`HOOKLINE_WORKER_PROCESSES=0`). Reports the achieved rate, ingest latency (each answer's own),
 * the backlog (events received and not yet processed) sampled every second, received→processed
 * latency read from the inbox once everything is processed, and where the CPU went while the load
 * ran (ingress, worker process, Postgres and Redis, load generator).
 */
import pg from 'pg'
import type { LoadResult, LoadRun } from '../load/load-generator.ts'
import { type Child, forkChild, sleep } from '../support/child.ts'
import { cpuBetween, type CpuUse, sampleCpu } from '../support/cpu.ts'
import { type Infra, REDIS_URL } from '../support/infra.ts'
import type { DrainWorkerConfig } from '../targets/drain-worker.ts'
import type { IngestServerConfig } from '../targets/ingest-server.ts'

/** Settings of the end-to-end scenario. */
export interface EndToEndSettings {
  rate: number
  seconds: number
  connections: number
  /** Worker concurrency of the service. */
  concurrency: number
  /** Run the worker in a process of its own beside the ingress. */
  separateWorker: boolean
}

/** What the end-to-end scenario measured. */
export interface EndToEndResult {
  /** Ingress and worker in one process (`HOOKLINE_WORKER_PROCESSES=0`), or the worker in its own (`pnpm start`). */
  layout: 'all-in-one' | 'separate worker'
  offeredRate: number
  /** Connections the offered rate was spread over (absent from runs before it was a setting: 50). */
  connections?: number
  load: LoadResult
  /** Received→processed latency over every event (ms). */
  processedP50: number
  processedP99: number
  processedMax: number
  processed: number
  /**
   * Events received and not yet processed (the inbox's work list), sampled each second while the
   * load ran: [seconds, depth].
   */
  depth: [number, number][]
  maxDepth: number
  /** Seconds from the end of the load until every event was processed. */
  drainAfterLoadSeconds: number
  /** Peak RSS of each service process (the ingress first). */
  servicePeakRss: number[]
  /**
   * Where the CPU went from the first request to the end of the load (Linux only): `target` is the
   * ingress, `worker` the worker process.
   */
  cpu?: CpuUse
}

/**
 * Runs the scenario on a fresh sandbox.
 *
 * @example
 * const result = await runEndToEnd(infra, load, { rate: 2500, seconds: 60, connections: 200, concurrency: 400, separateWorker: false })
 */
export async function runEndToEnd(infra: Infra, load: Child<unknown>, settings: EndToEndSettings): Promise<EndToEndResult> {
  const sandbox = await infra.sandbox()
  const config: IngestServerConfig = { mode: 'hookline', ...sandbox, redisUrl: REDIS_URL, worker: !settings.separateWorker, hookline: { worker: { concurrency: settings.concurrency } } }
  const service = await forkChild<{ port: number }>('targets/ingest-server.ts', config)
  const worker = settings.separateWorker
    ? await forkChild('targets/drain-worker.ts', { mode: 'hookline', ...sandbox, redisUrl: REDIS_URL, concurrency: settings.concurrency } satisfies DrainWorkerConfig)
    : undefined
  const db = new pg.Pool({ connectionString: sandbox.databaseUrl, max: 2 })
  // The inbox's work list: events not finished (a no-op handler dead-letters nothing).
  const unprocessed = async () => (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM hookline.hookline_due_events`)).rows[0]!.n
  try {
    const run: LoadRun = {
      url: `http://127.0.0.1:${service.ready.port}`,
      path: '/webhooks/stripe',
      mix: { provider: 'stripe', count: Math.ceil(settings.rate * settings.seconds * 1.05) },
      connections: settings.connections,
      durationSeconds: settings.seconds,
      overallRate: settings.rate,
    }
    const depth: [number, number][] = []
    let running = true
    const loadDone = load.call<LoadResult>('run', run).finally(() => {
      running = false
    })
    // The load generator signs its events before it starts sending: sample from the first request.
    while (running && (await unprocessed()) === 0 && (await db.query(`SELECT 1 FROM hookline.hookline_events LIMIT 1`)).rowCount === 0) await sleep(50)
    const started = performance.now()
    const cpuBefore = await sampleCpu(service.pid, load.pid, worker?.pid)
    while (running) {
      depth.push([Math.round((performance.now() - started) / 1000), await unprocessed()])
      await sleep(1000)
    }
    const result = await loadDone
    const cpu = cpuBetween(cpuBefore, await sampleCpu(service.pid, load.pid, worker?.pid))
    const loadEnded = performance.now()
    const deadline = loadEnded + 120_000
    while ((await unprocessed()) > 0 && performance.now() < deadline) await sleep(200)
    const drainAfterLoadSeconds = (performance.now() - loadEnded) / 1000
    const latency = (
      await db.query<{ p50: number; p99: number; max: number; n: number }>(
        `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50, percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99,
                max(ms) AS max, count(*)::int AS n
           FROM (SELECT extract(epoch FROM processed_at - received_at) * 1000 AS ms FROM hookline.hookline_events WHERE status = 'processed') t`,
      )
    ).rows[0]!
    return {
      layout: settings.separateWorker ? 'separate worker' : 'all-in-one',
      offeredRate: settings.rate,
      connections: settings.connections,
      load: result,
      processedP50: Number(latency.p50),
      processedP99: Number(latency.p99),
      processedMax: Number(latency.max),
      processed: latency.n,
      depth,
      maxDepth: Math.max(0, ...depth.map(([, d]) => d)),
      drainAfterLoadSeconds,
      servicePeakRss: [await service.peakRssBytes(), ...(worker ? [await worker.peakRssBytes()] : [])],
      ...(cpu ? { cpu } : {}),
    }
  } finally {
    await service.stop()
    await worker?.stop()
    await db.end()
  }
}

/**
 * @module `pnpm bench`: starts what it measures (targets, workers and the load generator, each in
 * its own process, on sandboxes of the local Postgres and Redis), runs every scenario against its
 * baselines in the same run, prints a table of rates, latencies, ratios and peak RSS, and writes
 * the results as JSON with `--json <file>`. `--help` lists the knobs.
 */
import { writeFile } from 'node:fs/promises'
import { cpus, totalmem } from 'node:os'
import { parseArgs } from 'node:util'
import { DEFAULT_WORKER_OPTIONS } from '@hookline/core'
import { forkChild, profileTargets } from './support/child.ts'
import { Infra } from './support/infra.ts'
import { printReport, type BenchReport } from './report.ts'
import { runDrain } from './scenarios/drain.ts'
import { runEndToEnd } from './scenarios/end-to-end.ts'
import { type IngestCase, runIngest } from './scenarios/ingest.ts'
import { runStartScenarios } from './scenarios/burst.ts'
import { runOutbox } from './scenarios/outbox.ts'
import { runPrune } from './scenarios/prune.ts'
import { runReconcile } from './scenarios/reconcile.ts'

const HELP = `pnpm bench [options]

  --only <list>            scenarios to run, comma-separated: ingest,prune,start,e2e,drain,reconcile,outbox (default all)
  --rounds <n>             interleaved rounds of the ingest cases (default 2)
  --seconds <s>            seconds per ingest case per round (default 5)
  --connections <n>        connections of the ingest cases (default 50)
  --high-connections <n>   connections of the high-concurrency cases (default 200)
  --pool-rate <n>          unique pre-signed events per second of a database-backed run (default 10000)
  --e2e-rate <n>           offered rate of the end-to-end scenario, events/s (default 2500); it runs
                           twice: all in one process, then with the worker in a process of its own
                           (as pnpm start runs it)
  --e2e-seconds <s>        duration of the end-to-end scenario (default 60)
  --e2e-connections <n>    connections the offered rate is spread over (default 200): autocannon
                           paces each connection, and one still waiting for its answer skips its
                           turn, so fewer connections offer less than the rate once answers slow
  --drain-events <n>       events queued for the drain scenario (default 20000; the issue's figure is 50000)
  --drain-workers <list>   worker process counts to drain with, e.g. 1,2,4 (default 1)
  --drain-job-events <list> events per queued job in Hookline's drains, e.g. 20,1 (default 20, about
                           what an ingress commit holds; 1 is a job per event, as the sweeper queues)
  --concurrency <n>        jobs per worker process in drain and end-to-end (default Hookline's, 400)
  --reconcile-events <n>   events in the fake Stripe API for the reconciliation scenario (default 100000)
  --burst-seconds <s>      seconds of each burst against pnpm start and its verify-only ceiling (default 10)
  --capacity-rates <list>  offered rates of pnpm start's capacity steps, events/s (default 1500,2000,2500,3000,3500,4000)
  --capacity-seconds <s>   seconds each capacity step is held (default 60)
  --outbox-events <n>      order transactions per kind and round of the outbox scenario (default 10000)
  --outbox-concurrency <n> transactions the application runs at once in the outbox scenario (default 16)
  --large-inbox-rows <n>   processed events stored in the inbox of the large-inbox ingest case, run beside
                           the empty-inbox one (default 10000000; 0 leaves the case out)
  --prune-rows <n>         events past the retention window the pruning case's inbox starts with (default 1000000)
  --inbox-rows <n>         processed events in each database target's inbox before the ingest cases,
                           with a CHECKPOINT before each of their windows (default 0: empty tables)
  --cases <list>           ingest cases to run: those whose name contains one of these, comma-separated
                           (e.g. "hookline stripe @50,constructEvent")
  --skip-unbatched         leave out the Hookline row with group commit disabled
  --quick                  short smoke run (1 round of 3 s, 15 s end to end, 10k drain, 20k reconcile)
  --json <file>            also write every result as JSON
  --cpu-prof <dir>         write a CPU profile of every measured process into <dir> (open in Chrome DevTools)

HOOKLINE_* variables in the environment reach every pnpm start the bench runs, e.g.
HOOKLINE_CONCURRENCY=800 pnpm bench --only start to try a sizing.
`

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    rounds: { type: 'string' },
    seconds: { type: 'string' },
    connections: { type: 'string' },
    'high-connections': { type: 'string' },
    'pool-rate': { type: 'string' },
    'e2e-rate': { type: 'string' },
    'e2e-seconds': { type: 'string' },
    'e2e-connections': { type: 'string' },
    'drain-events': { type: 'string' },
    'drain-workers': { type: 'string' },
    'drain-job-events': { type: 'string' },
    concurrency: { type: 'string' },
    cases: { type: 'string' },
    'inbox-rows': { type: 'string' },
    'large-inbox-rows': { type: 'string' },
    'prune-rows': { type: 'string' },
    'outbox-events': { type: 'string' },
    'burst-seconds': { type: 'string' },
    'capacity-rates': { type: 'string' },
    'capacity-seconds': { type: 'string' },
    'outbox-concurrency': { type: 'string' },
    'reconcile-events': { type: 'string' },
    'skip-unbatched': { type: 'boolean' },
    quick: { type: 'boolean' },
    json: { type: 'string' },
    'cpu-prof': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
})
if (values.help) {
  process.stdout.write(HELP)
  process.exit(0)
}

const quick = values.quick === true
const num = (value: string | undefined, normal: number, whenQuick = normal): number => (value === undefined ? (quick ? whenQuick : normal) : Number(value))
const settings = {
  only: new Set((values.only ?? 'ingest,prune,start,e2e,drain,reconcile,outbox').split(',')),
  rounds: num(values.rounds, 2, 1),
  seconds: num(values.seconds, 5, 3),
  connections: num(values.connections, 50),
  highConnections: num(values['high-connections'], 200),
  poolRate: num(values['pool-rate'], 10000),
  e2eRate: num(values['e2e-rate'], 2500),
  e2eSeconds: num(values['e2e-seconds'], 60, 15),
  e2eConnections: num(values['e2e-connections'], 200),
  drainEvents: num(values['drain-events'], 20_000, 10_000),
  drainWorkers: (values['drain-workers'] ?? '1').split(',').map(Number),
  drainJobEvents: (values['drain-job-events'] ?? '20').split(',').map(Number),
  concurrency: num(values.concurrency, DEFAULT_WORKER_OPTIONS.concurrency),
  reconcileEvents: num(values['reconcile-events'], 100_000, 20_000),
  unbatched: values['skip-unbatched'] !== true,
  inboxRows: num(values['inbox-rows'], 0),
  largeInboxRows: num(values['large-inbox-rows'], 10_000_000, 500_000),
  pruneRows: num(values['prune-rows'], 1_000_000, 200_000),
  outboxEvents: num(values['outbox-events'], 10_000, 3_000),
  burstSeconds: num(values['burst-seconds'], 10, 5),
  capacityRates: (values['capacity-rates'] ?? (quick ? '2000,3000' : '1500,2000,2500,3000,3500,4000')).split(',').map(Number),
  capacitySeconds: num(values['capacity-seconds'], 60, 15),
  outboxConcurrency: num(values['outbox-concurrency'], 16),
}

function millions(n: number): string {
  return n >= 1_000_000 ? `${n / 1_000_000}M` : `${n / 1000}k`
}

function ingestCases(): IngestCase[] {
  const c = settings.connections
  const hi = settings.highConnections
  const all: IngestCase[] = [
    { name: `bare express.raw 200 @${c}`, target: 'bare', provider: 'stripe', connections: c },
    { name: `express + constructEvent @${c}`, target: 'verify', provider: 'stripe', connections: c },
    { name: `naive pipeline @${c}`, target: 'naive', provider: 'stripe', connections: c },
    ...(settings.unbatched ? [{ name: `hookline stripe, no group commit @${c}`, target: 'hookline-unbatched', provider: 'stripe', connections: c } as const] : []),
    { name: `hookline stripe @${c}`, target: 'hookline', provider: 'stripe', connections: c },
    { name: `hookline github @${c}`, target: 'hookline', provider: 'github', connections: c },
    { name: `hookline slack @${c}`, target: 'hookline', provider: 'slack', connections: c },
    { name: `hookline stripe 90% duplicates @${c}`, target: 'hookline', provider: 'stripe', connections: c, duplicateShare: 0.9 },
    ...(settings.largeInboxRows > 0 ? [{ name: `hookline stripe, ${millions(settings.largeInboxRows)} stored @${c}`, target: 'hookline-large', provider: 'stripe', connections: c } as const] : []),
    { name: `naive pipeline @${hi}`, target: 'naive', provider: 'stripe', connections: hi },
    { name: `hookline stripe @${hi}`, target: 'hookline', provider: 'stripe', connections: hi },
  ]
  const wanted = values.cases?.split(',').filter(Boolean)
  return wanted ? all.filter((c) => wanted.some((w) => c.name.includes(w))) : all
}

if (values['cpu-prof']) profileTargets(values['cpu-prof'])
const log = (line: string): void => void process.stderr.write(`${line}\n`)
const infra = new Infra()
const load = await forkChild('load/load-generator.ts', {})
const report: BenchReport = {
  startedAt: new Date().toISOString(),
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryBytes: totalmem(), node: process.version },
  settings: { ...settings, only: [...settings.only] },
}
try {
  if (settings.only.has('ingest')) {
    log(`ingest: interleaved rounds${settings.inboxRows > 0 ? `, on inboxes of ${settings.inboxRows} events` : ''}`)
    report.ingest = await runIngest(
      infra,
      load,
      { cases: ingestCases(), rounds: settings.rounds, secondsPerRound: settings.seconds, poolRate: settings.poolRate, inboxRows: settings.inboxRows, largeInboxRows: settings.largeInboxRows },
      log,
    )
  }
  if (settings.only.has('prune')) {
    log(`prune: ingest beside a pruner removing ${settings.pruneRows} expired events, interleaved with ingest alone`)
    report.prune = await runPrune(infra, load, { rows: settings.pruneRows, connections: settings.connections, seconds: Math.max(settings.seconds, 5), rounds: settings.rounds, poolRate: settings.poolRate })
  }
  if (settings.only.has('start')) {
    log(`pnpm start: bursts of ${settings.burstSeconds} s at ${settings.connections} and ${settings.highConnections} connections beside the verify-only ceiling, then capacity steps of ${settings.capacitySeconds} s`)
    report.start = await runStartScenarios(
      infra,
      load,
      {
        connections: [settings.connections, settings.highConnections],
        burstSeconds: settings.burstSeconds,
        rounds: settings.rounds,
        poolRate: settings.poolRate,
        capacityRates: settings.capacityRates,
        capacitySeconds: settings.capacitySeconds,
        capacityConnections: settings.e2eConnections,
      },
      log,
    )
  }
  if (settings.only.has('e2e')) {
    log(`end to end: ${settings.e2eRate} events/s offered for ${settings.e2eSeconds} s`)
    report.endToEnd = []
    for (const separateWorker of [false, true]) {
      const e2e = { rate: settings.e2eRate, seconds: settings.e2eSeconds, connections: settings.e2eConnections, concurrency: settings.concurrency, separateWorker }
      report.endToEnd.push(await runEndToEnd(infra, load, e2e))
    }
  }
  if (settings.only.has('drain')) {
    log(`drain: ${settings.drainEvents} queued events`)
    report.drain = await runDrain(infra, { events: settings.drainEvents, processes: settings.drainWorkers, concurrency: settings.concurrency, eventsPerJob: settings.drainJobEvents }, log)
  }
  if (settings.only.has('reconcile')) {
    log(`reconcile: ${settings.reconcileEvents} events from the fake Stripe API`)
    report.reconcile = await runReconcile(infra, settings.reconcileEvents)
  }
  if (settings.only.has('outbox')) {
    log(`outbox: ${settings.outboxEvents} order transactions with and without an emit, ${settings.rounds} rounds`)
    report.outbox = await runOutbox(infra, { events: settings.outboxEvents, concurrency: settings.outboxConcurrency, rounds: settings.rounds })
  }
} finally {
  await load.stop()
  await infra.cleanup()
}
printReport(report, settings.connections, settings.highConnections)
if (values.json) await writeFile(values.json, `${JSON.stringify(report, null, 2)}\n`)

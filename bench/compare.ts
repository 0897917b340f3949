/**
 * @module `pnpm bench:compare <before.json> <after.json>`: two saved runs (`pnpm bench --json`) side
 * by side on the figures the issue's targets are stated in — ratios within each run, which are
 * what stays comparable between runs on a shared machine — plus the absolute rates for context.
 */
import { readFileSync } from 'node:fs'
import type { BurstTarget } from './scenarios/burst.ts'
import type { EndToEndResult } from './scenarios/end-to-end.ts'
import { type BenchReport, table } from './report.ts'
import { ratio } from './support/stats.ts'

/** One compared figure: its name, the target it is judged against, and how to read it off a run. */
interface Figure {
  name: string
  target: string
  read(report: BenchReport): number | undefined
  digits: number
}

const ingestRow = (report: BenchReport, prefix: string, connections: number) => report.ingest?.find((row) => row.name === `${prefix} @${connections}`)
const ingestRate = (report: BenchReport, prefix: string, connections: number): number | undefined => ingestRow(report, prefix, connections)?.rate
/** Main-thread CPU seconds per 2xx answer of one ingest case (absent before runs measured it). */
const mainCpuPerAnswer = (report: BenchReport, prefix: string, connections: number): number | undefined => {
  const row = ingestRow(report, prefix, connections)
  return row?.cpu ? row.cpu.mainRun / row.rate : undefined
}
const connectionsOf = (report: BenchReport): number => Number(report.settings.connections ?? 50)
const highConnectionsOf = (report: BenchReport): number => Number(report.settings.highConnections ?? 200)
const endToEnd = (report: BenchReport, layout: EndToEndResult['layout']) => report.endToEnd?.find((run) => run.layout === layout)
/** The layout `pnpm start` runs: the ingress with its worker in a process of its own. */
const burstRow = (report: BenchReport, target: BurstTarget, connections: number | undefined) => report.start?.burst.find((row) => row.target === target && row.connections === connections)
const service = (report: BenchReport) => endToEnd(report, 'separate worker')
const drainOf = (report: BenchReport, mode: 'bullmq' | 'hookline', processes = 1) =>
  report.drain?.find((row) => row.mode === mode && (mode === 'bullmq' || row.processes === processes))

const FIGURES: Figure[] = [
  { name: 'stripe ingest × verify-only', target: '≥ 0.75', digits: 2, read: (r) => ratio(ingestRate(r, 'hookline stripe', connectionsOf(r)), ingestRate(r, 'express + constructEvent', connectionsOf(r))) },
  { name: 'stripe ingest main-thread CPU per answer × verify-only', target: '', digits: 2, read: (r) => ratio(mainCpuPerAnswer(r, 'hookline stripe', connectionsOf(r)), mainCpuPerAnswer(r, 'express + constructEvent', connectionsOf(r))) },
  { name: 'stripe ingest × naive', target: '≥ 1.5', digits: 2, read: (r) => ratio(ingestRate(r, 'hookline stripe', connectionsOf(r)), ingestRate(r, 'naive pipeline', connectionsOf(r))) },
  { name: 'github ingest × naive', target: '≥ 1.5', digits: 2, read: (r) => ratio(ingestRate(r, 'hookline github', connectionsOf(r)), ingestRate(r, 'naive pipeline', connectionsOf(r))) },
  { name: 'slack ingest × naive', target: '≥ 1.5', digits: 2, read: (r) => ratio(ingestRate(r, 'hookline slack', connectionsOf(r)), ingestRate(r, 'naive pipeline', connectionsOf(r))) },
  { name: 'stripe ingest × naive, high connections', target: '', digits: 2, read: (r) => ratio(ingestRate(r, 'hookline stripe', highConnectionsOf(r)), ingestRate(r, 'naive pipeline', highConnectionsOf(r))) },
  { name: 'stripe ingest p99 (ms)', target: '≤ 25', digits: 0, read: (r) => ingestRow(r, 'hookline stripe', connectionsOf(r))?.p99 },
  { name: 'stripe ingest, large inbox × empty inbox', target: '≥ 0.9', digits: 2, read: (r) => ratio(r.ingest?.find((row) => row.target === 'hookline-large')?.rate, ingestRate(r, 'hookline stripe', connectionsOf(r))) },
  { name: 'ingest p99 while pruning × without', target: '≤ 1.2', digits: 2, read: (r) => ratio(r.prune?.pruning.p99, r.prune?.without.p99) },
  { name: 'duplicate storm × fresh', target: '≥ 1.2', digits: 2, read: (r) => ratio(ingestRate(r, 'hookline stripe 90% duplicates', connectionsOf(r)), ingestRate(r, 'hookline stripe', connectionsOf(r))) },
  { name: 'burst vs pnpm start × verify-only', target: '≥ 0.75', digits: 2, read: (r) => ratio(burstRow(r, 'start', connectionsOf(r))?.rate, burstRow(r, 'verify', connectionsOf(r))?.rate) },
  { name: 'burst vs pnpm start, workers yielding × verify-only', target: '', digits: 2, read: (r) => ratio(burstRow(r, 'start-yield', connectionsOf(r))?.rate, burstRow(r, 'verify', connectionsOf(r))?.rate) },
  { name: 'burst vs pnpm start p99 (ms)', target: '≤ max(25, 1.5 × ceiling)', digits: 0, read: (r) => burstRow(r, 'start', connectionsOf(r))?.p99 },
  { name: 'burst ceiling p99 (ms)', target: '', digits: 0, read: (r) => burstRow(r, 'verify', connectionsOf(r))?.p99 },
  { name: 'pnpm start capacity (events/s)', target: '≥ 3000', digits: 0, read: (r) => r.start?.capacity.sustainedRate ?? undefined },
  { name: 'end to end achieved × offered', target: '≥ 1.0', digits: 2, read: (r) => ratio(service(r)?.load.rate, service(r)?.offeredRate) },
  { name: 'end to end processed p99 (ms)', target: '< 1000', digits: 0, read: (r) => service(r)?.processedP99 },
  { name: 'drain × raw BullMQ (1 process)', target: '≥ 0.25', digits: 2, read: (r) => ratio(drainOf(r, 'hookline')?.rate, drainOf(r, 'bullmq')?.rate) },
  { name: 'reconciliation (events/s)', target: '≥ 5000', digits: 0, read: (r) => r.reconcile?.rate },
  { name: 'outbox emit tx/s × without emit', target: '', digits: 2, read: (r) => ratio(r.outbox?.emitRate, r.outbox?.plainRate) },
  { name: 'outbox handled (events/s)', target: '', digits: 0, read: (r) => r.outbox?.handledRate },
  { name: 'outbox lag p99 (ms)', target: '', digits: 0, read: (r) => r.outbox?.lagP99Ms },
  { name: 'ingress peak RSS (MB)', target: '< 300', digits: 0, read: (r) => mib(r.ingest?.find((row) => row.target === 'hookline')?.targetPeakRss) },
  { name: 'service peak RSS, largest process (MB)', target: '< 300', digits: 0, read: (r) => mib(Math.max(...(service(r)?.servicePeakRss ?? []))) },
  { name: 'one-process service peak RSS (MB)', target: '', digits: 0, read: (r) => mib(endToEnd(r, 'all-in-one')?.servicePeakRss[0]) },
]

function mib(bytes: number | undefined): number | undefined {
  return bytes === undefined ? undefined : bytes / 1024 / 1024
}

/** The comparison as a Markdown table: each figure in both runs and the change. */
function compareReports(before: BenchReport, after: BenchReport): string {
  const show = (value: number | undefined, digits: number): string => (value === undefined || !Number.isFinite(value) ? '–' : value.toFixed(digits))
  const rows = FIGURES.map((figure) => {
    const a = figure.read(before)
    const b = figure.read(after)
    const change = a === undefined || b === undefined ? Number.NaN : ratio(b, a)
    return [figure.name, figure.target, show(a, figure.digits), show(b, figure.digits), Number.isFinite(change) ? `× ${change.toFixed(2)}` : '–']
  })
  return `${table(['figure', 'target', `before (${before.startedAt.slice(0, 16)})`, `after (${after.startedAt.slice(0, 16)})`, 'after / before'], rows)}\n`
}

const [beforeFile, afterFile] = process.argv.slice(2)
if (!beforeFile || !afterFile) {
  process.stderr.write('usage: pnpm bench:compare <before.json> <after.json>   (files written by pnpm bench --json)\n')
  process.exit(2)
}
const load = (file: string): BenchReport => JSON.parse(readFileSync(file, 'utf8')) as BenchReport
process.stdout.write(compareReports(load(beforeFile), load(afterFile)))

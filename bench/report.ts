/**
 * @module The benchmark's results (the JSON `--json` writes) and the table `pnpm bench` prints:
 * each figure beside the baseline it is judged against, with the ratio and the issue's target.
 */
import type { DrainRow } from './scenarios/drain.ts'
import type { EndToEndResult } from './scenarios/end-to-end.ts'
import type { IngestRow } from './scenarios/ingest.ts'
import { BURST_TARGET_NAMES, type StartResult } from './scenarios/burst.ts'
import type { OutboxResult } from './scenarios/outbox.ts'
import type { PruneResult } from './scenarios/prune.ts'
import type { ReconcileResult } from './scenarios/reconcile.ts'
import { ratio } from './support/stats.ts'

/** Everything one run measured. */
export interface BenchReport {
  startedAt: string
  machine: { cpus: number; cpuModel: string; memoryBytes: number; node: string }
  settings: Record<string, unknown>
  ingest?: IngestRow[]
  endToEnd?: EndToEndResult[]
  drain?: DrainRow[]
  reconcile?: ReconcileResult
  outbox?: OutboxResult
  start?: StartResult
  prune?: PruneResult
}

const mb = (bytes: number): string => `${Math.round(bytes / 1024 / 1024)} MB`
const fixed = (n: number, digits = 0): string => (Number.isFinite(n) ? n.toFixed(digits) : '–')

/** A Markdown table, the first column left-aligned and the others right-aligned. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`
  return [line(header), `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...rows.map(line)].join('\n')
}

/**
 * The end to end's CPU rows: cores while the load ran, and µs of CPU per answered event, for the
 * ingress (its main thread apart), the worker process, Postgres and Redis, and the whole machine.
 */
function e2eCpuRows(runs: EndToEndResult[], cpus: number): string[][] {
  const cell = (e2e: EndToEndResult, text: (cpu: NonNullable<EndToEndResult['cpu']>, perEvent: (cores: number) => string) => string): string =>
    e2e.cpu ? text(e2e.cpu, (cores) => fixed((cores * 1e6) / e2e.load.rate)) : '–'
  return [
    ['CPU, cores: ingress main thread on a core + waiting', ...runs.map((e2e) => cell(e2e, (c) => `${fixed(c.mainRun, 2)} + ${fixed(c.mainWait, 2)}`))],
    ['CPU, cores: ingress / worker process / Postgres + Redis / load', ...runs.map((e2e) => cell(e2e, (c) => [c.target, c.worker, c.services, c.load].map((n) => fixed(n, 2)).join(' / ')))],
    ['machine busy; steal', ...runs.map((e2e) => cell(e2e, (c) => `${fixed(c.machineBusy * 100)} %; ${fixed(c.machineSteal * 100, 1)} %`))],
    ['µs of CPU per 2xx: ingress / worker / Postgres + Redis / machine', ...runs.map((e2e) => cell(e2e, (c, per) => [per(c.target), per(c.worker), per(c.services), per(c.machineBusy * cpus)].join(' / ')))],
  ]
}

/** Prints the report as Markdown tables (pasteable into docs/performance.md). */
export function printReport(report: BenchReport, connections: number, high: number): void {
  const out: string[] = [`\nHookline benchmark — ${report.startedAt}, ${report.machine.cpus} × ${report.machine.cpuModel}, Node ${report.machine.node}\n`]
  const inboxRows = Number(report.settings.inboxRows ?? 0)
  if (inboxRows > 0) out.push(`Ingest on inboxes of ${inboxRows} events, a CHECKPOINT before each database-backed window.\n`)
  if (report.ingest) {
    const by = (name: string) => report.ingest!.find((r) => r.name === name)
    const bare = by(`bare express.raw 200 @${connections}`)
    const verify = by(`express + constructEvent @${connections}`)
    const naive = by(`naive pipeline @${connections}`)
    const naiveHigh = by(`naive pipeline @${high}`)
    const fresh = by(`hookline stripe @${connections}`)
    const baselineOf = (row: IngestRow): [string, IngestRow | undefined] => {
      if (row.target === 'bare') return ['', undefined]
      if (row.target === 'verify') return ['bare', bare]
      if (row.target === 'naive') return ['verify', verify]
      if (row.duplicateShare > 0) return ['fresh', fresh]
      if (row.connections === high) return ['naive', naiveHigh]
      return ['naive', naive]
    }
    out.push(
      table(
        ['ingest (2xx/s; p50, p99 ms)', 'rate', 'p50', 'p99', '× verify', '× verify by round', '× baseline', 'non-2xx', 'target RSS'],
        report.ingest.map((row) => {
          const [label, base] = baselineOf(row)
          return [
            row.name,
            fixed(row.rate),
            fixed(row.p50),
            fixed(row.p99),
            row.target === 'bare' ? '' : fixed(ratio(row.rate, verify?.rate), 2),
            // Rounds interleave the cases, so round i of each ran in the same stretch of time.
            row.target === 'bare' || row.target === 'verify' || !verify ? '' : row.rounds.map((r, i) => fixed(ratio(r.rate, verify.rounds[i]?.rate), 2)).join(' '),
            base ? `${fixed(ratio(row.rate, base.rate), 2)} ${label}` : '',
            String(row.non2xx + row.errors),
            mb(row.targetPeakRss),
          ]
        }),
      ),
    )
    const withCpu = report.ingest.filter((row) => row.cpu !== undefined)
    if (withCpu.length > 0) {
      out.push(
        '',
        table(
          ['ingest CPU (cores; µs of CPU per 2xx)', 'main thread', 'waiting for a core', 'target', 'Postgres + Redis', 'load', 'machine busy', 'steal', 'main µs', 'target + services µs'],
          withCpu.map((row) => {
            const cpu = row.cpu!
            const perAnswer = (cores: number) => fixed((cores / row.rate) * 1e6)
            return [
              row.name,
              fixed(cpu.mainRun, 2),
              fixed(cpu.mainWait, 2),
              fixed(cpu.target, 2),
              fixed(cpu.services, 2),
              fixed(cpu.load, 2),
              `${fixed(cpu.machineBusy * 100)} %`,
              `${fixed(cpu.machineSteal * 100, 1)} %`,
              perAnswer(cpu.mainRun),
              perAnswer(cpu.target + cpu.services),
            ]
          }),
        ),
      )
    }
    const wrapped = report.ingest.filter((r) => r.wrapped > 0 && r.target !== 'bare' && r.target !== 'verify')
    if (wrapped.length > 0) out.push(`\nnote: the pre-signed pool ran out (repeats sent) for: ${wrapped.map((r) => `${r.name} (${r.wrapped})`).join(', ')}; raise --pool-rate`)
  }
  const runs = report.endToEnd ?? []
  if (runs.length > 0) {
    const each = (cell: (e2e: EndToEndResult) => string): string[] => runs.map(cell)
    out.push(
      '',
      table(
        [`end to end (${runs[0]!.connections ?? 50} connections)`, ...runs.map((e2e) => (e2e.layout === 'all-in-one' ? 'one process (WORKER_PROCESSES=0)' : 'ingress + worker process (pnpm start)'))],
        [
          ['offered / achieved (2xx/s)', ...each((e2e) => `${e2e.offeredRate} / ${fixed(e2e.load.rate)}`)],
          ['non-2xx + errors', ...each((e2e) => String(e2e.load.non2xx + e2e.load.errors))],
          ['ingest p50 / p99 (ms)', ...each((e2e) => `${fixed(e2e.load.p50)} / ${fixed(e2e.load.p99)}`)],
          ['received→processed p50 / p99 / max (ms)', ...each((e2e) => `${fixed(e2e.processedP50)} / ${fixed(e2e.processedP99)} / ${fixed(e2e.processedMax)}`)],
          ['backlog (events unprocessed) max / at end of load', ...each((e2e) => `${e2e.maxDepth} / ${e2e.depth.at(-1)?.[1] ?? 0}`)],
          ['backlog every 5 s', ...each((e2e) => e2e.depth.filter(([t]) => t % 5 === 0).map(([, d]) => d).join(' '))],
          ['processed; drained after load (s)', ...each((e2e) => `${e2e.processed}; ${fixed(e2e.drainAfterLoadSeconds, 1)}`)],
          ['peak RSS per process', ...each((e2e) => e2e.servicePeakRss.map(mb).join(', '))],
          ...(runs.some((e2e) => e2e.cpu) ? e2eCpuRows(runs, report.machine.cpus) : []),
        ],
      ),
    )
  }
  if (report.drain) {
    const raw = report.drain.find((r) => r.mode === 'bullmq')
    out.push(
      '',
      table(
        ['drain', 'events/s', 's', '× raw BullMQ', 'peak RSS per process'],
        report.drain.map((r) => [`${r.name}, ${r.events} events`, fixed(r.rate), fixed(r.seconds, 1), r === raw ? '' : fixed(ratio(r.rate, raw?.rate), 2), r.peakRss.map(mb).join(', ')]),
      ),
    )
  }
  if (report.reconcile) {
    const r = report.reconcile
    out.push('', table(['reconciliation (fake Stripe API)', 'events/s', 's', 'recovered', 'runner RSS'], [[`${r.events} missing events`, fixed(r.rate), fixed(r.seconds, 1), String(r.recovered), mb(r.runnerPeakRss)]]))
  }
  if (report.prune) {
    const p = report.prune
    out.push(
      '',
      table(
        [`ingest while retention prunes (${p.rows} expired events) @${p.connections}`, 'events/s', 'p99 ms', 'p99 × without', 'rows pruned/s'],
        [
          ['ingest alone', fixed(p.without.rate), fixed(p.without.p99), '', ''],
          ['ingest + pruner', fixed(p.pruning.rate), fixed(p.pruning.p99), fixed(ratio(p.pruning.p99, p.without.p99), 2), fixed(p.removedPerSecond)],
        ],
      ),
    )
  }
  if (report.start) {
    const { burst, capacity } = report.start
    const ceiling = (connections: number) => burst.find((r) => r.target === 'verify' && r.connections === connections)
    out.push(
      '',
      table(
        ['burst (unique Stripe events)', 'events/s', '× verify-only', 'p50 ms', 'p99 ms', 'backlog processed after', 'main thread on / waiting for a core', 'CPU µs per answer: target, worker, Postgres, load', 'non-2xx'],
        burst.map((r) => [
          `${BURST_TARGET_NAMES[r.target]} @${r.connections}`,
          fixed(r.rate),
          r.target === 'verify' ? '' : fixed(ratio(r.rate, ceiling(r.connections)?.rate), 2),
          fixed(r.p50),
          fixed(r.p99),
          r.drainSeconds === undefined ? '' : `${fixed(r.drainSeconds, 1)} s`,
          r.cpu ? `${fixed(r.cpu.mainRun, 2)} / ${fixed(r.cpu.mainWait, 2)}` : '–',
          r.cpu ? [r.cpu.target, r.cpu.worker, r.cpu.postgres ?? 0, r.cpu.load].map((cores) => fixed((cores * 1e6) / Math.max(1, r.rate))).join(', ') : '–',
          String(r.non2xx + r.errors),
        ]),
      ),
      '',
      table(
        ['pnpm start capacity step', 'achieved/s', 'processed p99 ms', 'backlog max / end', 'CPU µs per event: ingress, worker, Postgres, Redis', 'sustained'],
        capacity.steps.map((s) => [
          `${s.offeredRate}/s offered`,
          fixed(s.load.rate),
          fixed(s.processedP99),
          `${s.maxDepth} / ${s.endDepth}`,
          s.cpuPerEventUs ? [s.cpuPerEventUs.ingress, s.cpuPerEventUs.worker, s.cpuPerEventUs.postgres, s.cpuPerEventUs.redis].map((n) => fixed(n)).join(', ') : '–',
          s.sustained ? 'yes' : 'no',
        ]),
      ),
      `capacity of pnpm start: ${capacity.sustainedRate === null ? 'none of the steps' : `${capacity.sustainedRate} events/s`} (${fixed(ratio(capacity.sustainedRate ?? undefined, capacity.ceilingRate ?? undefined), 2)} × the verify-only ceiling)`,
    )
  }
  if (report.outbox) {
    const o = report.outbox
    out.push(
      '',
      table(
        ['outbox (emit in the app transaction → handled)', 'tx/s', '× without emit', 'handled/s', 'lag p50 ms', 'lag p99 ms', 'worker RSS'],
        [[`${o.events} orders, ${o.concurrency} at once`, fixed(o.emitRate), fixed(ratio(o.emitRate, o.plainRate), 2), fixed(o.handledRate), fixed(o.lagP50Ms), fixed(o.lagP99Ms), mb(o.workerPeakRss)]],
      ),
    )
  }
  process.stdout.write(`${out.join('\n')}\n`)
}

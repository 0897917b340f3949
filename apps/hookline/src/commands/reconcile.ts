/**
 * @module `hookline reconcile`: asks the service to reconcile providers against their APIs now,
 * follows the runs (a progress line on a terminal) and ends with a summary table.
 */
import type { ReconcileRun } from '@hookline/core'
import type { Command } from 'commander'
import { loadEnv } from '../env.ts'
import { type AdminClient, adminClient, type Wire } from './admin-client.ts'
import { CliError, EXIT } from './errors.ts'
import { json, table } from './output.ts'

/** A reconciliation run as the admin API returns it. */
type RunView = Wire<ReconcileRun>

interface ReconcileOptions {
  provider?: string
  tenant?: string
  since?: string
  window?: string
  dryRun?: boolean
  wait: boolean
  json?: boolean
}

/**
 * Adds `reconcile` to `program`.
 *
 * @example
 * registerReconcileCommand(program) // hookline reconcile --provider stripe --window 3d --dry-run
 */
export function registerReconcileCommand(program: Command): void {
  program
    .command('reconcile')
    .description('reconcile providers against their APIs now: ingest the events the webhooks missed')
    .option('--provider <name>', 'only this provider (default: every provider that can be reconciled)')
    .option('--tenant <id>', 'only this tenant (Stripe account, GitHub hook, …); default: every configured one')
    .option('--since <when>', 'start of the window: ISO date or a duration back from now (25h, 3d)')
    .option('--window <duration>', 'same as --since with a duration: how far back to look (25h, 3d)')
    .option('--dry-run', 'only count what is missing; ingest nothing')
    .option('--no-wait', 'start the runs and print their ids without following them')
    .option('--json', 'print JSON (the runs) instead of a table')
    .addHelpText('after', '\nExamples:\n  pnpm hookline reconcile --provider stripe --window 3d --dry-run\n  pnpm hookline reconcile --provider github --tenant repos/acme/api/hooks/123')
    .action(async (options: ReconcileOptions) => {
      if (options.since && options.window) throw new CliError('hookline.cli.usage', EXIT.usage, 'give --since or --window, not both')
      const client = adminClient(loadEnv())
      const since = options.since ?? options.window
      const { runIds } = await client.post<{ runId: string; runIds: string[] }>('/reconcile', {
        ...(options.provider ? { provider: options.provider } : {}),
        ...(options.tenant ? { tenant: options.tenant } : {}),
        ...(since ? { since } : {}),
        ...(options.dryRun ? { dryRun: true } : {}),
      })
      if (!options.wait) {
        console.log(options.json ? json({ runIds }) : runIds.join('\n'))
        return
      }
      const runs = await follow(client, runIds)
      if (options.json) console.log(json(runs))
      else printSummary(runs)
      const failed = runs.filter((r) => r.status === 'failed')
      if (failed.length > 0) throw new CliError('hookline.cli.reconcile_failed', EXIT.failed, `${failed.length} of ${runs.length} run(s) failed`)
    })
}

/** Polls the runs until none is running, showing one progress line on a terminal. */
async function follow(client: AdminClient, ids: string[]): Promise<RunView[]> {
  const progress = process.stderr.isTTY === true
  for (;;) {
    const runs = await Promise.all(ids.map((id) => client.get<RunView>(`/reconcile/runs/${id}`)))
    if (progress) {
      const line = runs.map((r) => `${r.provider}${r.tenant ? `/${r.tenant}` : ''} ${r.status === 'running' ? `page ${r.pages}` : r.status}: ${r.scanned} scanned, ${r.recovered} recovered`).join(' · ')
      process.stderr.write(`\r\u001b[2K${line.slice(0, (process.stderr.columns ?? 120) - 1)}`)
    }
    if (runs.every((r) => r.status !== 'running')) {
      if (progress) process.stderr.write('\n')
      return runs
    }
    await new Promise((r) => setTimeout(r, 500))
  }
}

function printSummary(runs: RunView[]): void {
  console.log(table(runs, [
    { title: 'PROVIDER', value: (r) => r.provider },
    { title: 'TENANT', value: (r) => r.tenant, max: 40 },
    { title: 'STATUS', value: (r) => (r.dryRun ? `${r.status} (dry run)` : r.status) },
    { title: 'SCANNED', value: (r) => r.scanned },
    { title: 'KNOWN', value: (r) => r.known },
    { title: allDryRuns(runs) ? 'MISSING' : 'RECOVERED', value: (r) => r.recovered },
    { title: 'ERRORS', value: (r) => r.errors },
    { title: 'RUN', value: (r) => r.id },
  ]))
  for (const run of runs) {
    for (const warning of run.warnings) console.log(`warning (${run.provider}): ${warning}`)
    if (run.lastError) console.log(`error (${run.provider}): ${run.lastError}`)
  }
}

/** True when every run was a dry run: "recovered" then means "would be recovered". */
function allDryRuns(runs: RunView[]): boolean {
  return runs.every((r) => r.dryRun)
}

/**
 * @module `hookline prune`: runs a retention pass on the running service now, or with `--dry-run`
 * says what one would remove.
 */
import type { PruneResult } from '@hookline/core'
import type { Command } from 'commander'
import { loadEnv } from '../env.ts'
import { adminClient } from './admin-client.ts'
import { json, table } from './output.ts'

/**
 * Adds `prune` to `program`.
 *
 * @example
 * registerPruneCommand(program) // hookline prune --dry-run
 */
export function registerPruneCommand(program: Command): void {
  program
    .command('prune')
    .description('apply the retention windows now (HOOKLINE_RETAIN_PAYLOADS, HOOKLINE_RETAIN_EVENTS, HOOKLINE_RETAIN_AUDIT)')
    .option('--dry-run', 'only count what would be removed')
    .option('--json', 'print JSON')
    .action(async (options: { dryRun?: boolean; json?: boolean }) => {
      const result = await adminClient(loadEnv()).post<PruneResult>('/prune', { dryRun: options.dryRun === true })
      if (options.json) return console.log(json(result))
      const rows = [
        { what: 'payloads of finished events', n: result.payloads },
        { what: 'finished events', n: result.events },
        { what: 'audit rows', n: result.audit },
      ]
      console.log(table(rows, [{ title: 'WHAT', value: (r) => r.what }, { title: result.dryRun ? 'WOULD REMOVE' : 'REMOVED', value: (r) => r.n }]))
    })
}

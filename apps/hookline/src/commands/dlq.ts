/**
 * @module `hookline dlq list|replay|ignore`: the dead-letter queue — see it, replay it after a
 * fix (dry run and confirmation first), or close events with a note.
 */
import type { Command } from 'commander'
import { loadEnv } from '../env.ts'
import { adminClient } from './admin-client.ts'
import { CliError, EXIT, exitCodeOf } from './errors.ts'
import { type EventPage, type ListOptions, printPage } from './events.ts'
import { apiFilter, type FilterOptions, withFilterOptions } from './filter-options.ts'
import { json } from './output.ts'
import { bulkReplay, type ReplayOptions } from './replay.ts'

/**
 * Adds `dlq list`, `dlq replay` and `dlq ignore` to `program`.
 *
 * @example
 * registerDlqCommands(program) // hookline dlq replay --provider stripe --since 1d
 */
export function registerDlqCommands(program: Command): void {
  const dlq = program.command('dlq').description('the dead-letter queue: events that exhausted their retries or failed permanently')

  withFilterOptions(dlq.command('list').description('list dead events, newest first, with the DLQ depth'), { status: false })
    .option('--limit <n>', 'events per page (1-500)', '50')
    .option('--cursor <cursor>', 'continue after a previous page')
    .option('--json', 'print JSON ({ events, nextCursor, depth }) instead of a table')
    .action(async (options: ListOptions) => {
      const client = adminClient(loadEnv())
      const page = await client.get<EventPage & { depth: number }>('/dlq', { ...apiFilter(options), limit: options.limit, cursor: options.cursor })
      printPage(page, options.json === true, [`DLQ depth: ${page.depth}`])
    })

  withFilterOptions(dlq.command('replay').description('replay dead events matching the filter (dry-run count and confirmation first)'), { status: false })
    .option('--dry-run', 'only count what would be replayed')
    .option('-y, --yes', 'do not ask for confirmation')
    .option('--note <text>', 'why, for the audit log')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  pnpm hookline dlq replay --provider stripe --since 1d --dry-run\n  pnpm hookline dlq replay --tenant acct_1 --yes --note "fixed the handler"')
    .action(async (options: FilterOptions & ReplayOptions) => {
      const client = adminClient(loadEnv())
      await bulkReplay(client, { ...apiFilter(options), status: ['dead'] }, { ...options, force: false })
    })

  dlq
    .command('ignore')
    .description('close dead (or failed, or waiting) events as ignored, with a required note for the audit log')
    .argument('<ids...>', "inbox ids of the events, or the providers' event keys (evt_…, a GitHub delivery GUID, a Slack key)")
    .requiredOption('--note <text>', 'why these events will not be processed')
    .option('--provider <name>', 'the provider of the event keys, when several providers have one')
    .option('--json', 'print JSON')
    .action(async (ids: string[], options: { note: string; provider?: string; json?: boolean }) => {
      const client = adminClient(loadEnv())
      const query = options.provider === undefined ? '' : `?provider=${encodeURIComponent(options.provider)}`
      const results: unknown[] = []
      let failures = 0
      let exitCode: number = EXIT.ok
      for (const id of ids) {
        try {
          const result = await client.post<{ id: string; status: string }>(`/events/${encodeURIComponent(id)}/ignore${query}`, { note: options.note })
          results.push(result)
          if (!options.json) console.log(`ignored ${result.id}`)
        } catch (err) {
          failures++
          // The first failure decides the exit code (not found, conflict, unauthorized…).
          if (exitCode === EXIT.ok) exitCode = exitCodeOf(err)
          results.push({ id, error: (err as Error).message })
          if (!options.json) console.error(`not ignored ${id}: ${(err as Error).message}`)
        }
      }
      if (options.json) console.log(json(results))
      if (failures > 0) throw new CliError('hookline.cli.ignore_failed', exitCode, `${failures} of ${ids.length} event(s) not ignored`)
    })
}

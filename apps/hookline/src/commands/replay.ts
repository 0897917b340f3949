/**
 * @module `hookline replay`: replay one event, a list of ids or everything matching a filter —
 * a dry run first, then a confirmation (unless `--yes`), then the throttled replay, all through
 * the service's admin API (the same code path as the console).
 */
import type { Command } from 'commander'
import { loadEnv } from '../env.ts'
import { type AdminClient, adminClient } from './admin-client.ts'
import { confirm } from './confirm.ts'
import { CliError, EXIT } from './errors.ts'
import { type ApiFilter, apiFilter, type FilterOptions, withFilterOptions } from './filter-options.ts'
import { fields, json } from './output.ts'

/** What `POST /replay` answers. */
interface ReplayManyResult {
  dryRun: boolean
  matched: number
  replayable: number
  enqueued: number
  byStatus: Record<string, number>
}

/** What `POST /events/:id/replay` answers. */
interface ReplayOneResult {
  id: string
  enqueued: boolean
  status: string
  generation: number
  reason?: string
}

/** Options of a replay run. */
export interface ReplayOptions {
  force?: boolean
  dryRun?: boolean
  yes?: boolean
  note?: string
  json?: boolean
}

/**
 * Replays by ids and/or filter: counts with a dry run, prints the counts, asks for confirmation
 * (unless `yes`), then replays. Throws {@link CliError} with {@link EXIT.aborted} when declined.
 * `path` is the replay route: `/replay`, or an issue's (which takes no filter and no `force`).
 */
export async function bulkReplay(client: AdminClient, request: ApiFilter & { ids?: string[] }, options: ReplayOptions, path = '/replay'): Promise<void> {
  const body = { ...request, ...(path === '/replay' ? { force: options.force === true } : {}), ...(options.note ? { note: options.note } : {}) }
  const preview = await client.post<ReplayManyResult>(path, { ...body, dryRun: true })
  if (options.dryRun) {
    print(preview, options.json)
    return
  }
  if (preview.replayable === 0) {
    print(preview, options.json)
    if (!options.json) console.error(nothingToDo(preview, options.force === true))
    return
  }
  if (!options.yes) {
    if (!options.json) print(preview, false)
    const forced = options.force ? ' (processed ones run again as a new generation)' : ''
    if (!(await confirm(`Replay ${preview.replayable} event(s)${forced}? [y/N] `))) {
      throw new CliError('hookline.cli.aborted', EXIT.aborted, 'aborted: nothing was replayed')
    }
  }
  const result = await client.post<ReplayManyResult>(path, { ...body, dryRun: false })
  print(result, options.json)
}

function nothingToDo(preview: ReplayManyResult, force: boolean): string {
  if (preview.matched === 0) return 'no events match'
  const processed = (preview.byStatus.processed ?? 0) + (preview.byStatus.skipped_stale ?? 0)
  return processed > 0 && !force
    ? `nothing to replay: ${processed} already processed (use --force to run them again as a new generation)`
    : 'nothing to replay'
}

function print(result: ReplayManyResult, asJson: boolean | undefined): void {
  if (asJson) {
    console.log(json(result))
    return
  }
  const byStatus = Object.entries(result.byStatus).map(([status, n]) => `${status} ${n}`).join(', ')
  console.log(
    fields([
      ['matched', `${result.matched}${byStatus ? ` (${byStatus})` : ''}`],
      [result.dryRun ? 'would replay' : 'replayed', result.dryRun ? result.replayable : result.enqueued],
    ]),
  )
}

/**
 * Adds `replay` to `program`.
 *
 * @example
 * registerReplayCommand(program) // hookline replay --tenant acct_1 --since 2d --status dead
 */
export function registerReplayCommand(program: Command): void {
  withFilterOptions(
    program
      .command('replay')
      .description('replay events by id or by filter: dead, failed (and ignored, by id) events run again; processed and skipped_stale ones only with --force')
      .argument('[ids...]', "inbox ids of the events (one event: its id or the provider's event key, with --provider when several providers have it)"),
  )
    .option('--force', 'also run already processed (and skipped_stale) events again, as a new generation that handlers see')
    .option('--dry-run', 'only count what would be replayed, by status')
    .option('-y, --yes', 'do not ask for confirmation before a bulk replay')
    .option('--note <text>', 'why, for the audit log')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nA bulk replay (several ids, or a filter) shows a dry-run count and asks before replaying.\n' +
        'Replayed events are released at the service\'s replay rate, oldest first.\n\nExamples:\n' +
        '  pnpm hookline replay 0b7e…                               # one event\n' +
        '  pnpm hookline replay --tenant acct_1 --since 2d --dry-run\n' +
        '  pnpm hookline replay --tenant acct_1 --since 2d --status dead,failed --yes\n' +
        '  pnpm hookline replay 0b7e… --force --note "customer asked for a resend"',
    )
    .action(async (ids: string[], options: FilterOptions & ReplayOptions) => {
      const filter = apiFilter(options)
      if (ids.length === 0 && Object.keys(filter).length === 0) {
        throw new CliError('hookline.cli.no_selection', EXIT.usage, 'give event ids, or at least one filter (--tenant, --since, --status…); see --help')
      }
      const client = adminClient(loadEnv())
      const [only] = ids
      // One id, alone or with only --provider (which then says whose event key it is).
      const { provider, ...rest } = filter
      if (only !== undefined && ids.length === 1 && Object.keys(rest).length === 0 && !options.dryRun) {
        await replayOne(client, only, options, provider)
        return
      }
      await bulkReplay(client, { ...filter, ...(ids.length > 0 ? { ids } : {}) }, options)
    })
}

async function replayOne(client: AdminClient, id: string, options: ReplayOptions, provider: unknown): Promise<void> {
  const query = typeof provider === 'string' ? `?provider=${encodeURIComponent(provider)}` : ''
  const result = await client.post<ReplayOneResult>(`/events/${encodeURIComponent(id)}/replay${query}`, {
    force: options.force === true,
    ...(options.note ? { note: options.note } : {}),
  })
  if (options.json) console.log(json(result))
  else if (result.enqueued) console.log(`replayed ${result.id} (generation ${result.generation})`)
  else console.log(`skipped ${result.id}: ${result.reason ?? result.status}`)
}

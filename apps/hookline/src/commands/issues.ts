/**
 * @module `hookline issues [show|replay|resolve]`: failures grouped by cause (route, error class,
 * normalised message) — see which causes are failing now, the events of one, replay them after
 * the fix (dry run and confirmation first) and resolve it.
 */
import type { Issue, IssueDetail as CoreIssueDetail } from '@hookline/core'
import type { Command } from 'commander'
import { loadEnv } from '../env.ts'
import { adminClient, type Wire } from './admin-client.ts'
import { printPage } from './events.ts'
import { type Column, fields, json, table } from './output.ts'
import { bulkReplay, type ReplayOptions } from './replay.ts'

type IssueRow = Wire<Issue>

const ISSUE_COLUMNS: Column<IssueRow>[] = [
  { title: 'FINGERPRINT', value: (i) => i.fingerprint },
  { title: 'STATUS', value: (i) => i.status },
  { title: 'ROUTE', value: (i) => i.route, max: 32 },
  { title: 'CLASS', value: (i) => i.errorClass, max: 24 },
  { title: 'COUNT', value: (i) => i.count },
  { title: 'EVENTS', value: (i) => i.events },
  { title: 'LAST SEEN', value: (i) => i.lastSeen },
  { title: 'MESSAGE', value: (i) => i.message, max: 70 },
]

/** An issue's fields, as `show` and `resolve` print them. */
function issueFields(issue: IssueRow): string {
  return fields([
    ['fingerprint', issue.fingerprint],
    ['status', issue.status],
    ['route', issue.route],
    ['error class', issue.errorClass],
    ['message', issue.message],
    ['failures', issue.count],
    ['events', issue.events],
    ['first seen', issue.firstSeen],
    ['last seen', issue.lastSeen],
    ['resolved at', issue.resolvedAt],
    ['reopened', issue.reopened > 0 ? `${issue.reopened} time(s), last ${issue.reopenedAt}` : null],
  ])
}

/**
 * Adds `issues`, `issues show`, `issues replay` and `issues resolve` to `program`.
 *
 * @example
 * registerIssuesCommands(program) // hookline issues replay 3f9c0a1b2c3d4e5f --yes
 */
export function registerIssuesCommands(program: Command): void {
  const issues = program
    .command('issues')
    .description('failures grouped by cause (route, error class, message with its values normalised), most recent first')
    .option('--status <status>', 'open, resolved or all', 'open')
    .option('--limit <n>', 'issues to list (1-500)', '100')
    .option('--json', 'print JSON ({ issues })')
    .action(async (options: { status: string; limit: string; json?: boolean }) => {
      const client = adminClient(loadEnv())
      const page = await client.get<{ issues: IssueRow[] }>('/issues', { status: options.status, limit: options.limit })
      if (options.json) console.log(json(page))
      else console.log(page.issues.length === 0 ? `no ${options.status === 'all' ? '' : `${options.status} `}issues` : table(page.issues, ISSUE_COLUMNS))
    })

  issues
    .command('show')
    .description("an issue and its events, newest first")
    .argument('<fingerprint>', 'the issue (see `hookline issues`)')
    .option('--limit <n>', 'events per page (1-500)', '50')
    .option('--cursor <cursor>', 'continue after a previous page')
    .option('--json', 'print JSON ({ issue, events, nextCursor })')
    .action(async (fingerprint: string, options: { limit: string; cursor?: string; json?: boolean }) => {
      const client = adminClient(loadEnv())
      const detail = await client.get<Wire<CoreIssueDetail>>(`/issues/${encodeURIComponent(fingerprint)}`, { limit: options.limit, cursor: options.cursor })
      if (options.json) {
        console.log(json(detail))
        return
      }
      console.log(issueFields(detail.issue))
      console.log('')
      printPage({ events: detail.events, nextCursor: detail.nextCursor }, false)
    })

  issues
    .command('replay')
    .description("replay the issue's dead and failed events after a fix (dry-run count and confirmation first)")
    .argument('<fingerprint>', 'the issue (see `hookline issues`)')
    .option('--dry-run', 'only count its events by status')
    .option('-y, --yes', 'do not ask for confirmation')
    .option('--note <text>', 'why, for the audit log')
    .option('--json', 'print JSON')
    .action(async (fingerprint: string, options: ReplayOptions) => {
      const client = adminClient(loadEnv())
      await bulkReplay(client, {}, { ...options, force: false }, `/issues/${encodeURIComponent(fingerprint)}/replay`)
    })

  issues
    .command('resolve')
    .description('mark the issue resolved (audited); its next failure reopens it')
    .argument('<fingerprint>', 'the issue (see `hookline issues`)')
    .option('--note <text>', 'why, for the audit log')
    .option('--json', 'print JSON')
    .action(async (fingerprint: string, options: { note?: string; json?: boolean }) => {
      const client = adminClient(loadEnv())
      const issue = await client.post<IssueRow>(`/issues/${encodeURIComponent(fingerprint)}/resolve`, options.note ? { note: options.note } : {})
      console.log(options.json ? json(issue) : `resolved ${issue.fingerprint}`)
    })
}

/**
 * @module `hookline events list|show`: find a customer's events and see why one failed.
 */
import type { EventDetail as CoreEventDetail, EventPage as CoreEventPage, EventSummary } from '@hookline/core'
import type { Command } from 'commander'
import { loadEnv } from '../env.ts'
import { adminClient, type Wire } from './admin-client.ts'
import { apiFilter, type FilterOptions, withFilterOptions } from './filter-options.ts'
import { type Column, fields, json, table, terminalSafe } from './output.ts'

/** An event as the admin API lists it. */
export type EventRow = Wire<EventSummary>

/** An event's detail as the admin API returns it. */
type EventDetail = Wire<CoreEventDetail>

/** A page of events. */
export type EventPage = Wire<CoreEventPage>

/** The columns of an event listing. */
export const EVENT_COLUMNS: Column<EventRow>[] = [
  { title: 'ID', value: (e) => e.id },
  { title: 'RECEIVED', value: (e) => e.receivedAt },
  { title: 'PROVIDER', value: (e) => e.provider },
  { title: 'TENANT', value: (e) => e.tenant, max: 28 },
  { title: 'TYPE', value: (e) => e.type, max: 36 },
  { title: 'STATUS', value: (e) => e.status },
  { title: 'ATT', value: (e) => e.attempts },
  { title: 'DLV', value: (e) => e.deliveries },
  { title: 'ERROR', value: (e) => e.lastError, max: 60 },
  { title: 'KEY', value: (e) => e.eventKey, max: 48 },
]

/**
 * Prints a page of events: JSON as the API returned it, or a table and, on stderr, how to get
 * the next page.
 */
export function printPage(page: EventPage, asJson: boolean, extra: string[] = []): void {
  if (asJson) {
    console.log(json(page))
    return
  }
  console.log(page.events.length > 0 ? table(page.events, EVENT_COLUMNS) : 'no events match')
  for (const line of extra) console.error(line)
  if (page.nextCursor) console.error(`more: repeat with --cursor ${page.nextCursor}`)
}

/** Options shared by listings. */
export interface ListOptions extends FilterOptions {
  limit?: string
  cursor?: string
  json?: boolean
}

/**
 * Adds `events list` and `events show` to `program`.
 *
 * @example
 * registerEventsCommands(program) // hookline events list --tenant acct_1 --since 2d
 */
export function registerEventsCommands(program: Command): void {
  const events = program.command('events').description("find events and see what happened to them (via the service's admin API)")

  withFilterOptions(events.command('list').description('list events, newest first'))
    .option('--limit <n>', 'events per page (1-500)', '50')
    .option('--cursor <cursor>', 'continue after a previous page')
    .option('--json', 'print JSON ({ events, nextCursor }) instead of a table')
    .addHelpText('after', '\nExamples:\n  pnpm hookline events list --tenant acct_1 --since 2d\n  pnpm hookline events list --status dead,failed --type "invoice.*" --json')
    .action(async (options: ListOptions) => {
      const client = adminClient(loadEnv())
      const page = await client.get<EventPage>('/events', { ...apiFilter(options), limit: options.limit, cursor: options.cursor })
      printPage(page, options.json === true)
    })

  events
    .command('show')
    .description('show one event: payload, kept headers, every attempt with its error, replays and ignores')
    .argument('<id>', "inbox id of the event, or the provider's event key (evt_…, a GitHub delivery GUID, a Slack key)")
    .option('--provider <name>', 'the provider of the event key, when several providers have it')
    .option('--json', 'print the API answer as JSON')
    .action(async (id: string, options: { json?: boolean; provider?: string }) => {
      const client = adminClient(loadEnv())
      const event = await client.get<EventDetail>(`/events/${encodeURIComponent(id)}`, { provider: options.provider })
      if (options.json) {
        console.log(json(event))
        return
      }
      printDetail(event)
    })
}

/** Why a held event waits: `breaker crm open until T`, `paused (stripe) since T`. */
function heldText(held: EventDetail['held']): string | null {
  if (!held) return null
  if (held.reason === 'paused') return `paused (${held.route}) since ${held.since}`
  return `breaker ${held.route} ${held.until ? `open until ${held.until}` : 'probing'}`
}

/**
 * An attempt as support names it: `#4 (run 2)` — its number among all the event's attempts, which
 * continue across replays, and its generation.
 */
function attemptLabel(attempt: EventDetail['attemptLog'][number]): string {
  return `#${attempt.n} (run ${attempt.generation})`
}

function printDetail(event: EventDetail): void {
  console.log(
    fields([
      ['id', event.id],
      ['provider', event.provider],
      ['event key', event.eventKey],
      ['type', event.type],
      ['tenant', event.tenant],
      ['entity', event.entityKey],
      ['status', event.status],
      ['generation', event.generation],
      ['attempts', `${event.attempts} of ${event.maxAttempts}`],
      ['next attempt', event.nextAttemptAt],
      ['deliveries', event.deliveries],
      ['source', event.source],
      ['occurred', event.occurredAt],
      ['received', event.receivedAt],
      ['last delivery', event.lastDeliveredAt],
      ['processed', event.processedAt],
      ['stale', event.stale],
      ['note', event.note],
      ['last error', event.lastError],
      ['held', heldText(event.held)],
      ['waiting for', event.waitingFor === null ? null : `${event.waitingFor} (an earlier event of its entity, which must end first)`],
    ]),
  )
  console.log('\nattempts')
  console.log(
    event.attemptLog.length === 0
      ? '  none yet'
      : table(event.attemptLog, [
          { title: 'ATTEMPT', value: attemptLabel },
          { title: 'STARTED', value: (a) => a.startedAt },
          { title: 'MS', value: (a) => a.durationMs },
          { title: 'OUTCOME', value: (a) => a.outcome ?? 'running' },
          { title: 'ERROR', value: (a) => a.error, max: 100 },
        ]),
  )
  const stacks = event.attemptLog.filter((a) => a.stack)
  if (stacks.length > 0) {
    console.log('\nstack traces')
    for (const a of stacks) console.log(`${attemptLabel(a)}\n${a.stack!.split('\n').map(terminalSafe).join('\n')}`)
  }
  if (event.audit.length > 0) {
    console.log('\nsupport actions')
    console.log(table(event.audit, [
      { title: 'AT', value: (a) => a.at },
      { title: 'ACTOR', value: (a) => a.actor },
      { title: 'ACTION', value: (a) => a.action },
      { title: 'NOTE', value: (a) => a.note, max: 80 },
    ]))
  }
  console.log('\nheaders')
  console.log(fields(Object.entries(event.headers)))
  console.log('\npayload')
  console.log(json(event.payload))
}

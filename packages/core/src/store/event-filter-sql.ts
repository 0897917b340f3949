/**
 * @module The SQL condition of an {@link EventFilter} on `hookline.hookline_events`, parameterised.
 */
import { type EventFilter, type EventStatus, keyTextOf } from '../support/event-filter.ts'

/** Statuses whose events have a row in `hookline.hookline_due_events` (every other status has none). */
const IN_WORK_LIST: ReadonlySet<EventStatus> = new Set(['received', 'processing', 'failed', 'dead'])

/** Escapes `%`, `_` and `\` so that user text matches literally inside a LIKE pattern. */
function likeLiteral(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`)
}

/**
 * The SQL condition on `hookline.hookline_events` selecting `filter`, appending its values to `params`
 * (placeholders are numbered after the values already there). `TRUE` for an empty filter.
 *
 * @example
 * const params: unknown[] = []
 * const where = filterCondition({ tenant: 'acct_1', status: ['dead'] }, params)
 * await db.$queryRawUnsafe(`SELECT id FROM hookline.hookline_events WHERE ${where}`, ...params)
 */
export function filterCondition(filter: EventFilter, params: unknown[]): string {
  const conditions: string[] = []
  const param = (value: unknown): string => `$${params.push(value)}`
  if (filter.provider !== undefined) conditions.push(`provider = ${param(filter.provider)}`)
  if (filter.tenant !== undefined) conditions.push(`tenant = ${param(filter.tenant)}`)
  if (filter.status !== undefined) {
    conditions.push(`status::text = ANY(${param(filter.status)}::text[])`)
    // The status is not indexed (a status change stays a HOT update); the statuses of unfinished
    // and dead events are found through the work list's index instead of a scan of the inbox.
    if (filter.status.every((status) => status === 'dead')) conditions.push(`id IN (SELECT event_id FROM hookline.hookline_due_events WHERE due_at IS NULL)`)
    else if (filter.status.every((status) => IN_WORK_LIST.has(status))) conditions.push(`id IN (SELECT event_id FROM hookline.hookline_due_events)`)
  }
  if (filter.type !== undefined) {
    conditions.push(
      filter.type.endsWith('*')
        ? `type LIKE ${param(`${likeLiteral(filter.type.slice(0, -1))}%`)}`
        : `type = ${param(filter.type)}`,
    )
  }
  if (filter.since !== undefined) conditions.push(`received_at >= ${param(filter.since)}`)
  if (filter.until !== undefined) conditions.push(`received_at < ${param(filter.until)}`)
  const key = keyTextOf(filter)
  if (key !== undefined) {
    conditions.push(`(event_key ILIKE ${param(`%${likeLiteral(key)}%`)} OR id::text = ${param(key.toLowerCase())})`)
  }
  if (filter.ids !== undefined) conditions.push(`id = ANY(${param(filter.ids)}::uuid[])`)
  if (filter.issue !== undefined) conditions.push(`id IN (SELECT event_id FROM hookline.hookline_issue_events WHERE fingerprint = ${param(filter.issue)})`)
  return conditions.length > 0 ? conditions.join(' AND ') : 'TRUE'
}

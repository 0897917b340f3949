/**
 * @module The event filter shared by the admin listing, the DLQ and bulk replay, and its validation
 * (zod, from query strings or JSON bodies); `store/event-filter-sql.ts` turns it into SQL.
 */
import { z } from 'zod'
import { InvalidRequestError } from '../errors.ts'

/**
 * Every status an inbox event can have, in the order of its life. `skipped_stale`: finished without
 * its handler, because a newer event of its entity had been applied (the worker's `stale: 'skip'`).
 */
export const EVENT_STATUSES = ['received', 'processing', 'processed', 'skipped_stale', 'failed', 'dead', 'ignored'] as const

/** Status of an inbox event. */
export type EventStatus = (typeof EVENT_STATUSES)[number]

/** Which events an admin listing or a bulk replay is about; every field narrows the match. */
export interface EventFilter {
  provider?: string | undefined
  /** The customer's account at the provider (Stripe Connect account, GitHub installation…). */
  tenant?: string | undefined
  /** Any of these statuses. */
  status?: EventStatus[] | undefined
  /** Exact type, or a prefix when it ends with `*` (`invoice.*`). */
  type?: string | undefined
  /** Received at or after. */
  since?: Date | undefined
  /** Received before. */
  until?: Date | undefined
  /** Part of the provider's event key (case-insensitive), or an exact inbox id. */
  key?: string | undefined
  /** The older name of {@link EventFilter.key}, still accepted; `key` wins when both are given. */
  q?: string | undefined
  /** Exactly these inbox ids. */
  ids?: string[] | undefined
  /** Events counted in this issue (its fingerprint): one of their failures was of it. */
  issue?: string | undefined
}

const RELATIVE_TIME = /^(\d+)\s*(m|h|d|w)$/
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const

/** The times a filter may name: years 0001 to 9999 (beyond them Postgres or JavaScript has none). */
const TIME_RANGE = [Date.parse('0001-01-01T00:00:00Z'), Date.parse('9999-12-31T23:59:59.999Z')] as const

/** Whether `ms` is a time a filter may name (see {@link TIME_RANGE}). */
export function isFilterTime(ms: number): boolean {
  return ms >= TIME_RANGE[0] && ms <= TIME_RANGE[1]
}

/**
 * Reads a time bound: an ISO 8601 date or date-time, or a duration back from `now` (`90m`, `24h`,
 * `7d`, `2w`) — what a support person types. Undefined when the text is neither, or names a time
 * outside the years 0001 to 9999.
 *
 * @example
 * parseTimeBound('24h', new Date('2026-11-23T12:00:00Z')) // 2026-11-22T12:00:00.000Z
 */
export function parseTimeBound(text: string, now: Date = new Date()): Date | undefined {
  const relative = RELATIVE_TIME.exec(text.trim())
  // Date.parse accepts many non-ISO shapes; requiring a leading YYYY-MM-DD keeps the input unambiguous.
  const ms = relative
    ? now.getTime() - Number(relative[1]) * UNIT_MS[relative[2] as keyof typeof UNIT_MS]
    : /^\d{4}-\d{2}-\d{2}/.test(text.trim()) ? Date.parse(text.trim()) : Number.NaN
  return isFilterTime(ms) ? new Date(ms) : undefined
}

const timeBound = z.string().transform((text, ctx) => {
  const date = parseTimeBound(text)
  if (!date) ctx.addIssue({ code: 'custom', message: 'expected an ISO 8601 date (years 0001 to 9999) or a duration such as 24h or 7d' })
  return date ?? new Date(Number.NaN)
})

/** A list given either as an array (JSON) or as comma-separated text (query string). */
function listOf<T extends z.ZodType>(item: T) {
  return z.preprocess(
    (v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter((s) => s.length > 0) : v),
    z.array(item).min(1),
  )
}

/**
 * Non-empty text of at most `max` characters that Postgres can store: a NUL character, which a
 * Postgres text value cannot hold, is refused here rather than by the database.
 */
export function storableText(max: number) {
  return z.string().trim().min(1).max(max).refine((value) => !value.includes('\u0000'), 'must not contain a NUL character')
}

const text = storableText(500)

/** The event-key text of `filter`: `key`, else its alias `q`. */
export function keyTextOf(filter: Pick<EventFilter, 'key' | 'q'>): string | undefined {
  return filter.key ?? filter.q
}

/** zod schema of {@link EventFilter}; unknown keys are refused so that a typo never widens a replay. */
export const eventFilterSchema = z.strictObject({
  provider: text.optional(),
  tenant: text.optional(),
  status: listOf(z.enum(EVENT_STATUSES)).optional(),
  type: text.optional(),
  since: timeBound.optional(),
  until: timeBound.optional(),
  key: text.optional(),
  q: text.optional(),
  ids: listOf(z.uuid()).optional(),
  issue: z.string().regex(/^[0-9a-f]{16}$/, 'expected an issue fingerprint (16 hex characters)').optional(),
})

/**
 * Validates `input` with `schema`, or throws {@link InvalidRequestError} naming every bad field.
 *
 * @example
 * const filter = parseInput(eventFilterSchema, req.query)
 */
export function parseInput<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const result = schema.safeParse(input ?? {})
  if (result.success) return result.data
  const details = result.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message))
  throw new InvalidRequestError(details.join('; '), { cause: result.error })
}

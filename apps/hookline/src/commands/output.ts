/**
 * @module Terminal output of the support commands: aligned tables, key/value blocks and JSON.
 * Event data is attacker-controlled, so control characters are made visible before printing
 * (an escape sequence in a payload must not drive the support person's terminal).
 */

/** One column of a table: its heading and how to read a row's cell. */
export interface Column<T> {
  title: string
  value: (row: T) => unknown
  /** Longest cell before it is cut with `…`. */
  max?: number
}

/**
 * Replaces C0/C1 control characters (ESC, CR, BEL…) and other invisible format characters with
 * `\uXXXX`, so that text from an event prints as inert text.
 *
 * @example
 * terminalSafe('ok\u001b[2J') // 'ok\\u001b[2J'
 */
export function terminalSafe(text: string): string {
  return text.replace(/[\u0000-\u001f]/g, escapeChar).replace(INVISIBLE, escapeChar)
}

/** C1 controls and bidi / zero-width format characters (JSON.stringify leaves them raw). */
const INVISIBLE = /[\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/g

function escapeChar(c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`
}

/** A cell's text: dates as ISO seconds, null as `-`, everything made terminal-safe. */
export function cell(value: unknown): string {
  if (value === null || value === undefined || value === '') return '-'
  if (value instanceof Date) return value.toISOString().replace(/\.\d{3}Z$/, 'Z')
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T[\d:.]+Z$/.test(value)) return value.replace(/\.\d{3}Z$/, 'Z')
  return terminalSafe(String(value))
}

/**
 * Renders rows as a table with a heading line, columns separated by two spaces.
 *
 * @example
 * console.log(table(events, [{ title: 'ID', value: (e) => e.id }, { title: 'STATUS', value: (e) => e.status }]))
 */
export function table<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = rows.map((row) => columns.map((c) => truncate(cell(c.value(row)), c.max)))
  const widths = columns.map((c, i) => Math.max(c.title.length, ...cells.map((r) => r[i]!.length)))
  const line = (values: string[]) => values.map((v, i) => (i === values.length - 1 ? v : v.padEnd(widths[i]!))).join('  ')
  return [line(columns.map((c) => c.title)), ...cells.map(line)].join('\n')
}

/** Renders `label: value` lines with aligned values. */
export function fields(entries: readonly [string, unknown][]): string {
  if (entries.length === 0) return '  none'
  const width = Math.max(...entries.map(([label]) => label.length)) + 1
  return entries.map(([label, value]) => `${`${label}:`.padEnd(width)} ${cell(value)}`).join('\n')
}

/**
 * Pretty JSON that is also terminal-safe and still valid JSON: JSON.stringify already escapes C0
 * controls; the characters it leaves raw can only occur inside strings, where `\\uXXXX` is valid.
 */
export function json(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(INVISIBLE, escapeChar)
}

function truncate(text: string, max: number | undefined): string {
  return max !== undefined && text.length > max ? `${text.slice(0, max - 1)}…` : text
}

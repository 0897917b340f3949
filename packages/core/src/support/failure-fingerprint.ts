/**
 * @module The fingerprint of a failed attempt: what groups failures into issues. Two failures
 * share one when they happened on the same route with the same error class and the same message
 * once the values that vary per event (numbers, ids, quoted values, emails) are placeholders.
 */
import { createHash } from 'node:crypto'

/** A failure as it is grouped. */
export interface FailureFingerprint {
  /** 16 hex characters identifying the issue. */
  fingerprint: string
  /** The handler key the event matched (`stripe:invoice.paid`, `stripe:*`, `*`), else `provider:type`. */
  route: string
  /** The error's `name` (`TypeError`, `PermanentError`…), `NonError` for a thrown non-Error. */
  errorClass: string
  /** The message with its varying values as placeholders. */
  message: string
}

/** Longest normalised message kept: a longer one is cut, so a huge message still groups. */
const MAX_MESSAGE = 500

/** Replacements in order: the most specific shapes first, so that numbers inside them are not seen alone. */
const NORMALISERS: readonly [RegExp, string][] = [
  [/[\w.+-]+@[\w-]+(?:\.[\w-]+)+/g, '<email>'],
  [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<uuid>'],
  [/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '<str>'],
  // Provider ids: a lowercase prefix, an underscore, and a tail with a digit (evt_1Nq…, cus_9s…).
  [/\b[a-z][a-z0-9]*_(?=[A-Za-z0-9]*\d)[A-Za-z0-9]{3,}\b/g, '<id>'],
  [/\b0x[0-9a-f]+\b|\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b/gi, '<hex>'],
  [/\d+(?:\.\d+)?/g, '<n>'],
]

/**
 * The message with what varies per event replaced by placeholders, whitespace collapsed.
 *
 * @example
 * normaliseMessage('CRM timeout after 3012 ms for cus_9sKf2') // 'CRM timeout after <n> ms for <id>'
 */
export function normaliseMessage(message: string): string {
  let text = message
  for (const [pattern, placeholder] of NORMALISERS) text = text.replace(pattern, placeholder)
  return text.replace(/\s+/g, ' ').trim().slice(0, MAX_MESSAGE)
}

/**
 * Groups a failure: its route, error class and normalised message, and their digest.
 *
 * @example
 * fingerprintFailure('stripe:invoice.paid', new TypeError("Cannot read properties of undefined (reading 'email')"))
 * // { route: 'stripe:invoice.paid', errorClass: 'TypeError', message: 'Cannot read properties of undefined (reading <str>)', fingerprint: '…' }
 */
export function fingerprintFailure(route: string, err: unknown): FailureFingerprint {
  const errorClass = err instanceof Error ? err.name || 'Error' : 'NonError'
  const message = normaliseMessage(err instanceof Error ? err.message : String(err))
  const fingerprint = createHash('sha256').update(`${route}\u0000${errorClass}\u0000${message}`).digest('hex').slice(0, 16)
  return { fingerprint, route, errorClass, message }
}

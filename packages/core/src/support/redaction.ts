/**
 * @module Redaction of what support sees: the payload fields at configured dot paths, and kept
 * request headers, shown as {@link REDACTED} in admin answers, so that a team can use the console
 * without reading customers' personal data. It changes only the copy an answer is built from:
 * handlers get the real payload, and the stored row stays as it was.
 */
import { ConfigError } from '../errors.ts'

/** What a redacted value is replaced by. */
export const REDACTED = '[redacted]'

/** Header paths: `header:<name>`, a kept request header (its name in any case). */
const HEADER_PREFIX = 'header:'
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/i
/** Deeper paths are no real provider's field and would only make every answer walk further. */
const MAX_SEGMENTS = 64

/**
 * Redaction paths, checked once. A payload path is dot-separated keys (`data.object.email`,
 * `customer.address`; an array's index is a key, `items.0.card`), `*` standing for any one key or
 * index (`data.object.*.card`); the value there, whatever it is (an object, a list), becomes
 * {@link REDACTED}. `header:<name>` redacts a kept request header.
 *
 * @example
 * const redaction = new Redaction(['data.object.email', 'data.object.*.card', 'header:x-forwarded-for'])
 * const detail = await hookline.events.get(id, { redaction })
 */
export class Redaction {
  private readonly paths: string[][] = []
  private readonly headerNames = new Set<string>()

  /** @throws {ConfigError} for an empty segment, a path of more than 64 segments, or a bad header name. */
  constructor(paths: readonly string[]) {
    for (const path of paths) {
      if (path.startsWith(HEADER_PREFIX)) {
        const name = path.slice(HEADER_PREFIX.length)
        if (!HEADER_NAME.test(name)) throw new ConfigError(`redact path "${path}": "${name}" is not a header name`)
        this.headerNames.add(name.toLowerCase())
        continue
      }
      const segments = path.split('.')
      if (segments.some((segment) => segment.length === 0)) throw new ConfigError(`redact path "${path}": keys are separated by single dots, none empty`)
      if (segments.length > MAX_SEGMENTS) throw new ConfigError(`redact path "${path}": more than ${MAX_SEGMENTS} keys`)
      this.paths.push(segments)
    }
  }

  /** Whether any payload path is configured (a payload can then differ from what was stored). */
  get redactsPayload(): boolean {
    return this.paths.length > 0
  }

  /**
   * Replaces, in `payload` itself, every value at one of the paths by {@link REDACTED}; `payload`
   * must be a value of the caller's own (a fresh `JSON.parse`). Walks only along the paths, never
   * the whole payload, so a payload nested thousands of levels deep costs no more; a path through
   * a value that is not an object or a list matches nothing. Returns whether anything was replaced.
   */
  redactPayload(payload: unknown): boolean {
    let replaced = false
    for (const path of this.paths) {
      let nodes: object[] = isContainer(payload) ? [payload] : []
      for (const segment of path.slice(0, -1)) nodes = nodes.flatMap((node) => valuesAt(node, segment).filter(isContainer))
      const last = path.at(-1)!
      for (const node of nodes) {
        for (const key of last === '*' ? Object.keys(node) : Object.hasOwn(node, last) ? [last] : []) {
          // Defined, not assigned: a key such as `__proto__` (JSON.parse makes it an own key) is replaced too.
          Object.defineProperty(node, key, { value: REDACTED, enumerable: true, writable: true, configurable: true })
          replaced = true
        }
      }
    }
    return replaced
  }

  /** `headers` with the redacted ones' values replaced by {@link REDACTED} (a copy). */
  redactHeaders(headers: Record<string, string>): Record<string, string> {
    if (this.headerNames.size === 0) return headers
    return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, this.headerNames.has(name.toLowerCase()) ? REDACTED : value]))
  }
}

function isContainer(value: unknown): value is object {
  return typeof value === 'object' && value !== null
}

/** The own values of `node` under `segment` (every one for `*`). */
function valuesAt(node: object, segment: string): unknown[] {
  if (segment === '*') return Object.values(node)
  return Object.hasOwn(node, segment) ? [Object.getOwnPropertyDescriptor(node, segment)!.value] : []
}

/**
 * @module How deeply a payload nests. A payload nested thousands of levels deep parses, but
 * overflows the stack of every recursive reader after it (`JSON.stringify` of an admin answer, a
 * handler's own walk), so the ingress refuses one deeper than {@link MAX_PAYLOAD_DEPTH}.
 */

/** Deepest nesting of objects and arrays accepted in a payload (real providers' stay below 20). */
export const MAX_PAYLOAD_DEPTH = 512

/**
 * Whether `value` nests objects or arrays more than `limit` levels deep. Iterative, so that it
 * never overflows itself, and it stops at the first path past the limit.
 *
 * @example
 * nestsDeeperThan({ a: [{ b: 1 }] }, 2) // true
 */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 0]]
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!
    if (node === null || typeof node !== 'object') continue
    if (depth + 1 > limit) return true
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1])
    }
  }
  return false
}

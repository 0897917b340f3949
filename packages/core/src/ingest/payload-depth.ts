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
  // Two parallel stacks and for…in: no allocation per node on the ingress's path.
  const nodes: object[] = []
  const depths: number[] = []
  if (value !== null && typeof value === 'object') nodes.push(value), depths.push(1)
  while (nodes.length > 0) {
    const node = nodes.pop() as Record<string, unknown>
    const depth = depths.pop()!
    if (depth > limit) return true
    for (const key in node) {
      const child = node[key]
      if (child !== null && typeof child === 'object') nodes.push(child), depths.push(depth + 1)
    }
  }
  return false
}

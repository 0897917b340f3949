/**
 * @module A worker process of its own runs at a lower CPU priority than the ingress: where they
 * share cores, the kernel runs the ingress's requests first and gives the worker what they leave.
 * A burst is then answered nearly as fast as by the ingress alone and processed right after it,
 * while under a steady load the worker still gets every spare cycle, so processing never waits for
 * a fixed time. Postgres's backends keep their own priority.
 */
import { readdirSync } from 'node:fs'
import { getPriority, setPriority } from 'node:os'

/**
 * Raises this process's niceness to `niceness` (never lowers it), on every thread it has: on Linux
 * a niceness belongs to a thread, and the garbage collector's and libuv's threads already run.
 * Returns the niceness the process runs at; throws if the system refuses.
 *
 * @example
 * lowerWorkerPriority(env.HOOKLINE_WORKER_NICE)
 */
export function lowerWorkerPriority(niceness: number): number {
  const current = getPriority()
  if (current >= niceness) return current
  let threads: number[]
  try {
    threads = readdirSync('/proc/self/task').map(Number)
  } catch {
    // Not Linux: the niceness is the process's.
    threads = [0]
  }
  for (const thread of threads) {
    try {
      setPriority(thread, niceness)
    } catch (err) {
      // A thread that ended meanwhile; any other refusal is for the caller.
      if ((err as { code?: string }).code !== 'ESRCH') throw err
    }
  }
  return getPriority()
}

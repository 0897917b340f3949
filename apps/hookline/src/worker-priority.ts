/**
 * @module The CPU priority of a worker process. On a box the ingress shares with its workers, a
 * burst of deliveries is exactly when both want every core: the ingress must answer within the
 * providers' timeouts, while the work can wait a little and drain once the burst is over. A
 * worker process with a higher nice value gets the cores the ingress leaves, and all of them when
 * the ingress is idle.
 */
import { readdirSync } from 'node:fs'
import { setPriority } from 'node:os'

/**
 * Sets the nice value of every thread of this process to `nice` (on Linux each thread has its own;
 * threads started later inherit the main thread's). Returns the threads changed; 0 where threads
 * cannot be listed (then only the process's main thread is set). Never raises priority: a nice
 * below the current one needs privileges and is refused by the system.
 *
 * @example
 * lowerPriority(env.HOOKLINE_WORKER_NICE)
 */
export function lowerPriority(nice: number): number {
  if (nice <= 0) return 0
  let threads: number[]
  try {
    threads = readdirSync('/proc/self/task').map(Number)
  } catch {
    setPriority(nice)
    return 0
  }
  let changed = 0
  for (const tid of threads) {
    try {
      setPriority(tid, nice)
      changed++
    } catch {
      // A thread that ended meanwhile.
    }
  }
  return changed
}

/**
 * @module The heap setting of a process that runs the worker. A worker keeps hundreds of jobs in
 * hand for a second or two each (so that its batches stay full), so most of what it allocates
 * survives into V8's old generation and dies there. V8 lets the old generation grow to up to ~4×
 * what survived its last full collection before it collects again: a worker draining flat out with
 * ~40 MB alive peaked at 265–314 MB. Bounding that growth to 2× cut the peak to ~232 MB at the same
 * drain rate (docs/performance.md, *A worker's heap bounded*).
 */
import { setFlagsFromString } from 'node:v8'

/**
 * How far, in per cent, V8's old generation may grow past what survived its last full collection
 * in a process that runs the worker (V8's `--heap-growing-percent`).
 */
export const WORKER_HEAP_GROWING_PERCENT = 100

const HEAP_GROWING_FLAG = /^--heap[-_]growing[-_]percent(=|$)/

/**
 * Bounds the heap growth of this process, which runs the worker, to
 * {@link WORKER_HEAP_GROWING_PERCENT}, unless `node` was started with a `--heap-growing-percent`
 * of its own (which then stands). V8 reads the setting at every full collection, so it takes effect
 * when set at run time. Returns the percentage in force, or undefined when the command line's
 * stands.
 *
 * @example
 * boundWorkerHeapGrowth()
 * await hookline.startWorker()
 */
export function boundWorkerHeapGrowth(execArgv: readonly string[] = process.execArgv): number | undefined {
  if (execArgv.some((arg) => HEAP_GROWING_FLAG.test(arg))) return undefined
  setFlagsFromString(`--heap-growing-percent=${WORKER_HEAP_GROWING_PERCENT}`)
  return WORKER_HEAP_GROWING_PERCENT
}

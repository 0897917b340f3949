/**
 * @module The worker processes of `hookline start`. The ingress process forks them (`hookline
 * work`), restarts one that dies, stops them on shutdown and gathers their metrics for its own
 * `/metrics`. A worker process answers through `answerIngress`.
 */
import { type ChildProcess, fork } from 'node:child_process'
import type { MetricsSnapshot } from '@hookline/core'

/** The one message of the channel, both ways: the request carries no snapshot, the reply does. */
interface MetricsMessage {
  hookline: 'metrics'
  id: number
  snapshot?: MetricsSnapshot
}

function isMetricsMessage(message: unknown): message is MetricsMessage {
  return typeof message === 'object' && message !== null && (message as MetricsMessage).hookline === 'metrics'
}

/** What `WorkerProcesses` logs through (the service's pino logger fits). */
export interface SupervisorLogger {
  info(fields: object, message: string): void
  error(fields: object, message: string): void
}

/** Options of `WorkerProcesses`. */
export interface WorkerProcessesOptions {
  /** How many worker processes to run. */
  count: number
  logger: SupervisorLogger
  /** The CLI entry point forked with `work` (default: the script this process runs). */
  entry?: string
  /** First delay before a dead worker process is restarted (default 1 s); it doubles, up to 30 s, while they keep dying within a minute. */
  restartDelayMs?: number
  /** How long a scrape waits for a worker process's metrics before leaving it out (default 2 s). */
  metricsTimeoutMs?: number
}

const MAX_RESTART_DELAY_MS = 30_000
/** A worker process that ran this long before dying is restarted after the first delay again. */
const HEALTHY_RUN_MS = 60_000

interface Slot {
  child?: ChildProcess
  startedAt: number
  delayMs: number
  restart?: NodeJS.Timeout
}

/**
 * Runs `count` worker processes beside the ingress: each is `hookline work` with this process's
 * environment, forked with an IPC channel (over which it sends its metrics, and through which it
 * notices when this process is gone and stops). A worker process that exits unexpectedly is logged
 * and restarted; the events it was processing are retried by BullMQ (stalled jobs) or the
 * sweeper, as for any crash.
 *
 * @example
 * const workers = new WorkerProcesses({ count: 1, logger: hookline.logger })
 * workers.start()
 * hookline.metrics.includeProcesses(() => workers.snapshots())
 * // on shutdown
 * await workers.stop()
 */
export class WorkerProcesses {
  private readonly slots: Slot[]
  private readonly pending = new Map<number, (snapshot: MetricsSnapshot | undefined) => void>()
  private nextId = 0
  private stopping = false
  private readonly entry: string
  private readonly restartDelayMs: number
  private readonly metricsTimeoutMs: number

  constructor(private readonly options: WorkerProcessesOptions) {
    this.entry = options.entry ?? process.argv[1]!
    this.restartDelayMs = options.restartDelayMs ?? 1000
    this.metricsTimeoutMs = options.metricsTimeoutMs ?? 2000
    this.slots = Array.from({ length: options.count }, () => ({ startedAt: 0, delayMs: this.restartDelayMs }))
  }

  /** Forks every worker process. */
  start(): void {
    for (const slot of this.slots) this.spawn(slot)
  }

  /** The current metrics of every worker process that answers within the timeout. */
  async snapshots(): Promise<MetricsSnapshot[]> {
    const replies = await Promise.all(this.slots.map((slot) => (slot.child ? this.askMetrics(slot.child) : undefined)))
    return replies.filter((snapshot) => snapshot !== undefined)
  }

  /** Stops every worker process (SIGTERM: each finishes its running jobs) and waits for them to exit. */
  async stop(): Promise<void> {
    this.stopping = true
    await Promise.all(
      this.slots.map(async (slot) => {
        clearTimeout(slot.restart)
        const child = slot.child
        if (!child || child.exitCode !== null || child.signalCode !== null) return
        const exited = new Promise((resolve) => child.once('exit', resolve))
        child.kill('SIGTERM')
        await exited
      }),
    )
  }

  private spawn(slot: Slot): void {
    const child = fork(this.entry, ['work'], { stdio: 'inherit' })
    slot.child = child
    slot.startedAt = Date.now()
    this.options.logger.info({ workerPid: child.pid }, 'worker process started')
    child.on('message', (message) => {
      if (isMetricsMessage(message)) this.settle(message.id, message.snapshot)
    })
    // Without a listener, a failed send to a dying child would be thrown as an uncaught error.
    child.on('error', (err) => this.options.logger.error({ workerPid: child.pid, err: err.message }, 'worker process error'))
    child.once('exit', (code, signal) => {
      slot.child = undefined
      if (this.stopping) return
      slot.delayMs = Date.now() - slot.startedAt >= HEALTHY_RUN_MS ? this.restartDelayMs : slot.delayMs
      this.options.logger.error({ workerPid: child.pid, code, signal, restartInMs: slot.delayMs }, 'worker process exited; restarting it')
      slot.restart = setTimeout(() => this.spawn(slot), slot.delayMs)
      slot.delayMs = Math.min(slot.delayMs * 2, MAX_RESTART_DELAY_MS)
    })
  }

  private askMetrics(child: ChildProcess): Promise<MetricsSnapshot | undefined> {
    const id = this.nextId++
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.settle(id, undefined), this.metricsTimeoutMs)
      this.pending.set(id, (snapshot) => {
        clearTimeout(timer)
        resolve(snapshot)
      })
      child.send({ hookline: 'metrics', id } satisfies MetricsMessage, (err) => {
        if (err) this.settle(id, undefined)
      })
    })
  }

  private settle(id: number, snapshot: MetricsSnapshot | undefined): void {
    this.pending.get(id)?.(snapshot)
    this.pending.delete(id)
  }
}

/**
 * In a worker process forked by `WorkerProcesses` (and only there: it does nothing without an IPC
 * channel), answers the ingress's metrics requests with `snapshot()`, and calls `stop` when the
 * ingress process is gone (the channel closes), so that no worker outlives its service.
 *
 * @example
 * answerIngress(() => hookline.metrics.snapshot(), stop)
 */
export function answerIngress(snapshot: () => Promise<MetricsSnapshot>, stop: () => void): void {
  const send = process.send?.bind(process)
  if (!send) return
  process.on('message', (message) => {
    if (!isMetricsMessage(message)) return
    // The callback swallows a failed send: the ingress is going away, and 'disconnect' stops us.
    void snapshot().then((metrics) => send({ hookline: 'metrics', id: message.id, snapshot: metrics } satisfies MetricsMessage, undefined, undefined, () => undefined))
  })
  process.once('disconnect', stop)
}

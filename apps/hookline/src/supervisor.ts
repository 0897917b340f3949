/**
 * @module The supervisor of `hookline start` (what `pnpm start` runs). It forks the ingress process
 * (`hookline ingress`) and the worker processes (`hookline work`), restarts whichever dies, with
 * backoff, relays the worker processes' metrics to the ingress for its one `/metrics`, and stops
 * them all on shutdown. It opens no connection of its own, so a crash elsewhere cannot leave it in
 * an unknown state. What the processes do on their side is in `./supervised.ts`.
 */
import { type ChildProcess, fork } from 'node:child_process'
import type { MetricsSnapshot } from '@hookline/core'
import { CliError, EXIT } from './commands/errors.ts'
import { messageOf, type SupervisorMessage } from './supervised.ts'

/** What the supervisor logs through (the service's pino logger fits). */
export interface SupervisorLogger {
  info(fields: object, message: string): void
  error(fields: object, message: string): void
}

/** Options of {@link Supervisor}. */
export interface SupervisorOptions {
  /** Worker processes beside the ingress; with 0 the ingress process runs the worker itself. */
  workers: number
  logger: SupervisorLogger
  /** The CLI entry point forked with `ingress` and `work` (default: the script this process runs). */
  entry?: string
  /**
   * First delay before a dead process is restarted; it doubles, up to 30 s, while its restarts
   * keep dying within a minute, so that a crash loop does not spin.
   * @defaultValue 1000
   */
  restartDelayMs?: number
  /**
   * How long a scrape waits for a worker process's metrics before leaving it out.
   * @defaultValue 2000
   */
  metricsTimeoutMs?: number
}

/** Defaults of {@link SupervisorOptions}. */
export const DEFAULT_SUPERVISOR_OPTIONS = { restartDelayMs: 1000, metricsTimeoutMs: 2000 } as const satisfies Partial<SupervisorOptions>

const MAX_RESTART_DELAY_MS = 30_000
/** A process that ran this long before dying is restarted after the first delay again. */
const HEALTHY_RUN_MS = 60_000

type Role = 'ingress' | 'worker'

interface Slot {
  role: Role
  /** Variables set for this process over the supervisor's environment. */
  env: Record<string, string>
  child?: ChildProcess
  startedAt: number
  delayMs: number
  restart?: NodeJS.Timeout
}

/**
 * Runs `hookline <args>` in a process of its own to its end (`start`'s migrations, so that the
 * supervisor never loads the database client), its output on this process's. Resolves with its
 * exit code (1 when a signal ended it).
 *
 * @example
 * if ((await runToEnd(['migrate'])) !== 0) process.exit(1)
 */
export function runToEnd(args: string[], entry = process.argv[1]!): Promise<number> {
  return new Promise((resolve) => {
    const child = fork(entry, args, { stdio: 'inherit' })
    child.once('error', () => resolve(EXIT.failed))
    child.once('exit', (code) => resolve(code ?? EXIT.failed))
  })
}

/**
 * Runs the service as processes: the ingress (HTTP, and the worker too when `workers` is 0) and
 * `workers` worker processes, each forked with this process's environment and an IPC channel
 * (through which each notices when the supervisor is gone, and stops). One that exits unexpectedly
 * is logged and restarted: the ingress on the port it listened on, so providers' retries find it;
 * the events a worker process was processing are retried by BullMQ (stalled jobs) or the sweeper,
 * as for any crash. An ingress that fails its very first start is a configuration problem, not a
 * crash: {@link Supervisor.start} rejects instead.
 *
 * @example
 * const supervisor = new Supervisor({ workers: 1, logger })
 * await supervisor.start()
 * // on SIGTERM
 * await supervisor.stop()
 */
export class Supervisor {
  private readonly ingress: Slot
  private readonly workers: Slot[]
  private readonly pending = new Map<number, (snapshot: MetricsSnapshot | undefined) => void>()
  private nextId = 0
  private stopping = false
  private listened = false
  private readonly entry: string
  private readonly settings: Required<Omit<SupervisorOptions, 'entry'>>

  constructor(options: SupervisorOptions) {
    this.settings = { ...DEFAULT_SUPERVISOR_OPTIONS, ...options }
    this.entry = options.entry ?? process.argv[1]!
    const slot = (role: Role): Slot => ({ role, env: {}, startedAt: 0, delayMs: this.settings.restartDelayMs })
    this.ingress = slot('ingress')
    this.workers = Array.from({ length: options.workers }, () => slot('worker'))
  }

  /**
   * Forks the ingress process and, once it listens, the worker processes. Resolves with the port
   * the ingress listens on; rejects with a {@link CliError} carrying the ingress's exit code when it
   * exits before it ever listened (its own error is on stderr).
   */
  start(): Promise<number> {
    return new Promise((resolve, reject) => {
      const child = this.spawn(this.ingress)
      child.on('message', (message) => {
        const listening = messageOf(message, 'listening')
        if (!listening || this.listened) return
        this.listened = true
        for (const worker of this.workers) this.spawn(worker)
        resolve(listening.port)
      })
      child.once('exit', (code, signal) => {
        if (this.listened || this.stopping) return
        const exitCode = code ? code : EXIT.failed
        reject(new CliError('hookline.cli.ingress_start_failed', exitCode, `the ingress process exited (${signal ?? `code ${code}`}) before it listened`))
      })
    })
  }

  /** Stops every process (SIGTERM: each finishes its running requests and jobs) and waits for them to exit. */
  async stop(): Promise<void> {
    this.stopping = true
    await Promise.all(
      [this.ingress, ...this.workers].map(async (slot) => {
        clearTimeout(slot.restart)
        const child = slot.child
        if (!child || child.exitCode !== null || child.signalCode !== null) return
        const exited = new Promise((resolve) => child.once('exit', resolve))
        child.kill('SIGTERM')
        await exited
      }),
    )
  }

  private spawn(slot: Slot): ChildProcess {
    const child = fork(this.entry, [slot.role === 'ingress' ? 'ingress' : 'work'], { stdio: 'inherit', env: { ...process.env, ...slot.env } })
    const pid = { [`${slot.role}Pid`]: child.pid }
    slot.child = child
    slot.startedAt = Date.now()
    this.settings.logger.info(pid, `${slot.role} process started`)
    child.on('message', (message) => this.receive(slot, child, message))
    // Without a listener, a failed send to a dying child would be thrown as an uncaught error.
    child.on('error', (err) => this.settings.logger.error({ ...pid, err: err.message }, `${slot.role} process error`))
    child.once('exit', (code, signal) => {
      slot.child = undefined
      // Before the ingress's first listen, start() decides; after stop(), nothing is restarted.
      if (this.stopping || !this.listened) return
      slot.delayMs = Date.now() - slot.startedAt >= HEALTHY_RUN_MS ? this.settings.restartDelayMs : slot.delayMs
      this.settings.logger.error({ ...pid, code, signal, restartInMs: slot.delayMs }, `${slot.role} process exited; restarting it`)
      slot.restart = setTimeout(() => this.spawn(slot), slot.delayMs)
      slot.delayMs = Math.min(slot.delayMs * 2, MAX_RESTART_DELAY_MS)
    })
    return child
  }

  private receive(slot: Slot, child: ChildProcess, message: unknown): void {
    const metrics = messageOf(message, 'metrics')
    if (metrics) return this.settle(metrics.id, metrics.snapshot)
    if (slot.role !== 'ingress') return
    // A restarted ingress listens where the first one did (the port chosen for PORT=0 too).
    const listening = messageOf(message, 'listening')
    if (listening) slot.env.PORT = String(listening.port)
    const request = messageOf(message, 'peer-metrics')
    if (request) {
      void this.workerSnapshots().then((snapshots) => {
        if (child.connected) child.send({ hookline: 'peer-metrics', id: request.id, snapshots } satisfies SupervisorMessage, () => undefined)
      })
    }
  }

  /** The current metrics of every worker process that answers within the timeout. */
  private async workerSnapshots(): Promise<MetricsSnapshot[]> {
    const replies = await Promise.all(this.workers.map((slot) => (slot.child ? this.askMetrics(slot.child) : undefined)))
    return replies.filter((snapshot) => snapshot !== undefined)
  }

  private askMetrics(child: ChildProcess): Promise<MetricsSnapshot | undefined> {
    const id = this.nextId++
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.settle(id, undefined), this.settings.metricsTimeoutMs)
      this.pending.set(id, (snapshot) => {
        clearTimeout(timer)
        resolve(snapshot)
      })
      child.send({ hookline: 'metrics', id } satisfies SupervisorMessage, (err) => {
        if (err) this.settle(id, undefined)
      })
    })
  }

  private settle(id: number, snapshot: MetricsSnapshot | undefined): void {
    this.pending.get(id)?.(snapshot)
    this.pending.delete(id)
  }
}

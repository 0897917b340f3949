/**
 * @module The side of a process run by `start`'s {@link Supervisor} (`./supervisor.ts`): its
 * messages over the IPC channel, and what the ingress and worker processes do with them. Every
 * function does nothing in a process without an IPC channel (`serve` or `work` run on their own).
 */
import type { MetricsSnapshot } from '@hookline/core'

/**
 * The messages of the channel. `metrics`: the supervisor asks a worker process for its snapshot
 * (the request has none, the reply has it). `peer-metrics`: the ingress asks the supervisor for the
 * worker processes' snapshots, for its `/metrics`. `listening`: the ingress serves on `port`.
 */
export type SupervisorMessage =
  | { hookline: 'metrics'; id: number; snapshot?: MetricsSnapshot }
  | { hookline: 'peer-metrics'; id: number; snapshots?: MetricsSnapshot[] }
  | { hookline: 'listening'; port: number }

/** `message` as a {@link SupervisorMessage} of that kind, or undefined. */
export function messageOf<K extends SupervisorMessage['hookline']>(message: unknown, kind: K): Extract<SupervisorMessage, { hookline: K }> | undefined {
  const ours = typeof message === 'object' && message !== null && (message as SupervisorMessage).hookline === kind
  return ours ? (message as Extract<SupervisorMessage, { hookline: K }>) : undefined
}

/** A send whose failure is ignored: the other side is going away, and 'disconnect' says so. */
function send(message: SupervisorMessage): void {
  process.send?.(message, undefined, undefined, () => undefined)
}

/**
 * Calls `stop` when the supervisor is gone (the channel closes), so that no process outlives its
 * service.
 *
 * @example
 * stopWithSupervisor(stop)
 */
export function stopWithSupervisor(stop: () => void): void {
  if (process.send) process.once('disconnect', stop)
}

/**
 * In a worker process: answers the supervisor's metrics requests with `snapshot()`.
 *
 * @example
 * answerMetrics(() => hookline.metrics.snapshot())
 */
export function answerMetrics(snapshot: () => Promise<MetricsSnapshot>): void {
  if (!process.send) return
  process.on('message', (message) => {
    const request = messageOf(message, 'metrics')
    if (request) void snapshot().then((metrics) => send({ hookline: 'metrics', id: request.id, snapshot: metrics }))
  })
}

/**
 * In the ingress process: tells the supervisor it serves on `port` (so that a restart listens on
 * the same one, `PORT=0` included).
 *
 * @example
 * reportListening(server.address().port)
 */
export function reportListening(port: number): void {
  send({ hookline: 'listening', port })
}

/**
 * In the ingress process: a source of the worker processes' metrics for
 * `hookline.metrics.includeProcesses`, asked of the supervisor (which waits up to its own timeout
 * for each worker process); after `timeoutMs` without an answer, none. Undefined without a
 * supervisor.
 *
 * @example
 * const peers = supervisorMetrics()
 * if (peers) hookline.metrics.includeProcesses(peers)
 */
export function supervisorMetrics(timeoutMs = 3000): (() => Promise<MetricsSnapshot[]>) | undefined {
  if (!process.send) return undefined
  const pending = new Map<number, (snapshots: MetricsSnapshot[]) => void>()
  let nextId = 0
  process.on('message', (message) => {
    const reply = messageOf(message, 'peer-metrics')
    if (reply) pending.get(reply.id)?.(reply.snapshots ?? [])
  })
  return () => new Promise((resolve) => {
    const id = nextId++
    const settle = (snapshots: MetricsSnapshot[]) => {
      clearTimeout(timer)
      pending.delete(id)
      resolve(snapshots)
    }
    const timer = setTimeout(() => settle([]), timeoutMs)
    pending.set(id, settle)
    send({ hookline: 'peer-metrics', id })
  })
}

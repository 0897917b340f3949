/**
 * @module Closing a BullMQ queue or worker without hanging on an unreachable Redis.
 */
import type { Redis } from 'ioredis'

/**
 * Runs a BullMQ `close()` and waits for it while `connection` is up, then disconnects
 * `connection`. BullMQ's close does not settle while Redis is unreachable: it waits for an `end`
 * event that a reconnecting ioredis client never emits (taskforcesh/bullmq#4656). A service told
 * to stop during an outage would stay up until killed, so once `connection` is down (or goes down
 * meanwhile) this stops waiting: what BullMQ was still to do needs Redis anyway, and the caller
 * waits for its own work (a worker, for its running jobs).
 *
 * @example
 * await closeWhileConnected(() => worker.close(), connection)
 */
export async function closeWhileConnected(close: () => Promise<unknown>, connection: Redis): Promise<void> {
  const closed = close().catch(() => undefined)
  if (connection.status === 'ready') {
    let lost = (): void => undefined
    await Promise.race([closed, new Promise<void>((resolve) => connection.once('close', (lost = resolve)))])
    connection.off('close', lost)
  }
  connection.disconnect()
}

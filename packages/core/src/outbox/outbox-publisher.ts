/**
 * @module Publishing relayed outbox events to a BullMQ queue of the application's, inside the
 * relay's transaction: a crash after the publish and before the commit repeats the publish, which
 * the job id (the event id) makes a no-op while the job is kept.
 */
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import type { OutboxRow } from '../store/outbox.ts'
import type { OutboxPublishTarget } from './outbox-options.ts'

/** The data of a published job. */
export interface PublishedEvent {
  id: string
  type: string
  key: string | null
  tenant: string | null
  payload: unknown
  emittedAt: string
}

/**
 * Adds outbox events to the application's queue.
 *
 * @example
 * await new OutboxPublisher({ queue: 'orders' }, redisUrl).publish(rows)
 */
export class OutboxPublisher {
  private readonly connection: Redis
  private readonly queue: Queue

  constructor(target: OutboxPublishTarget, redisUrl: string) {
    // Fail fast while Redis is down: the relay's transaction rolls back and the rows wait.
    this.connection = new Redis(target.redisUrl ?? redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false })
    this.connection.on('error', () => undefined)
    this.queue = new Queue(target.queue, { connection: this.connection, prefix: target.prefix ?? 'bull' })
  }

  /** Adds one job per row; rejects when Redis refuses. */
  async publish(rows: readonly OutboxRow[]): Promise<void> {
    await this.queue.addBulk(
      rows.map((row) => {
        const data: PublishedEvent = { id: row.id, type: row.type, key: row.key, tenant: row.tenant, payload: JSON.parse(row.payload), emittedAt: row.emittedAt.toISOString() }
        return { name: row.type, data, opts: { jobId: row.id } }
      }),
    )
  }

  async close(): Promise<void> {
    await this.queue.close().catch(() => undefined)
    this.connection.disconnect()
  }
}

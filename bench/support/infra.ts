/**
 * @module What a benchmark run owns on the local Postgres and Redis: migrated databases and BullMQ
 * prefixes of its own (the testkit's isolation helpers), all removed at the end of the run.
 */
import { createTestDatabase, TEST_REDIS_URL, testQueuePrefix } from '@hookline/testkit'

/** Redis the benchmark uses (`TEST_REDIS_URL`, default the local one). */
export const REDIS_URL = TEST_REDIS_URL

/** A database and a queue prefix of one's own. */
export interface Sandbox {
  databaseUrl: string
  queuePrefix: string
}

/**
 * Creates sandboxes and removes them all at once.
 *
 * @example
 * const infra = new Infra()
 * const { databaseUrl, queuePrefix } = await infra.sandbox()
 * await infra.cleanup()
 */
export class Infra {
  private readonly cleanups: (() => Promise<void>)[] = []

  /** A fresh, migrated database and an unused queue prefix. */
  async sandbox(): Promise<Sandbox> {
    const db = await createTestDatabase()
    const queue = testQueuePrefix(REDIS_URL)
    this.cleanups.push(() => queue.cleanup(), () => db.drop())
    return { databaseUrl: db.url, queuePrefix: queue.prefix }
  }

  /** Drops every database and deletes every key created so far. */
  async cleanup(): Promise<void> {
    for (const cleanup of this.cleanups.splice(0).reverse()) await cleanup().catch(() => undefined)
  }
}

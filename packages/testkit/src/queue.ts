/**
 * @module Isolated BullMQ key prefixes for tests, and their cleanup.
 */
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'

/** The Redis tests use unless `TEST_REDIS_URL` says otherwise. */
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

/**
 * A BullMQ prefix of its own for one test file, and `cleanup()` that deletes every key under it.
 *
 * @example
 * const queue = testQueuePrefix()
 * createHookline({ …, queue: { prefix: queue.prefix } })
 * afterAll(() => queue.cleanup())
 */
export function testQueuePrefix(redisUrl: string = TEST_REDIS_URL): { prefix: string; cleanup(): Promise<void> } {
  const prefix = `hookline-test-${randomBytes(5).toString('hex')}`
  return {
    prefix,
    async cleanup() {
      const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true })
      redis.on('error', () => undefined)
      try {
        await redis.connect()
        let cursor = '0'
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000)
          cursor = next
          if (keys.length > 0) await redis.del(...keys)
        } while (cursor !== '0')
      } finally {
        redis.disconnect()
      }
    },
  }
}

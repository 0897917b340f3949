/**
 * @module `pnpm start` for one test file or block: its own database and queue prefix, the Stripe
 * test secret, a Prisma client for assertions, and cleanup.
 */
import { createPrismaClient, type PrismaClient } from '@hookline/db'
import { createTestDatabase, STRIPE_TEST_SECRET, type TestDatabase, testQueuePrefix } from '@hookline/testkit'
import { type StartedService, startService } from './service-launcher.ts'

/** A running `pnpm start` and what the test asserts with. */
export interface ServiceSandbox {
  service: StartedService
  prisma: PrismaClient
  db: TestDatabase
  queuePrefix: string
  /** Stops the service, then drops its database and queue keys. */
  stop(): Promise<void>
}

/**
 * Starts `pnpm start` on a database and queue prefix of its own, with `env` on top.
 *
 * @example
 * let sandbox: ServiceSandbox
 * beforeAll(async () => (sandbox = await startServiceSandbox({ HOOKLINE_LOG_LEVEL: 'warn' })))
 * afterAll(() => sandbox?.stop())
 */
export async function startServiceSandbox(env: Record<string, string> = {}): Promise<ServiceSandbox> {
  const queue = testQueuePrefix()
  const db = await createTestDatabase()
  const prisma = createPrismaClient(db.url)
  const service = await startService({ DATABASE_URL: db.url, HOOKLINE_QUEUE_PREFIX: queue.prefix, STRIPE_WEBHOOK_SECRET: STRIPE_TEST_SECRET, ...env })
  return {
    service,
    prisma,
    db,
    queuePrefix: queue.prefix,
    async stop() {
      await service.stop()
      await prisma.$disconnect()
      await queue.cleanup()
      await db.drop()
    },
  }
}

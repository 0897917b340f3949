/**
 * @module `pnpm start` for one test file or block: its own database and queue prefix, the Stripe
 * test secret, a Prisma client for assertions, and cleanup.
 */
import { createPrismaClient, type PrismaClient } from '@hookline/db'
import { createTestDatabase, STRIPE_TEST_SECRET, testQueuePrefix } from '@hookline/testkit'
import { type StartedService, startService } from './service-launcher.ts'

/** A running `pnpm start` and what the test asserts with. */
export interface ServiceSandbox {
  service: StartedService
  prisma: PrismaClient
  /** Stops the service, then drops its database and queue keys. */
  stop(): Promise<void>
}

/**
 * Starts `pnpm start` on a database and queue prefix of its own, with `env` on top; should it not
 * start, cleans up before it throws.
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
  const cleanup = async () => {
    await prisma.$disconnect()
    await queue.cleanup()
    await db.drop()
  }
  let service: StartedService
  try {
    service = await startService({ DATABASE_URL: db.url, HOOKLINE_QUEUE_PREFIX: queue.prefix, STRIPE_WEBHOOK_SECRET: STRIPE_TEST_SECRET, ...env })
  } catch (err) {
    await cleanup()
    throw err
  }
  return {
    service,
    prisma,
    async stop() {
      await service.stop()
      await cleanup()
    },
  }
}

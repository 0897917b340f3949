/**
 * @module A measured application process of the outbox scenario: transactions that each insert an
 * order row, with or without `hookline.emit` of an event for it (the baseline is the same
 * transaction without the emit); or, as `worker`, Hookline's worker and relay with an `app:*`
 * handler that writes one row per event, as `hookline work` runs them.
 */
import { createHookline } from '@hookline/core'
import { createPrismaClient } from '@hookline/db'
import { pino } from 'pino'
import { childConfig, serveParent } from '../support/serve-parent.ts'

/** Configuration of an outbox process. */
export interface OutboxAppConfig {
  role: 'app' | 'worker'
  databaseUrl: string
  redisUrl: string
  queuePrefix: string
}

const config = childConfig<OutboxAppConfig>()
const hookline = createHookline({
  databaseUrl: config.databaseUrl,
  redisUrl: config.redisUrl,
  adapters: [],
  handlers: {
    'app:*': async (event, { tx }) => {
      await tx.$executeRawUnsafe(`INSERT INTO bench_handled (event_id) VALUES ($1::uuid)`, event.id)
    },
  },
  logger: pino({ level: 'warn' }),
  queue: { prefix: config.queuePrefix },
})
const prisma = createPrismaClient(config.databaseUrl, { poolMax: 20 })
if (config.role === 'worker') await hookline.startWorker()

serveParent(
  {},
  {
    /** Runs `count` transactions, `concurrency` at once; resolves to the seconds they took. */
    transact: async ({ count, concurrency, emit, offset }: { count: number; concurrency: number; emit: boolean; offset: number }) => {
      let next = 0
      const started = performance.now()
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          for (let i = next++; i < count; i = next++) {
            const order = `order-${offset + i}`
            await prisma.$transaction(async (tx) => {
              await tx.$executeRawUnsafe(`INSERT INTO bench_orders (id, status) VALUES ($1, 'paid')`, order)
              if (emit) await hookline.emit(tx, { type: 'order.paid', key: order, payload: { order, amount: 4200 } })
            })
          }
        }),
      )
      return (performance.now() - started) / 1000
    },
  },
  async () => {
    await prisma.$disconnect()
    await hookline.close()
  },
)

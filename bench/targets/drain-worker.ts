/**
 * @module A measured worker process: `bullmq` is the raw BullMQ baseline (a no-op processor, no
 * database), `hookline` is Hookline's worker with a no-op handler (claim, transaction, processed
 * mark per event), run as `hookline work` runs it.
 */
import { createHookline } from '@hookline/core'
import { Worker } from 'bullmq'
import { Redis } from 'ioredis'
import { pino } from 'pino'
import { boundWorkerHeapGrowth } from '../../apps/hookline/src/worker-heap.ts'
import { childConfig, serveParent } from '../support/serve-parent.ts'

/** Configuration of a drain worker. */
export interface DrainWorkerConfig {
  mode: 'bullmq' | 'hookline'
  databaseUrl: string
  redisUrl: string
  queuePrefix: string
  /** Jobs run at once by this process. */
  concurrency: number
}

const config = childConfig<DrainWorkerConfig>()
let close: () => Promise<void>
if (config.mode === 'bullmq') {
  const connection = new Redis(config.redisUrl, { maxRetriesPerRequest: null })
  const worker = new Worker('events', async () => {}, { connection, prefix: config.queuePrefix, concurrency: config.concurrency })
  await worker.waitUntilReady()
  close = async () => {
    await worker.close()
    connection.disconnect()
  }
} else {
  boundWorkerHeapGrowth()
  const hookline = createHookline({
    databaseUrl: config.databaseUrl,
    redisUrl: config.redisUrl,
    adapters: [],
    handlers: { '*': async () => {} },
    logger: pino({ level: 'warn' }),
    queue: { prefix: config.queuePrefix },
    worker: { concurrency: config.concurrency },
    sweeper: { graceMs: 600_000 },
  })
  await hookline.startWorker()
  close = () => hookline.close()
}
serveParent({}, {}, () => close())

/**
 * @module Worker drain: N events queued while the queue is paused, then drained by Hookline's
 * worker (1, 2, 4… processes) and, as the baseline, by a raw BullMQ no-op worker with the same
 * concurrency, one job per event. Hookline's events are queued as its ingress queues them, one job
 * per group commit (of `eventsPerJob` events), or one job each (1: as the sweeper and replays queue
 * them). The clock runs from resuming the queue to the last event processed.
 */
import { type BatchDelivery, Dispatcher, Inbox, type ParsedEvent, retryPolicy } from '@hookline/core/internal'
import { createPrismaClient } from '@hookline/db'
import { stripeEvent } from '@hookline/testkit'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { type Child, forkChild, sleep } from '../support/child.ts'
import { type Infra, REDIS_URL, type Sandbox } from '../support/infra.ts'
import type { DrainWorkerConfig } from '../targets/drain-worker.ts'

/** Settings of the drain scenario. */
export interface DrainSettings {
  events: number
  /** Worker process counts to measure Hookline with. */
  processes: number[]
  /** Jobs per worker process. */
  concurrency: number
  /**
   * Events per queued job for each Hookline drain: what a group commit holds (an ingress
   * commit holds ~19 deliveries on average at 50 connections), or 1.
   */
  eventsPerJob: number[]
}

/** One measured drain. */
export interface DrainRow {
  name: string
  mode: DrainWorkerConfig['mode']
  processes: number
  concurrency: number
  /** Events per queued job (1 for the raw BullMQ baseline). */
  eventsPerJob: number
  events: number
  seconds: number
  /** Events (or jobs) per second. */
  rate: number
  /** Peak RSS of each worker process (bytes). */
  peakRss: number[]
}

const CHUNK = 1000
/** How often the end of a drain is looked for: small beside a drain of raw BullMQ (~2 s). */
const POLL_MS = 20

/**
 * Jobs of `queue` waiting or running. (Not the delayed ones: Hookline's sweeper schedule always
 * has one, and a no-op drain retries nothing.)
 */
async function queuedJobs(queue: Queue): Promise<number> {
  const counts = await queue.getJobCounts('wait', 'active', 'prioritized')
  return Object.values(counts).reduce((a, b) => a + b, 0)
}

/**
 * Stripe webhooks with one entity each, as the ingress stores them: the raw body, whose JSON is
 * the payload (`payloadIsBody`, so the row keeps the body alone).
 */
function webhookDeliveries(count: number, offset: number): BatchDelivery[] {
  return Array.from({ length: count }, (_, i) => {
    const event = stripeEvent({ id: `evt_drain_${offset + i}` })
    const rawBody = Buffer.from(JSON.stringify(event))
    const parsed: ParsedEvent = {
      kind: 'event',
      eventKey: event.id as string,
      type: 'invoice.paid',
      tenant: null,
      entityKey: (event.data as { object: { id: string } }).object.id,
      occurredAt: new Date((event.created as number) * 1000),
      payload: event,
      payloadIsBody: true,
    }
    return { provider: 'stripe', event: parsed, meta: { source: 'webhook', headers: { 'stripe-signature': 't=0,v1=bench' }, rawBody }, count: 1 }
  })
}

async function drain(sandbox: Sandbox, mode: DrainWorkerConfig['mode'], settings: DrainSettings, processes: number, eventsPerJob: number, remaining: () => Promise<number>): Promise<DrainRow> {
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null })
  const queue = new Queue('events', { connection, prefix: sandbox.queuePrefix })
  const workers: Child<unknown>[] = []
  try {
    const config: DrainWorkerConfig = { mode, ...sandbox, redisUrl: REDIS_URL, concurrency: settings.concurrency }
    for (let i = 0; i < processes; i++) workers.push(await forkChild('targets/drain-worker.ts', config))
    const started = performance.now()
    await queue.resume()
    while ((await remaining()) > 0) await sleep(POLL_MS)
    const seconds = (performance.now() - started) / 1000
    const label = mode === 'bullmq' ? 'raw BullMQ no-op worker' : `hookline worker × ${processes} process${processes > 1 ? 'es' : ''}`
    const jobs = eventsPerJob === 1 ? 'a job per event' : `${eventsPerJob} events per job`
    return {
      name: `${label} (concurrency ${settings.concurrency}, ${jobs})`,
      mode,
      processes,
      concurrency: settings.concurrency,
      eventsPerJob,
      events: settings.events,
      seconds,
      rate: settings.events / seconds,
      peakRss: await Promise.all(workers.map((w) => w.peakRssBytes())),
    }
  } finally {
    for (const worker of workers) await worker.stop()
    await queue.close()
    connection.disconnect()
  }
}

/**
 * Measures the raw BullMQ baseline, then Hookline with each process count.
 *
 * @example
 * const rows = await runDrain(infra, { events: 50_000, processes: [1, 2, 4], concurrency: 10 }, console.error)
 */
export async function runDrain(infra: Infra, settings: DrainSettings, log: (line: string) => void): Promise<DrainRow[]> {
  const rows: DrainRow[] = []
  {
    const sandbox = await infra.sandbox()
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null })
    const queue = new Queue('events', { connection, prefix: sandbox.queuePrefix })
    await queue.pause()
    for (let i = 0; i < settings.events; i += CHUNK) {
      const n = Math.min(CHUNK, settings.events - i)
      await queue.addBulk(Array.from({ length: n }, (_, j) => ({ name: 'noop', data: { id: String(i + j) }, opts: { removeOnComplete: true, removeOnFail: true } })))
    }
    rows.push(await drain(sandbox, 'bullmq', settings, 1, 1, () => queuedJobs(queue)))
    log(`  ${rows.at(-1)!.name}: ${rows.at(-1)!.rate.toFixed(0)} jobs/s`)
    await queue.close()
    connection.disconnect()
  }
  for (const eventsPerJob of settings.eventsPerJob) for (const processes of settings.processes) {
    const sandbox = await infra.sandbox()
    const db = createPrismaClient(sandbox.databaseUrl, { poolMax: 4 })
    const inbox = new Inbox(db as never)
    const dispatcher = new Dispatcher({ redisUrl: REDIS_URL, prefix: sandbox.queuePrefix, name: 'events' }, retryPolicy(), 30_000)
    try {
      await dispatcher.queue.pause()
      for (let i = 0; i < settings.events; i += CHUNK) {
        const ids = (await inbox.insertMany(webhookDeliveries(Math.min(CHUNK, settings.events - i), i), 600_000, 'skip')).map((r) => r.id)
        if (eventsPerJob === 1) await dispatcher.enqueue(ids)
        else for (let j = 0; j < ids.length; j += eventsPerJob) await dispatcher.enqueueBatch(ids.slice(j, j + eventsPerJob))
      }
      // A job completes only after its event's commit: the queue's counts (as cheap as the raw
      // baseline's) come first, the inbox's work list confirms once they reach zero.
      const remaining = async () => {
        const queued = await queuedJobs(dispatcher.queue)
        if (queued > 0) return queued
        const rows = await db.$queryRawUnsafe<{ n: number }[]>(`SELECT count(*)::int AS n FROM hookline.hookline_due_events WHERE due_at IS NOT NULL`)
        return rows[0]!.n
      }
      rows.push(await drain(sandbox, 'hookline', settings, processes, eventsPerJob, remaining))
      log(`  ${rows.at(-1)!.name}: ${rows.at(-1)!.rate.toFixed(0)} events/s`)
    } finally {
      await dispatcher.close()
      await db.$disconnect()
    }
  }
  return rows
}

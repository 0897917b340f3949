/**
 * @module Group commit of the ingress: deliveries that arrive together share one multi-row insert
 * (one commit) and one queue round trip, and each is answered only once the commit holding it is
 * done. Under light load a delivery is written alone on the next turn of the event loop.
 */
import type { ParsedEvent } from '../adapter.ts'
import { type BatchEntry, GroupBatcher, type GroupBatchOptions } from '../queue/group-batcher.ts'
import type { BatchDelivery, BatchInsertResult, DeliveryMeta, Inbox, InsertResult } from '../store/inbox.ts'

/**
 * Tuning of the ingress's group commit: `maxBatchSize` (default 100) deliveries per insert, 1 turns
 * batching off; `maxWaitMs` (default 0) a delivery waits for others; `maxConcurrentBatches`
 * (default 4) inserts at once, each holding one database connection.
 */
export type IngestBatchOptions = GroupBatchOptions

/** The defaults of {@link IngestBatchOptions}. */
export const DEFAULT_INGEST_BATCH_OPTIONS: Readonly<IngestBatchOptions> = { maxBatchSize: 100, maxWaitMs: 0, maxConcurrentBatches: 4 }

/** A stored event the batch inserted as `received`: it needs a job. */
export interface StoredEvent {
  id: string
  provider: string
}

/**
 * Called after each commit with the events it inserted as `received`, once the batch's deliveries
 * are answered; the batch holds its slot until it returns, so enqueues are as bounded as inserts.
 * It must not throw (a failed enqueue is the sweeper's job).
 */
export type AfterCommit = (stored: StoredEvent[]) => Promise<void>

interface Delivery {
  provider: string
  event: ParsedEvent
  meta: DeliveryMeta
}

type Pending = BatchEntry<Delivery, InsertResult>

/** SQLSTATE classes of errors caused by the data of one row (22 data exception, 23 constraint). */
const ROW_ERROR = /^2[23]/

/**
 * SQLSTATEs of a statement Postgres aborted only because of concurrent transactions: deadlock
 * (a batch counting duplicates locks their rows in key order, the worker in id order) and
 * serialization failure. The statement did nothing, so it is run again.
 */
const CONCURRENCY_ERRORS = new Set(['40P01', '40001'])
/** Runs of one batch's statement after such an abort before its deliveries get their 503. */
const CONCURRENCY_RETRIES = 3

/**
 * Collects deliveries into batches and writes each batch with {@link Inbox.insertMany}.
 *
 * @example
 * const batcher = new IngestBatcher(inbox, 60_000, (stored) => enqueue(stored), { maxBatchSize: 100, maxWaitMs: 0, maxConcurrentBatches: 4 })
 * const { id, inserted } = await batcher.submit('stripe', parsed, { source: 'webhook', headers, rawBody })
 */
export class IngestBatcher {
  private readonly batcher: GroupBatcher<Delivery, InsertResult>

  constructor(
    private readonly inbox: Inbox,
    private readonly graceMs: number,
    private readonly afterCommit: AfterCommit,
    options: IngestBatchOptions,
  ) {
    this.batcher = new GroupBatcher((batch) => this.write(batch), options)
  }

  /**
   * Stores one delivery; resolves once the commit that holds it is done (its job is offered to the
   * queue right after). Rejects with the database's error when the batch could not be written.
   */
  submit(provider: string, event: ParsedEvent, meta: DeliveryMeta): Promise<InsertResult> {
    return this.batcher.submit({ provider, event, meta })
  }

  private async write(batch: Pending[]): Promise<void> {
    const groups = new Map<string, Pending[]>()
    for (const pending of batch) {
      const key = `${pending.item.provider}\u0000${pending.item.event.eventKey}`
      const group = groups.get(key)
      if (group) group.push(pending)
      else groups.set(key, [pending])
    }
    let rows: BatchInsertResult[]
    try {
      rows = await this.insert([...groups.values()].map((group) => ({ ...group[0]!.item, count: group.length }) satisfies BatchDelivery))
    } catch (err) {
      if (groups.size > 1 && ROW_ERROR.test(sqlStateOf(err) ?? '')) {
        // One delivery's data (e.g. a \u0000 in its JSON) must not fail the others: write each alone.
        await Promise.all([...groups.values()].map((group) => this.write(group)))
        return
      }
      for (const pending of batch) pending.reject(err)
      return
    }
    const byKey = new Map(rows.map((row) => [`${row.provider}\u0000${row.eventKey}`, row]))
    for (const [key, group] of groups) {
      const row = byKey.get(key)
      if (!row) {
        for (const pending of group) pending.reject(new Error('the batch insert returned no row for a delivery'))
        continue
      }
      // The first of several identical deliveries in a batch is the one that inserted the row.
      group.forEach((pending, i) => pending.resolve({ id: row.id, inserted: row.inserted && i === 0, status: row.status }))
    }
    // Answered already (durable = committed); the batch keeps its slot until its jobs are offered.
    await this.afterCommit(rows.filter((r) => r.inserted && r.status === 'received').map((r) => ({ id: r.id, provider: r.provider })))
  }

  private async insert(deliveries: BatchDelivery[]): Promise<BatchInsertResult[]> {
    for (let retry = 0; ; retry++) {
      try {
        return await this.inbox.insertMany(deliveries, this.graceMs)
      } catch (err) {
        if (retry >= CONCURRENCY_RETRIES || !CONCURRENCY_ERRORS.has(sqlStateOf(err) ?? '')) throw err
      }
    }
  }
}

/** The Postgres SQLSTATE of a failed query, as `pg` (`code`) or Prisma (`meta.code` or the message) reports it. */
function sqlStateOf(err: unknown): string | undefined {
  const { code, meta } = (err ?? {}) as { code?: unknown; meta?: { code?: unknown } }
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code
  if (typeof meta?.code === 'string') return meta.code
  return /Code: `([0-9A-Z]{5})`/.exec(err instanceof Error ? err.message : '')?.[1]
}

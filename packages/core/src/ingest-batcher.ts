/**
 * @module Group commit of the ingress: deliveries that arrive together share one multi-row insert
 * (one commit) and one queue round trip, and each is answered only once the commit holding it is
 * done. Under light load a delivery is written alone on the next turn of the event loop.
 */
import type { ParsedEvent } from './adapter.ts'
import type { BatchDelivery, BatchInsertResult, DeliveryMeta, Inbox, InsertResult } from './inbox.ts'

/** Tuning of the group commit. */
export interface IngestBatchOptions {
  /**
   * Most deliveries in one insert; 1 turns batching off.
   * @defaultValue 100
   */
  maxBatchSize: number
  /**
   * Longest a delivery waits for others before its batch is written, in milliseconds. 0 = only
   * those that arrived in the same turn of the event loop, or while every batch slot was busy.
   * @defaultValue 0
   */
  maxWaitMs: number
  /**
   * Batches being written at once (each holds one database connection). Deliveries arriving while
   * all are busy gather into the next batch: that is what makes batches grow with the load.
   * @defaultValue 4
   */
  maxConcurrentBatches: number
}

/** A stored event the batch inserted as `received`: it needs a job. */
export interface StoredEvent {
  id: string
  provider: string
}

/**
 * Called after each commit with the events it inserted as `received`, before any of the batch's
 * deliveries is answered; it must not throw (a failed enqueue is the sweeper's job).
 */
export type AfterCommit = (stored: StoredEvent[]) => Promise<void>

interface Pending {
  provider: string
  event: ParsedEvent
  meta: DeliveryMeta
  resolve(result: InsertResult): void
  reject(err: unknown): void
}

/** SQLSTATE classes of errors caused by the data of one row (22 data exception, 23 constraint). */
const ROW_ERROR = /^2[23]/

/**
 * Collects deliveries into batches and writes each batch with {@link Inbox.insertMany}.
 *
 * @example
 * const batcher = new IngestBatcher(inbox, 60_000, (stored) => enqueue(stored), { maxBatchSize: 100, maxWaitMs: 0, maxConcurrentBatches: 4 })
 * const { id, inserted } = await batcher.submit('stripe', parsed, { source: 'webhook', headers, rawBody })
 */
export class IngestBatcher {
  private queue: Pending[] = []
  private writing = 0
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined

  constructor(
    private readonly inbox: Inbox,
    private readonly graceMs: number,
    private readonly afterCommit: AfterCommit,
    private readonly options: IngestBatchOptions,
  ) {}

  /**
   * Stores one delivery; resolves once the commit that holds it is done and its job was offered to
   * the queue. Rejects with the database's error when the batch could not be written.
   */
  submit(provider: string, event: ParsedEvent, meta: DeliveryMeta): Promise<InsertResult> {
    return new Promise<InsertResult>((resolve, reject) => {
      this.queue.push({ provider, event, meta, resolve, reject })
      if (this.queue.length >= this.options.maxBatchSize) this.flush()
      else this.timer ??= this.options.maxWaitMs > 0 ? setTimeout(() => this.flush(), this.options.maxWaitMs) : setImmediate(() => this.flush())
    })
  }

  private flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer as NodeJS.Timeout)
      clearImmediate(this.timer as NodeJS.Immediate)
      this.timer = undefined
    }
    while (this.writing < this.options.maxConcurrentBatches && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.options.maxBatchSize)
      this.writing += 1
      void this.write(batch).finally(() => {
        this.writing -= 1
        // Whatever gathered while every slot was busy has waited long enough.
        if (this.queue.length > 0) this.flush()
      })
    }
  }

  private async write(batch: Pending[]): Promise<void> {
    const groups = new Map<string, Pending[]>()
    for (const pending of batch) {
      const key = `${pending.provider}\u0000${pending.event.eventKey}`
      const group = groups.get(key)
      if (group) group.push(pending)
      else groups.set(key, [pending])
    }
    let rows: BatchInsertResult[]
    try {
      rows = await this.inbox.insertMany(
        [...groups.values()].map((group) => ({ provider: group[0]!.provider, event: group[0]!.event, meta: group[0]!.meta, count: group.length }) satisfies BatchDelivery),
        this.graceMs,
      )
    } catch (err) {
      if (groups.size > 1 && ROW_ERROR.test(sqlStateOf(err) ?? '')) {
        // One delivery's data (e.g. a \u0000 in its JSON) must not fail the others: write each alone.
        await Promise.all([...groups.values()].map((group) => this.write(group)))
        return
      }
      for (const pending of batch) pending.reject(err)
      return
    }
    try {
      await this.afterCommit(rows.filter((r) => r.inserted && r.status === 'received').map((r) => ({ id: r.id, provider: r.provider })))
    } finally {
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
    }
  }
}

/** The Postgres SQLSTATE of a failed query, as Prisma reports it (`meta.code` or the message). */
function sqlStateOf(err: unknown): string | undefined {
  const meta = (err as { meta?: { code?: unknown } } | null)?.meta
  if (typeof meta?.code === 'string') return meta.code
  return /Code: `([0-9A-Z]{5})`/.exec(err instanceof Error ? err.message : '')?.[1]
}

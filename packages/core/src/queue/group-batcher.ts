/**
 * @module Group commit, generically: items submitted together are handed to one `write` call, and
 * each submitter waits for its own item's result. Batches are bounded in size and in number at
 * once; what arrives while every slot is busy forms the next batch, so batches grow with the load
 * and a lone item is written on the next turn of the event loop. The ingress (one insert per batch)
 * and the worker (one claim and one transaction per batch) both build on it.
 */

/** Tuning of a group commit. */
export interface GroupBatchOptions {
  /** Most items in one batch; 1 turns batching off. */
  maxBatchSize: number
  /**
   * Longest an item waits for others before its batch is written, in milliseconds. 0 = only those
   * that arrived in the same turn of the event loop, or while every batch slot was busy.
   */
  maxWaitMs: number
  /** Batches being written at once. */
  maxConcurrentBatches: number
}

/** One submitted item and how to answer its submitter. */
export interface BatchEntry<I, O> {
  item: I
  resolve(result: O): void
  reject(err: unknown): void
}

/**
 * Writes one batch. It settles every entry; should it throw, each entry not settled yet is
 * rejected with that error.
 */
export type BatchWriter<I, O> = (batch: BatchEntry<I, O>[]) => Promise<void>

/**
 * Collects concurrently submitted items into batches.
 *
 * @example
 * const batcher = new GroupBatcher<string, number>(async (batch) => { for (const e of batch) e.resolve(e.item.length) },
 *   { maxBatchSize: 100, maxWaitMs: 0, maxConcurrentBatches: 4 })
 * await batcher.submit('abc') // 3
 */
export class GroupBatcher<I, O> {
  private queue: BatchEntry<I, O>[] = []
  private writing = 0
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined

  constructor(
    private readonly write: BatchWriter<I, O>,
    private readonly options: GroupBatchOptions,
  ) {}

  /** Submits one item; settles with what the batch's writer answered for it. */
  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject })
      if (this.queue.length >= this.options.maxBatchSize) this.flush()
      else this.timer ??= this.options.maxWaitMs > 0 ? setTimeout(() => this.flush(), this.options.maxWaitMs) : setImmediate(() => this.flush())
    })
  }

  /**
   * Removes up to `max` waiting items, for the batch being written to take along: a writer that
   * had to wait for its turn writes what gathered meanwhile. Its batch's entries settle as usual.
   */
  takeQueued(max: number): BatchEntry<I, O>[] {
    return max > 0 ? this.queue.splice(0, max) : []
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
      void this.write(batch)
        .catch((err: unknown) => {
          for (const entry of batch) entry.reject(err)
        })
        .finally(() => {
          this.writing -= 1
          // Whatever gathered while every slot was busy has waited long enough.
          if (this.queue.length > 0) this.flush()
        })
    }
  }
}

/** @module The group commit on its own: how batches form, how many run at once, how failures reach submitters. */
import { describe, expect, it } from 'vitest'
import { type BatchEntry, GroupBatcher } from './group-batcher.ts'

/** A writer that records its batches and answers each item with its double, once released. */
function recordingWriter() {
  const batches: number[][] = []
  const releases: (() => void)[] = []
  let running = 0
  let mostAtOnce = 0
  const write = async (batch: BatchEntry<number, number>[]) => {
    batches.push(batch.map((e) => e.item))
    running += 1
    mostAtOnce = Math.max(mostAtOnce, running)
    await new Promise<void>((release) => releases.push(release))
    running -= 1
    for (const e of batch) e.resolve(e.item * 2)
  }
  return { batches, releases, write, mostAtOnce: () => mostAtOnce }
}

const tick = () => new Promise((r) => setImmediate(r))

describe('GroupBatcher', () => {
  it('writes items submitted in one turn together, and gathers those arriving meanwhile into the next batch', async () => {
    const w = recordingWriter()
    const batcher = new GroupBatcher(w.write, { maxBatchSize: 10, maxWaitMs: 0, maxConcurrentBatches: 1 })
    const first = [1, 2, 3].map((n) => batcher.submit(n))
    await tick()
    expect(w.batches).toEqual([[1, 2, 3]])
    // The only slot is busy: these wait and form one batch.
    const second = [4, 5].map((n) => batcher.submit(n))
    await tick()
    const third = batcher.submit(6)
    await tick()
    expect(w.batches).toHaveLength(1)
    w.releases.shift()!()
    expect(await Promise.all(first)).toEqual([2, 4, 6])
    await tick()
    expect(w.batches[1]).toEqual([4, 5, 6])
    w.releases.shift()!()
    expect(await Promise.all([...second, third])).toEqual([8, 10, 12])
    expect(w.mostAtOnce()).toBe(1)
  })

  it('bounds batch size and the number of batches written at once', async () => {
    const w = recordingWriter()
    const batcher = new GroupBatcher(w.write, { maxBatchSize: 4, maxWaitMs: 0, maxConcurrentBatches: 2 })
    const all = Array.from({ length: 11 }, (_, i) => batcher.submit(i))
    await tick()
    expect(w.batches).toEqual([[0, 1, 2, 3], [4, 5, 6, 7]])
    while (w.batches.length < 3 || w.releases.length > 0) {
      w.releases.shift()?.()
      await tick()
    }
    expect(await Promise.all(all)).toEqual(Array.from({ length: 11 }, (_, i) => i * 2))
    expect(w.batches.map((b) => b.length)).toEqual([4, 4, 3])
    expect(w.mostAtOnce()).toBe(2)
  })

  it('waits up to maxWaitMs for more items', async () => {
    const w = recordingWriter()
    const batcher = new GroupBatcher(w.write, { maxBatchSize: 10, maxWaitMs: 20, maxConcurrentBatches: 1 })
    const a = batcher.submit(1)
    await tick()
    const b = batcher.submit(2)
    expect(w.batches).toEqual([])
    await new Promise((r) => setTimeout(r, 40))
    expect(w.batches).toEqual([[1, 2]])
    w.releases.shift()!()
    expect(await Promise.all([a, b])).toEqual([2, 4])
  })

  it('rejects every entry the writer left unsettled with the error it threw, and keeps going', async () => {
    let calls = 0
    const batcher = new GroupBatcher<number, number>(async (batch) => {
      calls += 1
      if (calls === 1) {
        batch[0]!.resolve(0)
        throw new Error('database unavailable')
      }
      for (const e of batch) e.resolve(e.item)
    }, { maxBatchSize: 10, maxWaitMs: 0, maxConcurrentBatches: 1 })
    const results = await Promise.allSettled([1, 2, 3].map((n) => batcher.submit(n)))
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([0, 'database unavailable', 'database unavailable'])
    expect(await batcher.submit(7)).toBe(7)
  })

  it('lets a writer take the items that gathered while it waited, and their submitters get its answers', async () => {
    let batcher!: GroupBatcher<number, number>
    const written: number[][] = []
    let releaseFirst!: () => void
    const firstWaits = new Promise<void>((r) => (releaseFirst = r))
    batcher = new GroupBatcher<number, number>(async (batch) => {
      if (written.length === 0) {
        written.push([])
        await firstWaits
      }
      batch.push(...batcher.takeQueued(2))
      written.push(batch.map((e) => e.item))
      for (const e of batch) e.resolve(e.item * 10)
    }, { maxBatchSize: 10, maxWaitMs: 0, maxConcurrentBatches: 1 })
    const first = batcher.submit(1)
    await tick()
    const later = [2, 3, 4].map((n) => batcher.submit(n))
    releaseFirst()
    expect(await first).toBe(10)
    expect(await Promise.all(later)).toEqual([20, 30, 40])
    // The first batch took two of those that gathered; the last formed a batch of its own.
    expect(written).toEqual([[], [1, 2, 3], [4]])
  })
})

/**
 * @module A measured retention process: removes finished events past the 90-day window in the
 * batches, and with the pauses between them, that the scheduled pass uses, for a given time (the
 * pass itself runs until nothing is left).
 */
import { DEFAULT_RETENTION_OPTIONS } from '@hookline/core'
import { RetentionStore } from '@hookline/core/internal'
import { setTimeout } from 'node:timers/promises'
import pg from 'pg'
import { childConfig, serveParent } from '../support/serve-parent.ts'

/** Configuration of the pruner process. */
export interface PrunerConfig {
  databaseUrl: string
}

const config = childConfig<PrunerConfig>()
const pool = new pg.Pool({ connectionString: config.databaseUrl, max: 1 })
const store = new RetentionStore(pool)

serveParent(
  {},
  {
    /** Prunes batch after batch for `seconds` or until nothing is left; resolves to the rows removed. */
    pruneFor: async ({ seconds }: { seconds: number }) => {
      const until = performance.now() + seconds * 1000
      const { eventsMs, batchSize, batchPauseMs } = DEFAULT_RETENTION_OPTIONS
      let removed = 0
      while (performance.now() < until) {
        const { scanned, pruned } = await store.pruneEvents(eventsMs!, batchSize)
        removed += pruned
        if (scanned < batchSize) break
        await setTimeout(batchPauseMs)
      }
      return removed
    },
  },
  () => pool.end(),
)

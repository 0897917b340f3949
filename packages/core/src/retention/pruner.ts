/**
 * @module The pruner: one retention pass over the inbox and the audit log, in small batches, run
 * by the workers as a BullMQ job scheduler's job.
 */
import { setTimeout } from 'node:timers/promises'
import type { Logger } from 'pino'
import { z } from 'zod'
import type { HooklineMetrics } from '../metrics.ts'
import { type PruneBatch, RetentionStore } from '../store/retention.ts'
import type { SqlTarget } from '../store/sql-runner.ts'
import type { RetentionOptions } from './retention-options.ts'

/** zod schema of an admin prune request. */
export const pruneRequestSchema = z.object({ dryRun: z.boolean().default(false) }).strict()

/** What a pass removed (or, dry, would remove). */
export interface PruneResult {
  /** Events whose payload was removed. */
  payloads: number
  /** Events removed. */
  events: number
  /** Audit rows removed. */
  audit: number
  dryRun: boolean
}

/**
 * Applies the retention windows.
 *
 * @example
 * const { payloads, events } = await new Pruner(pool, 'hookline', options, metrics, logger).run()
 */
export class Pruner {
  private readonly store: RetentionStore

  constructor(
    db: SqlTarget,
    schema: string,
    private readonly options: RetentionOptions,
    private readonly metrics: HooklineMetrics,
    private readonly logger: Logger,
  ) {
    this.store = new RetentionStore(db, schema)
  }

  /** Whether any window is set (else there is nothing to schedule). */
  get enabled(): boolean {
    const { payloadsMs, eventsMs, auditMs } = this.options
    return payloadsMs !== null || eventsMs !== null || auditMs !== null
  }

  /** One pass: events past their window first (their payloads need no pruning), then payloads, then audit rows. */
  async run(options: { dryRun?: boolean } = {}): Promise<PruneResult> {
    const { payloadsMs, eventsMs, auditMs, batchSize, batchPauseMs } = this.options
    if (options.dryRun) return { ...(await this.store.countDue({ payloadsMs, eventsMs, auditMs })), dryRun: true }
    const all = async (window: number | null, batch: (ms: number, limit: number) => Promise<PruneBatch>): Promise<number> => {
      if (window === null) return 0
      let total = 0
      for (;;) {
        const { scanned, pruned } = await batch(window, batchSize)
        total += pruned
        if (scanned < batchSize) return total
        await setTimeout(batchPauseMs)
      }
    }
    const result: PruneResult = {
      events: await all(eventsMs, (ms, n) => this.store.pruneEvents(ms, n)),
      payloads: await all(payloadsMs, (ms, n) => this.store.prunePayloads(ms, n)),
      audit: await all(auditMs, (ms, n) => this.store.pruneAudit(ms, n)),
      dryRun: false,
    }
    this.metrics.pruned.inc({ what: 'events' }, result.events)
    this.metrics.pruned.inc({ what: 'payloads' }, result.payloads)
    this.metrics.pruned.inc({ what: 'audit' }, result.audit)
    if (result.events + result.payloads + result.audit > 0) this.logger.info(result, 'retention pass')
    return result
  }
}

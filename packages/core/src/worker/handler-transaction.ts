/**
 * @module The handlers' transaction: what one attempt at a batch of claimed events does inside
 * it, so that the handlers' writes commit together with the processed marks.
 */
import type { Logger } from 'pino'
import type { HandlerContext, HandlerMap, HooklineEvent, TransactionClient } from '../handler.ts'
import { resolveHandler } from '../handler.ts'
import type { HooklineMetrics } from '../metrics.ts'
import type { Attempts, ClaimedEvent } from '../store/attempts.ts'
import type { SqlClient } from '../store/sql-runner.ts'
import type { WorkerOptions } from './worker-options.ts'

/** How an event's attempt ended without a failure. */
export type Outcome = 'succeeded' | 'stale' | 'skipped'

/** What {@link processInTransaction} uses. */
export interface TransactionDeps {
  attempts: Attempts
  /** Client whose transaction the handlers run in (the application's own, or Hookline's). */
  handlerClient: SqlClient
  handlers: HandlerMap<never>
  options: WorkerOptions
  metrics: HooklineMetrics
  logger: Logger
}

/**
 * One transaction for `events`: locks their rows and entities, runs each handler on `ctx.tx`
 * (events of one entity one at a time in source-time order, different entities concurrently) and
 * writes the processed marks. Throws the first handler error, after every handler has settled.
 */
export async function processInTransaction(deps: TransactionDeps, events: readonly ClaimedEvent[]): Promise<Map<string, Outcome>> {
  const { attempts, options, metrics } = deps
  const timers = events.map((event) => metrics.processingDuration.startTimer({ provider: event.provider }))
  try {
    const outcomes = await deps.handlerClient.$transaction(
      async (tx: TransactionClient) => {
        const locked = await attempts.lockForProcessing(tx, events.map((event) => event.id))
        const outcomes = new Map<string, Outcome>()
        const discarded: ClaimedEvent[] = []
        const chains = new Map<string, ClaimedEvent[]>()
        for (const event of [...events].sort(bySourceTime)) {
          if (locked.get(event.id)?.status !== 'processing') {
            discarded.push(event)
            outcomes.set(event.id, 'skipped')
            continue
          }
          const key = event.entityKey === null ? `id\u0000${event.id}` : `${event.provider}\u0000${event.entityKey}`
          const chain = chains.get(key)
          if (chain) chain.push(event)
          else chains.set(key, [event])
        }
        const done: { event: ClaimedEvent; stale: boolean }[] = []
        const settled = await Promise.allSettled(
          [...chains.values()].map(async (chain) => {
            let newest = locked.get(chain[0]!.id)!.newestApplied
            for (const event of chain) {
              const stale = event.occurredAt !== null && newest !== null && event.occurredAt < newest
              if (!stale || options.stale === 'deliver') await runHandler(deps, tx, event, stale)
              if (!stale && event.occurredAt !== null) newest = event.occurredAt
              done.push({ event, stale })
              outcomes.set(event.id, stale ? 'stale' : 'succeeded')
            }
          }),
        )
        const failure = settled.find((result) => result.status === 'rejected')
        if (failure) throw failure.reason
        await attempts.discardAttempts(tx, discarded)
        await attempts.markProcessed(tx, done)
        return outcomes
      },
      { timeout: options.handlerTimeoutMs, maxWait: options.handlerTimeoutMs },
    )
    for (const event of events) {
      const outcome = outcomes.get(event.id)
      if (outcome === undefined || outcome === 'skipped') continue
      metrics.processed.inc({ provider: event.provider, outcome })
      metrics.endToEnd.observe({ provider: event.provider }, (Date.now() - event.receivedAt.getTime()) / 1000)
    }
    return outcomes
  } finally {
    for (const stop of timers) stop()
  }
}

async function runHandler(deps: TransactionDeps, tx: TransactionClient, event: ClaimedEvent, stale: boolean): Promise<void> {
  const { handlers, logger } = deps
  const handler = resolveHandler(handlers as HandlerMap<TransactionClient>, event.provider, event.type)
  if (!handler) return
  const log = logger.child({ eventId: event.id, provider: event.provider, type: event.type, attempt: event.attempt })
  const ctx: HandlerContext = {
    tx,
    attempt: event.attempt,
    stale,
    log,
    idempotencyKey: (step) => `hookline:${event.id}:g${event.generation}:${step}`,
  }
  await handler(publicEvent(event), ctx)
}

/** Oldest source time first; events without one first of all (they are never stale). */
function bySourceTime(a: ClaimedEvent, b: ClaimedEvent): number {
  return (a.occurredAt?.getTime() ?? 0) - (b.occurredAt?.getTime() ?? 0)
}

/** The event as a handler sees it (without the attempt's bookkeeping). */
export function publicEvent(event: ClaimedEvent): HooklineEvent {
  const { id, provider, eventKey, type, tenant, entityKey, occurredAt, source, payload, generation } = event
  return { id, provider, eventKey, type, tenant, entityKey, occurredAt, source, payload, generation }
}

/**
 * @module The handlers' transaction: what one attempt at a batch of claimed events does inside
 * it, so that the handlers' writes commit together with the processed marks.
 */
import type { Logger } from 'pino'
import type { HandlerContext, HandlerMap, HooklineEvent, TransactionClient } from '../handler.ts'
import { resolveHandler } from '../handler.ts'
import type { HooklineMetrics } from '../metrics.ts'
import type { Emit } from '../outbox/emit.ts'
import type { Attempts, ClaimedEvent, WakeUp } from '../store/attempts.ts'
import type { SqlClient } from '../store/sql-runner.ts'
import { type EntityEvent, entityTurns } from './entity-order.ts'
import { type AdapterLookup, providerFetches } from './provider-fetch.ts'
import type { WorkerOptions } from './worker-options.ts'

/**
 * How an event's attempt ended without a failure; `waiting`: it must follow an earlier event of
 * its entity that is not finished, and was put back without spending an attempt.
 */
export type Outcome = 'succeeded' | 'stale' | 'skipped' | 'waiting'

/** What {@link processInTransaction} uses. */
export interface TransactionDeps {
  attempts: Attempts
  /** Client whose transaction the handlers run in (the application's own, or Hookline's). */
  handlerClient: SqlClient
  handlers: HandlerMap<never>
  options: WorkerOptions
  metrics: HooklineMetrics
  logger: Logger
  /** The enabled adapters by provider name: `ctx.fetch()` and `ctx.fetchCurrent()` call them. */
  adapters: AdapterLookup
  /** Writes `ctx.emit()`'s events into the outbox, in the handler's transaction. */
  emit: Emit
}

/** What one transaction did: each event's outcome, and the waiting events it lets run. */
export interface TransactionResult {
  outcomes: Map<string, Outcome>
  wake: WakeUp[]
}

/**
 * One transaction for `events`: locks their rows and entities, runs each handler on `ctx.tx`
 * (events of one entity one at a time, in the order {@link entityTurns} gives; different entities
 * concurrently) and writes the processed marks. An event that must follow an unfinished event
 * outside the transaction waits instead (its attempt withdrawn), as does anything that must follow
 * it. Throws the first handler error, after every handler has settled; `failures`, when given,
 * gets each failed event's error. Once a handler has failed, the events not yet started are not
 * run: the rollback would undo them.
 */
export async function processInTransaction(deps: TransactionDeps, events: readonly ClaimedEvent[], failures = new Map<string, unknown>()): Promise<TransactionResult> {
  const { attempts, options, metrics } = deps
  const timers = events.map((event) => metrics.processingDuration.startTimer({ provider: event.provider }))
  try {
    const result = await deps.handlerClient.$transaction(
      async (tx: TransactionClient) => {
        const locked = await attempts.lockForProcessing(tx, events.map((event) => event.id))
        const outcomes = new Map<string, Outcome>()
        const discarded: ClaimedEvent[] = []
        const chains = new Map<string, EntityEvent<ClaimedEvent>[]>()
        for (const event of events) {
          const row = locked.get(event.id)
          if (row?.status !== 'processing') {
            discarded.push(event)
            outcomes.set(event.id, 'skipped')
            continue
          }
          const entry = { event, occurredAt: event.occurredAt, seq: row.seq, blockedUntil: row.blockedUntil }
          const key = event.entityKey === null ? `id\u0000${event.id}` : `${event.provider}\u0000${event.entityKey}`
          const chain = chains.get(key)
          if (chain) chain.push(entry)
          else chains.set(key, [entry])
        }
        const done: { event: ClaimedEvent; stale: boolean; skipped: boolean }[] = []
        const waiting: { event: ClaimedEvent; until: Date | null }[] = []
        const settled = await Promise.allSettled(
          [...chains.values()].map(async (chain) => {
            let newest = locked.get(chain[0]!.event.id)!.newestApplied
            for (const { event, wait, until } of entityTurns(chain)) {
              if (wait) {
                waiting.push({ event, until })
                outcomes.set(event.id, 'waiting')
                continue
              }
              if (failures.size > 0) return
              const stale = event.occurredAt !== null && newest !== null && event.occurredAt < newest
              const skipped = stale && options.stale === 'skip'
              if (!skipped) {
                try {
                  await runHandler(deps, tx, event, stale)
                } catch (err) {
                  failures.set(event.id, err)
                  throw err
                }
              }
              if (!stale && event.occurredAt !== null) newest = event.occurredAt
              done.push({ event, stale, skipped })
              outcomes.set(event.id, stale ? 'stale' : 'succeeded')
            }
          }),
        )
        if (failures.size > 0) throw failures.values().next().value
        const failure = settled.find((result) => result.status === 'rejected')
        if (failure) throw failure.reason
        await attempts.discardAttempts(tx, discarded)
        await attempts.deferAttempts(tx, waiting, options.lockDurationMs)
        return { outcomes, wake: await attempts.markProcessed(tx, done) }
      },
      { timeout: options.handlerTimeoutMs, maxWait: options.handlerTimeoutMs },
    )
    for (const event of events) {
      const outcome = result.outcomes.get(event.id)
      if (outcome === 'waiting') metrics.waited.inc({ provider: event.provider })
      if (outcome !== 'succeeded' && outcome !== 'stale') continue
      metrics.processed.inc({ provider: event.provider, outcome })
      metrics.endToEnd.observe({ provider: event.provider }, (Date.now() - event.receivedAt.getTime()) / 1000)
    }
    return result
  } finally {
    for (const stop of timers) stop()
  }
}

async function runHandler(deps: TransactionDeps, tx: TransactionClient, event: ClaimedEvent, stale: boolean): Promise<void> {
  const { handlers, logger } = deps
  const handler = resolveHandler(handlers as HandlerMap<TransactionClient>, event.provider, event.type)
  if (!handler) return
  const log = logger.child({ eventId: event.id, provider: event.provider, type: event.type, attempt: event.attempt })
  const handed = publicEvent(event)
  const ctx: HandlerContext = {
    tx,
    attempt: event.attempt,
    stale,
    log,
    idempotencyKey: (step) => `hookline:${event.id}:g${event.generation}:${step}`,
    emit: (emitted) => deps.emit(tx, emitted),
    ...providerFetches(deps.adapters, handed),
  }
  await handler(handed, ctx)
}

/** The event as a handler sees it (without the attempt's bookkeeping). */
export function publicEvent(event: ClaimedEvent): HooklineEvent {
  const { id, provider, eventKey, type, tenant, entityKey, occurredAt, source, payload, generation } = event
  return { id, provider, eventKey, type, tenant, entityKey, occurredAt, source, payload, generation }
}

/**
 * @module The one job for events just stored (a webhook commit's, a reconciled page's), and what
 * happens when Redis refuses it: the events are durable already, so the failure is counted, logged
 * once and handed to the sweeper at once.
 */
import type { Logger } from 'pino'
import type { Dispatcher } from './dispatcher.ts'
import type { Inbox } from '../store/inbox.ts'
import type { HooklineMetrics } from '../metrics.ts'

/** What {@link enqueueStored} uses. */
export interface EnqueueStoredDeps {
  dispatcher: Pick<Dispatcher, 'enqueueBatch'>
  inbox: Pick<Inbox, 'markDue'>
  metrics: Pick<HooklineMetrics, 'enqueueFailures'>
  logger: Logger
}

/**
 * Queues one job for `events`; never rejects. When the job cannot be added, counts every event in
 * `hookline_enqueue_failures_total` (by provider), logs one line with their ids and makes them due
 * at once, so that the sweeper's next pass dispatches them instead of waiting out its grace.
 *
 * @example
 * await enqueueStored(deps, [{ id, provider: 'stripe' }], 'webhook')
 */
export async function enqueueStored(deps: EnqueueStoredDeps, events: ReadonlyArray<{ id: string; provider: string }>, source: 'webhook' | 'reconcile' | 'outbox'): Promise<void> {
  if (events.length === 0) return
  const eventIds = events.map((e) => e.id)
  try {
    await deps.dispatcher.enqueueBatch(eventIds)
  } catch (err) {
    for (const { provider } of events) deps.metrics.enqueueFailures.inc({ provider })
    deps.logger.warn({ source, eventIds, err: (err as Error).message }, 'enqueue failed; the sweeper will dispatch the stored events')
    await deps.inbox.markDue(eventIds).catch(() => undefined)
  }
}

/**
 * @module Support's write side, one code path for the admin API, the CLI and the console: replay
 * one event, a list of ids or a filter (dry run first), and ignore an event with a note. Every
 * change is written to the audit log in the statement that makes it.
 */
import type { Logger } from 'pino'
import { z } from 'zod'
import { EventNotFoundError, EventStateError, InvalidRequestError } from '../errors.ts'
import type { Dispatcher } from '../queue/dispatcher.ts'
import { recordAudit } from '../store/audit-log.ts'
import { ReplayWrites } from '../store/replay-writes.ts'
import type { SqlTarget } from '../store/sql-runner.ts'
import { type EventFilter, eventFilterSchema, type EventStatus, storableText } from './event-filter.ts'

/** Throttling of bulk replays. */
export interface ReplaySettings {
  /**
   * Replayed events released to the workers per second by one bulk replay: event `i` of a bulk
   * replay is queued as a BullMQ delayed job due `i / ratePerSecond` seconds later, so a large
   * replay neither floods the workers nor the downstream APIs the handlers call, and live
   * webhooks keep flowing in between.
   * @defaultValue 50
   */
  ratePerSecond: number
  /**
   * Events changed per database statement of a bulk replay.
   * @defaultValue 500
   */
  batchSize: number
}

/** The defaults of {@link ReplaySettings}. */
export const DEFAULT_REPLAY_SETTINGS: Readonly<ReplaySettings> = { ratePerSecond: 50, batchSize: 500 }

/** Who asks, and why. */
export interface ActionContext {
  /** Name of the person or tool acting, written to the audit log. */
  actor: string
  /** Free-text reason, written to the audit log. */
  note?: string | undefined
}

/** Outcome of replaying one event. */
export interface ReplayOneResult {
  id: string
  /** True when the event was queued again. */
  enqueued: boolean
  /** Status after the request (`received` once queued). */
  status: EventStatus
  generation: number
  /** Why nothing was done, when `enqueued` is false. */
  reason?: string
}

/** Outcome of a bulk replay (or of its dry run). */
export interface ReplayManyResult {
  dryRun: boolean
  /** Events matching the filter, whatever their status. */
  matched: number
  /** Of those, how many this request may replay (see {@link Replayer.replay}). */
  replayable: number
  /** Events queued again (0 on a dry run). */
  enqueued: number
  /** Matched events by status, counted before any change. */
  byStatus: Partial<Record<EventStatus, number>>
}

const note = storableText(2000)

/** zod schema of `POST /events/:id/replay`. */
export const replayOneSchema = z.strictObject({
  force: z.boolean().default(false),
  note: note.optional(),
})

/** zod schema of `POST /replay`: the listing filters plus `dryRun`, `force`, `note` and an optional cap `limit`. */
export const replayManySchema = eventFilterSchema.extend({
  dryRun: z.boolean().default(false),
  force: z.boolean().default(false),
  note: note.optional(),
  limit: z.number().int().min(1).optional(),
})

/** zod schema of `POST /events/:id/ignore`: the note is required. */
export const ignoreSchema = z.strictObject({ note })

/** Options of a bulk replay. */
export type ReplayManyRequest = EventFilter & { dryRun: boolean; force: boolean; limit?: number | undefined }

/** What the replayer needs from the rest of Hookline. */
export interface ReplayerDeps {
  /** Hookline's `pg` pool. */
  db: SqlTarget
  /** The schema of Hookline's tables. */
  schema?: string | undefined
  dispatcher: Dispatcher
  logger: Logger
  /** The sweeper's grace: a replayed event Redis loses is re-dispatched this long after its slot. */
  graceMs: number
  settings: ReplaySettings
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** Statuses from which support may ignore an event: it has not been processed and is not running. */
const IGNORABLE: EventStatus[] = ['received', 'failed', 'dead']

/**
 * Replays and ignores events on support's request. Idempotency is unchanged by a replay: the
 * event keeps its inbox row, and the worker's claim and processed mark decide what runs.
 *
 * @example
 * await hookline.replayer.replayEvent(id, { force: false }, { actor: 'ana' })
 * const preview = await hookline.replayer.replay({ tenant: 'acct_1', status: ['dead'], dryRun: true, force: false }, { actor: 'ana' })
 */
export class Replayer {
  private readonly writes: ReplayWrites

  constructor(private readonly deps: ReplayerDeps) {
    this.writes = new ReplayWrites(deps.db, deps.schema)
  }

  /**
   * Replays one event: `dead`, `failed` and `ignored` run again with a fresh attempt budget in
   * the same generation (their handler never committed, so retries keep the same idempotency
   * keys); `processed` and `skipped_stale` run again only with `force`, as the next generation.
   * Either way the attempt numbers continue. `received` and `processing` events are already on
   * their way and are left alone.
   */
  async replayEvent(id: string, options: { force: boolean }, context: ActionContext): Promise<ReplayOneResult> {
    if (!UUID.test(id)) throw new EventNotFoundError(id)
    const replayable = replayableStatuses({ force: options.force, byId: true })
    const [changed] = await this.changeBatch([id], replayable, { force: options.force }, context, 0)
    if (changed) {
      await this.dispatch([changed.id], 0)
      return { id, enqueued: true, status: 'received', generation: changed.generation }
    }
    const row = await this.writes.status(id)
    if (!row) throw new EventNotFoundError(id)
    const reason = row.payloadPruned
      ? 'its payload was removed by retention: there is nothing to run it with'
      : row.status === 'processed' || row.status === 'skipped_stale'
        ? `already ${row.status === 'processed' ? 'processed' : 'finished as skipped_stale'}; replay with force to run it again as a new generation`
        : `already ${row.status === 'received' ? 'queued' : 'running'}`
    return { id, enqueued: false, status: row.status, generation: row.generation, reason }
  }

  /**
   * Replays every event matching the filter that may be replayed: `dead` and `failed`; also
   * `processed` and `skipped_stale` with `force`; also `ignored` when the filter names ids or the `ignored` status
   * (so a broad replay never undoes support's decisions). Oldest first, in batches, released at
   * {@link ReplaySettings.ratePerSecond}. With `dryRun`, only counts.
   */
  async replay(request: ReplayManyRequest, context: ActionContext): Promise<ReplayManyResult> {
    const { dryRun, force, limit, ...filter } = request
    if (force && !Object.values(filter).some((v) => v !== undefined)) {
      throw new InvalidRequestError('a forced replay needs a filter: it would run every processed event again')
    }
    const replayable = replayableStatuses({
      force,
      byId: filter.ids !== undefined || (filter.status?.includes('ignored') ?? false),
    })
    const byStatus = await this.writes.countByStatus(filter)
    const matched = sum(Object.values(byStatus))
    const eligible = sum(replayable.map((s) => byStatus[s] ?? 0))
    const cap = Math.min(eligible, limit ?? Number.POSITIVE_INFINITY)
    if (dryRun) return { dryRun, matched, replayable: cap, enqueued: 0, byStatus }

    let enqueued = 0
    let after: { receivedAt: Date; id: string } | undefined
    while (enqueued < cap) {
      const candidates = await this.writes.candidates(filter, replayable, after, Math.min(this.deps.settings.batchSize, cap - enqueued))
      const last = candidates.at(-1)
      if (!last) break
      after = last
      const changed = await this.changeBatch(candidates.map((c) => c.id), replayable, { force, bulk: true }, context, enqueued)
      await this.dispatch(changed.map((c) => c.id), enqueued)
      enqueued += changed.length
    }
    await recordAudit(this.deps.db, {
      actor: context.actor,
      action: 'replay.bulk',
      filter: { ...filter, force, ...(limit === undefined ? {} : { limit }) },
      count: enqueued,
      note: context.note,
    }, this.deps.schema)
    this.deps.logger.info({ actor: context.actor, matched, enqueued, force }, 'bulk replay')
    return { dryRun, matched, replayable: cap, enqueued, byStatus }
  }

  /**
   * Closes an event support decided not to process (`received`, `failed` or `dead`) as `ignored`
   * with a required note. Throws {@link EventNotFoundError} or {@link EventStateError}.
   */
  async ignore(id: string, context: ActionContext & { note: string }): Promise<{ id: string; status: 'ignored'; note: string }> {
    if (!UUID.test(id)) throw new EventNotFoundError(id)
    if (await this.writes.ignore(id, IGNORABLE, { actor: context.actor, note: context.note })) return { id, status: 'ignored', note: context.note }
    const status = (await this.writes.status(id))?.status
    if (status === undefined) throw new EventNotFoundError(id)
    throw new EventStateError(`cannot ignore an event that is ${status} (only ${IGNORABLE.join(', ')})`, status)
  }

  /** Moves the events among `ids` still replayable back to `received`, audited (see {@link ReplayWrites.requeue}). */
  private async changeBatch(
    ids: string[],
    replayable: EventStatus[],
    options: { force: boolean; bulk?: boolean },
    context: ActionContext,
    firstSlot: number,
  ): Promise<{ id: string; generation: number }[]> {
    // Due for the sweeper only after the batch's last slot: Redis losing the delayed jobs must
    // not let the sweeper release them all at once.
    const dueInMs = slotDelayMs(firstSlot + ids.length - 1, this.deps.settings.ratePerSecond) + this.deps.graceMs
    return this.writes.requeue(ids, replayable, dueInMs, { actor: context.actor, note: context.note ?? null }, options)
  }

  /** Queues the replayed events at their slots; a Redis failure leaves them to the sweeper. */
  private async dispatch(ids: string[], firstSlot: number): Promise<void> {
    if (ids.length === 0) return
    const delays = ids.map((_, i) => slotDelayMs(firstSlot + i, this.deps.settings.ratePerSecond))
    try {
      await this.deps.dispatcher.requeue(ids, delays)
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message, events: ids.length }, 'replay enqueue failed; the sweeper will dispatch the replayed events')
    }
  }
}

/** Statuses a replay request may move back to `received`. */
function replayableStatuses(options: { force: boolean; byId: boolean }): EventStatus[] {
  const statuses: EventStatus[] = ['dead', 'failed']
  if (options.force) statuses.push('processed', 'skipped_stale')
  if (options.byId) statuses.push('ignored')
  return statuses
}

/** Delay of the `slot`-th event of a replay: slot / rate seconds, so the release rate is bounded. */
function slotDelayMs(slot: number, ratePerSecond: number): number {
  return Math.floor((slot * 1000) / ratePerSecond)
}

function sum(values: readonly (number | undefined)[]): number {
  return values.reduce<number>((total, n) => total + (n ?? 0), 0)
}

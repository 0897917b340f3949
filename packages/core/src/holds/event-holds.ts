/**
 * @module Which claimed events must not run now, and why: a pause of their provider (and type), or
 * the open circuit breaker of their route. Held events are put back without spending an attempt.
 */
import type { Logger } from 'pino'
import { declaredDownstreams, handlerKeyOf } from '../handler.ts'
import { type Pause, pauseCovers, type Pauses } from '../store/pauses.ts'
import type { CircuitBreakers } from './circuit-breakers.ts'

/**
 * How often a paused event is looked at again should its resume's wake-up be lost (a resume
 * queues the events it releases itself).
 */
export const PAUSE_RECHECK_MS = 3_600_000

/** How long a worker trusts that nothing is paused before it asks Postgres again. */
export const NO_PAUSE_CACHE_MS = 1000

/** How long a count of held events is reused: every process's scrape within it shares one. */
export const HELD_COUNT_CACHE_MS = 5000

/** Most paused events one count reads (a scrape's cost is bounded; the gauge tops out there). */
export const HELD_COUNT_LIMIT = 100_000

/** Events waiting now for one reason, of one provider. */
export interface HeldCount {
  provider: string
  reason: 'breaker' | 'paused'
  count: number
}

/** Why an event waits without running: the answer's `held` in an event's detail. */
export interface HeldReason {
  reason: 'breaker' | 'paused'
  /** When the breaker's cool-down ends. */
  until?: Date
  /** When the pause began. */
  since?: Date
  /** The breaker's route, or the pause's scope. */
  route?: string
}

/** A claimed event's verdict: held by `reason` until `until`. */
export interface Hold {
  reason: 'breaker' | 'paused'
  until: Date
  /** The breaker's route (breaker holds). */
  route?: string
}

/**
 * Decides holds for batches of events.
 *
 * @example
 * const holds = await eventHolds.check(claimed, 30_000) // Map<id, Hold>
 */
export class EventHolds {
  private noPausesUntil = 0
  private heldCount: { at: number; value: Promise<HeldCount[]> } | undefined

  constructor(
    private readonly pauses: Pauses,
    private readonly breakers: CircuitBreakers,
    private readonly handlers: Readonly<Record<string, unknown>>,
    private readonly logger: Logger,
  ) {}

  /** The route (handler key) of an event; undefined for one without a handler (it only gets recorded). */
  routeOf(event: { provider: string; type: string }): string | undefined {
    return handlerKeyOf(this.handlers, event.provider, event.type)
  }

  /** The downstreams the handler of `route` declares (its `downstream` option). */
  downstreamsOf(route: string): readonly string[] {
    return declaredDownstreams(this.handlers, route)
  }

  /** Forgets a "nothing is paused" answer: this process just paused something. */
  pausesChanged(): void {
    this.noPausesUntil = 0
  }

  /**
   * The pauses in force. Every batch asks, so that none is missed: only a "nothing is paused" answer
   * is kept for {@link NO_PAUSE_CACHE_MS}, so that a pause made by another process may take that
   * long to reach a busy worker, while a resume takes effect at once (a paused answer is never
   * reused).
   */
  private async currentPauses(): Promise<Pause[]> {
    if (performance.now() < this.noPausesUntil) return []
    const pauses = await this.pauses.list()
    if (pauses.length === 0) this.noPausesUntil = performance.now() + NO_PAUSE_CACHE_MS
    return pauses
  }

  /**
   * The holds of `events`: paused ones first (a pause needs no probe), then the breakers' verdict
   * on the rest. Should Redis not answer, the breakers count as closed (their events run and retry
   * as without them); a pause is read from Postgres and always holds.
   */
  async check(events: readonly { id: string; provider: string; type: string }[], probeLeaseMs: number): Promise<Map<string, Hold>> {
    const holds = new Map<string, Hold>()
    if (events.length === 0) return holds
    const pauses = await this.currentPauses()
    const routed: { id: string; route: string; downstreams: readonly string[] }[] = []
    for (const event of events) {
      if (pauses.some((pause) => pauseCovers(pause, event.provider, event.type))) {
        holds.set(event.id, { reason: 'paused', until: new Date(Date.now() + PAUSE_RECHECK_MS) })
        continue
      }
      const route = this.routeOf(event)
      if (route !== undefined) routed.push({ id: event.id, route, downstreams: this.downstreamsOf(route) })
    }
    for (const [id, hold] of await this.checkBreakers(routed, probeLeaseMs)) holds.set(id, hold)
    return holds
  }

  /**
   * The breakers' holds only (see {@link check}): for an event about to run again moments after
   * its claim was checked, when a breaker may have opened meanwhile.
   */
  async breakerHolds(events: readonly { id: string; provider: string; type: string }[], probeLeaseMs: number): Promise<Map<string, Hold>> {
    const routed = events.flatMap((event) => {
      const route = this.routeOf(event)
      return route === undefined ? [] : [{ id: event.id, route, downstreams: this.downstreamsOf(route) }]
    })
    return this.checkBreakers(routed, probeLeaseMs)
  }

  private async checkBreakers(routed: readonly { id: string; route: string; downstreams: readonly string[] }[], probeLeaseMs: number): Promise<Map<string, Hold>> {
    const holds = new Map<string, Hold>()
    try {
      for (const [id, hold] of await this.breakers.check(routed, probeLeaseMs)) holds.set(id, { reason: 'breaker', until: hold.until, route: hold.route })
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'circuit breakers unreadable; events run as if they were closed')
    }
    return holds
  }

  /**
   * The events waiting now because of a pause (counted in Postgres, at most
   * {@link HELD_COUNT_LIMIT}) or a breaker that is not closed (counted in Redis as they are held;
   * unreadable breakers count as closed), by provider; reused for {@link HELD_COUNT_CACHE_MS}.
   */
  heldNow(): Promise<HeldCount[]> {
    const cached = this.heldCount
    if (cached && performance.now() - cached.at < HELD_COUNT_CACHE_MS) return cached.value
    const value = this.countHeld()
    const entry = { at: performance.now(), value }
    this.heldCount = entry
    value.catch(() => {
      if (this.heldCount === entry) this.heldCount = undefined
    })
    return value
  }

  private async countHeld(): Promise<HeldCount[]> {
    const [paused, breakers] = await Promise.all([this.pauses.countHeld(HELD_COUNT_LIMIT), this.breakers.heldCounts().catch(() => [])])
    const byBreakers = new Map<string, number>()
    for (const { provider, count } of breakers) byBreakers.set(provider, (byBreakers.get(provider) ?? 0) + count)
    return [
      ...paused.map(({ provider, count }) => ({ provider, reason: 'paused' as const, count })),
      ...[...byBreakers].map(([provider, count]) => ({ provider, reason: 'breaker' as const, count })),
    ]
  }

  /** Why an unfinished event would be held now (for its detail); undefined when it would run. */
  async reasonFor(event: { provider: string; type: string; status: string }): Promise<HeldReason | undefined> {
    if (!['received', 'failed', 'processing'].includes(event.status)) return undefined
    const pause = (await this.pauses.list()).find((p: Pause) => pauseCovers(p, event.provider, event.type))
    if (pause) return { reason: 'paused', since: pause.since, route: pause.type ? `${pause.provider}:${pause.type}` : pause.provider }
    const route = this.routeOf(event)
    if (route === undefined) return undefined
    try {
      const keys = await this.breakers.keysOf(route, this.downstreamsOf(route))
      const open = (await this.breakers.list()).find((b) => keys.includes(b.route) && b.state !== 'closed')
      if (open) return { reason: 'breaker', route: open.route, ...(open.openUntil ? { until: open.openUntil } : {}) }
    } catch {
      // Unreadable breakers count as closed (see check).
    }
    return undefined
  }
}

/**
 * @module The order in which the events of one entity run inside one transaction, and which of
 * them must wait for an event of their entity outside it.
 */

/** An event of the entity, as its transaction locked it. */
export interface EntityEvent<E> {
  event: E
  /** Source time; null when the provider gives none. */
  occurredAt: Date | null
  /** Arrival number (null: none known, counted as earliest). */
  seq: bigint | null
  /** When the event outside the transaction it must follow is due; null when there is none. */
  blockedUntil: Date | null
}

/** An event's turn: run it, or let it wait (until about `until`, when what it follows is due). */
export interface EntityTurn<E> {
  event: E
  wait: boolean
  until: Date | null
}

/**
 * The entity's events in the order to run them. An event follows every event stored before it
 * that is not newer by source time: ties and absent times keep arrival order, and an older event
 * stored later may still go first (which spares it being stale). Among the events free to run,
 * the oldest source time goes first (no time counts as oldest), then the earliest stored. An event
 * waits when it follows one outside the transaction (`blockedUntil`) or one that waits.
 */
export function entityTurns<E>(events: readonly EntityEvent<E>[]): EntityTurn<E>[] {
  const follows = (later: EntityEvent<E>, earlier: EntityEvent<E>): boolean =>
    (earlier.seq ?? -1n) < (later.seq ?? -1n) && !(earlier.occurredAt !== null && later.occurredAt !== null && earlier.occurredAt > later.occurredAt)
  const turns = new Map<EntityEvent<E>, EntityTurn<E>>()
  const remaining = new Set(events)
  while (remaining.size > 0) {
    let next: EntityEvent<E> | undefined
    for (const candidate of remaining) {
      if ([...remaining].some((other) => other !== candidate && follows(candidate, other))) continue
      if (next === undefined || before(candidate, next)) next = candidate
    }
    // The earliest stored of the remaining events follows none of them: there is always a next.
    remaining.delete(next!)
    let until = next!.blockedUntil
    let wait = until !== null
    for (const [earlier, turn] of turns) {
      if (!turn.wait || !follows(next!, earlier)) continue
      wait = true
      if (turn.until !== null && (until === null || turn.until > until)) until = turn.until
    }
    turns.set(next!, { event: next!.event, wait, until })
  }
  return [...turns.values()]
}

/** Oldest source time first (none counts as oldest), then earliest stored. */
function before<E>(a: EntityEvent<E>, b: EntityEvent<E>): boolean {
  const ta = a.occurredAt?.getTime() ?? -Infinity
  const tb = b.occurredAt?.getTime() ?? -Infinity
  if (ta !== tb) return ta < tb
  return (a.seq ?? -1n) < (b.seq ?? -1n)
}

import { describe, expect, it } from 'vitest'
import { type EntityEvent, entityTurns } from './entity-order.ts'

const at = (s: number | null): Date | null => (s === null ? null : new Date(s * 1000))
const ev = (name: string, seq: number, time: number | null, blockedUntil: Date | null = null): EntityEvent<string> => ({ event: name, seq: BigInt(seq), occurredAt: at(time), blockedUntil })
const order = (events: EntityEvent<string>[]) => entityTurns(events).map((t) => (t.wait ? `${t.event}…` : t.event))

describe('entityTurns', () => {
  it('keeps arrival order for tied and absent source times, whatever order they come in', () => {
    expect(order([ev('c', 3, 10), ev('a', 1, 10), ev('b', 2, 10)])).toEqual(['a', 'b', 'c'])
    expect(order([ev('b', 2, null), ev('c', 3, null), ev('a', 1, null)])).toEqual(['a', 'b', 'c'])
  })

  it('lets an older event stored later go first, so that it is not stale', () => {
    expect(order([ev('new', 1, 20), ev('old', 2, 10)])).toEqual(['old', 'new'])
  })

  it('an event stored later with a newer time still follows the earlier ones', () => {
    expect(order([ev('c', 3, 30), ev('a', 1, 10), ev('b', 2, 20)])).toEqual(['a', 'b', 'c'])
  })

  it('an event that must follow one outside waits, and so does everything that follows it', () => {
    const due = new Date('2026-12-07T10:00:00Z')
    const turns = entityTurns([ev('a', 1, 10, due), ev('b', 2, 10), ev('older', 3, 5)])
    expect(turns.map((t) => [t.event, t.wait, t.until])).toEqual([
      ['older', false, null],
      ['a', true, due],
      ['b', true, due],
    ])
  })
})

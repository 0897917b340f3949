/**
 * @module An inbox position as an opaque cursor: an event's `(receivedAt, id)`, shared by the
 * listing's pages (which walk back from it) and the event stream (which goes on after it).
 */
import { InvalidRequestError } from '../errors.ts'
import { isFilterTime } from './event-filter.ts'

/** A position in the inbox's order of arrival: an event's time of arrival and its id. */
export interface EventPosition {
  receivedAt: Date
  id: string
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/**
 * The cursor of `position`, opaque to clients.
 *
 * @example
 * encodeCursor({ receivedAt: new Date(), id: event.id }) // 'MjAyNi0xMi0wN1Qx…'
 */
export function encodeCursor(position: EventPosition): string {
  return Buffer.from(`${position.receivedAt.toISOString()}|${position.id}`).toString('base64url')
}

/** The position of a cursor made by {@link encodeCursor}; throws {@link InvalidRequestError} for anything else. */
export function decodeCursor(cursor: string, field = 'cursor'): EventPosition {
  const [iso, id] = Buffer.from(cursor, 'base64url').toString().split('|')
  const receivedAt = new Date(iso ?? '')
  if (!id || !UUID.test(id) || !isFilterTime(receivedAt.getTime())) {
    throw new InvalidRequestError(`${field}: not a cursor returned by this API`)
  }
  return { receivedAt, id }
}

/**
 * @module Emitting into the transactional outbox: what an event is, its checks, and the channel
 * that wakes the relays.
 */
import { createHash } from 'node:crypto'
import { DEFAULT_SCHEMA } from '@hookline/db'
import { OutboxEventError } from '../errors.ts'
import type { HooklineMetrics } from '../metrics.ts'
import { insertOutboxEvent } from '../store/outbox.ts'
import type { SqlTarget } from '../store/sql-runner.ts'

/** An event as the application emits it. */
export interface EmitInput {
  /** The event type; handlers match it as `<outbox provider>:<type>`. */
  type: string
  /** The entity the event is about: events of one key are handled in emit order. */
  key?: string | null | undefined
  /** The customer or account, as support searches by it. */
  tenant?: string | null | undefined
  /** Any JSON value. */
  payload: unknown
  /**
   * The event's identity and dedupe key; a second emit of an id is a no-op.
   * @defaultValue a UUID v7
   */
  id?: string | undefined
}

/** Shortest time between two emits of one process that notify the relays. */
export const NOTIFY_EVERY_MS = 10

/** Writes an event into the outbox in the transaction `tx` runs; resolves to the event's id. */
export type Emit = (tx: SqlTarget, event: EmitInput) => Promise<string>

/** The `NOTIFY` channel of the outbox in `schema` (one per schema, within Postgres' 63-byte names). */
export function outboxChannel(schema: string): string {
  return schema === DEFAULT_SCHEMA ? 'hookline_outbox' : `hookline_outbox_${createHash('sha1').update(schema).digest('hex').slice(0, 16)}`
}

/**
 * The emit function of the outbox in `schema`: checks the event, writes it, counts it.
 *
 * @example
 * const emit = outboxEmitter('hookline', metrics)
 * await prisma.$transaction(async (tx) => { …; await emit(tx, { type: 'order.paid', key: orderId, payload }) })
 */
export function outboxEmitter(schema: string, metrics: Pick<HooklineMetrics, 'outboxEmitted'>): Emit {
  const channel = outboxChannel(schema)
  let notifiedAt = -Infinity
  return async (tx, event) => {
    checkEvent(event)
    // A notification costs every notifying commit a turn at one lock: a busy process sends one per
    // NOTIFY_EVERY_MS, and relays that moved rows look again soon without one (see OutboxRelay).
    const now = performance.now()
    const notify = now - notifiedAt >= NOTIFY_EVERY_MS
    if (notify) notifiedAt = now
    const id = await insertOutboxEvent(tx, schema, notify ? channel : null, event)
    metrics.outboxEmitted.inc()
    return id
  }
}

function checkEvent(event: EmitInput): void {
  if (typeof event !== 'object' || event === null) throw new OutboxEventError('emit expects an object { type, key?, payload, id? }')
  if (typeof event.type !== 'string' || event.type.length === 0) throw new OutboxEventError('an emitted event needs a non-empty string type')
  for (const field of ['id', 'key', 'tenant'] as const) {
    const value = event[field]
    if (value !== undefined && value !== null && (typeof value !== 'string' || value.length === 0)) {
      throw new OutboxEventError(`an emitted event's ${field} must be a non-empty string when given`)
    }
  }
}

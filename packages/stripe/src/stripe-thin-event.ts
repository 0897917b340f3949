/**
 * @module Stripe's thin events (event destinations, `object: "v2.core.event"`): a signed reference
 * to what changed, without a snapshot of it. Their identity, read alike from a webhook's
 * notification and from an event listed by `GET /v2/core/events`.
 */
import { MalformedPayloadError, type ParsedEvent } from '@hookline/core'
import type Stripe from 'stripe'
import { z } from 'zod'

/** A verified thin event notification as the SDK's `parseEventNotification` builds it. */
export type StripeThinEvent = Stripe.V2.Core.EventNotification

/** The `object` of a thin event, which tells it from a snapshot event (`"event"`). */
export const THIN_EVENT_OBJECT = 'v2.core.event'

// Only the fields the identity is read from. `context` is read apart: the SDK turns it into a
// StripeContext in a notification, and leaves it a string in a listed event.
const thinEventSchema = z.object({
  id: z.string().min(1),
  object: z.literal(THIN_EVENT_OBJECT),
  type: z.string().min(1),
  created: z.string().refine((value) => Number.isFinite(Date.parse(value)), 'must be an ISO time'),
  related_object: z.object({ id: z.string().min(1), type: z.string().min(1), url: z.string().min(1) }).nullish(),
})

/** True when the verified `body` is a thin event: the SDK's `constructEvent` refuses those. */
export function isThinEventBody(body: string): boolean {
  try {
    const parsed = JSON.parse(body) as unknown
    return typeof parsed === 'object' && parsed !== null && (parsed as { object?: unknown }).object === THIN_EVENT_OBJECT
  } catch {
    return false
  }
}

/**
 * The identity of a thin event: key the event id (`evt_…`, as for snapshot events), type as sent
 * (`v2.core.account.updated`, `v1.billing.meter.error_report_triggered`…), tenant the `context`
 * (the Stripe account), entity `related_object.id` (unprefixed, like a snapshot's `data.object.id`,
 * so both kinds of event about one object are ordered together), time `created`. The payload is
 * the event as plain JSON (no SDK methods, `context` a string).
 *
 * Throws {@link MalformedPayloadError} on a body of another shape.
 */
export function parseThinEvent(event: unknown): ParsedEvent {
  const result = thinEventSchema.safeParse(event)
  if (!result.success) {
    const issue = result.error.issues[0]
    throw new MalformedPayloadError(`not a Stripe thin event: ${issue?.path.join('.') || 'body'} ${issue?.message ?? ''}`.trim())
  }
  const thin = result.data
  return {
    kind: 'event',
    eventKey: thin.id,
    type: thin.type,
    tenant: contextOf(event),
    entityKey: thin.related_object?.id ?? null,
    occurredAt: new Date(thin.created),
    payload: plainThinEvent(event as Record<string, unknown>),
  }
}

/** The event's `context` as a string (a StripeContext prints as one), or null for the platform's own. */
export function contextOf(event: unknown): string | null {
  const context = (event as { context?: unknown }).context
  if (context === undefined || context === null) return null
  const text = String(context)
  return text.length > 0 ? text : null
}

/** The event without the functions the SDK attaches (`fetchEvent`, `fetchRelatedObject`). */
function plainThinEvent(event: Record<string, unknown>): Record<string, unknown> {
  const plain: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(event)) {
    if (typeof value !== 'function' && key !== 'lastResponse') plain[key] = key === 'context' ? contextOf(event) : value
  }
  return plain
}

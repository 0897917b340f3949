/**
 * @module `ctx.fetch()` and `ctx.fetchCurrent()` for Stripe: the whole thin event and the current
 * state of an event's object, through the adapter's official client.
 */
import { type HooklineEvent, PermanentError, providerApiError } from '@hookline/core'
import Stripe from 'stripe'
import { THIN_EVENT_OBJECT } from './stripe-thin-event.ts'

type Retrieve = (client: Stripe, id: string, options: Stripe.RequestOptions) => Promise<unknown>

/**
 * How to retrieve a snapshot event's `data.object`, by its `object` value: the objects most events
 * are about. Any other gets a PermanentError naming it (retrying cannot teach us its endpoint).
 */
const RETRIEVE_BY_OBJECT: Record<string, Retrieve> = {
  account: (c, id, o) => c.accounts.retrieve(id, {}, o),
  charge: (c, id, o) => c.charges.retrieve(id, {}, o),
  'checkout.session': (c, id, o) => c.checkout.sessions.retrieve(id, {}, o),
  customer: (c, id, o) => c.customers.retrieve(id, {}, o),
  dispute: (c, id, o) => c.disputes.retrieve(id, {}, o),
  invoice: (c, id, o) => c.invoices.retrieve(id, {}, o),
  payment_intent: (c, id, o) => c.paymentIntents.retrieve(id, {}, o),
  payment_method: (c, id, o) => c.paymentMethods.retrieve(id, {}, o),
  payout: (c, id, o) => c.payouts.retrieve(id, {}, o),
  price: (c, id, o) => c.prices.retrieve(id, {}, o),
  product: (c, id, o) => c.products.retrieve(id, {}, o),
  refund: (c, id, o) => c.refunds.retrieve(id, {}, o),
  setup_intent: (c, id, o) => c.setupIntents.retrieve(id, {}, o),
  subscription: (c, id, o) => c.subscriptions.retrieve(id, {}, o),
}

/** The `fetchEvent` and `fetchCurrent` of a Stripe adapter whose API client is `client` (undefined: none configured). */
export function stripeFetchers(client: Stripe | undefined): { fetchEvent(event: HooklineEvent): Promise<unknown>; fetchCurrent(event: HooklineEvent): Promise<unknown> } {
  const needClient = (what: string): Stripe => {
    if (client) return client
    throw new PermanentError(`${what} needs the Stripe adapter's API client: configure its \`api\` (service: STRIPE_API_KEY)`)
  }
  return {
    async fetchEvent(event) {
      if (!isThin(event.payload)) return event.payload
      const notification = needClient('ctx.fetch() of a thin event').parseEventNotificationWithoutVerification(JSON.stringify(event.payload))
      return call(`Stripe GET /v2/core/events/${event.eventKey}`, () => notification.fetchEvent())
    },
    async fetchCurrent(event) {
      const payload = event.payload
      if (isThin(payload)) {
        if (!payload.related_object?.url) throw new PermanentError(`Stripe thin event ${event.eventKey} (${event.type}) has no related object to re-read`)
        // Typed only on the notifications of types that have a related object; the SDK attaches it to all.
        const notification = needClient('ctx.fetchCurrent()').parseEventNotificationWithoutVerification(JSON.stringify(payload)) as unknown as { fetchRelatedObject(): Promise<unknown> }
        return call(`Stripe GET ${payload.related_object.url}`, () => notification.fetchRelatedObject())
      }
      const object = (payload as { data?: { object?: { object?: unknown; id?: unknown } } } | null)?.data?.object
      const [type, id] = [object?.object, object?.id]
      if (typeof type !== 'string' || typeof id !== 'string') {
        throw new PermanentError(`Stripe event ${event.eventKey} (${event.type}) names no data.object to re-read`)
      }
      const retrieve = RETRIEVE_BY_OBJECT[type]
      if (!retrieve) {
        throw new PermanentError(`ctx.fetchCurrent() cannot re-read Stripe "${type}" objects (it knows ${Object.keys(RETRIEVE_BY_OBJECT).join(', ')}): retrieve ${id} in the handler`)
      }
      const stripe = needClient('ctx.fetchCurrent()')
      return call(`Stripe ${type} ${id}`, () => retrieve(stripe, id, event.tenant ? { stripeAccount: event.tenant } : {}))
    },
  }
}

function isThin(payload: unknown): payload is { related_object?: { url?: string } | null } {
  return typeof payload === 'object' && payload !== null && (payload as { object?: unknown }).object === THIN_EVENT_OBJECT
}

/** Runs one request; a failure becomes core's error for its HTTP status (see `providerApiError`). */
async function call(what: string, request: () => Promise<unknown>): Promise<unknown> {
  try {
    return await request()
  } catch (err) {
    if (!(err instanceof Stripe.errors.StripeError)) throw err
    const retryAfter = (err.headers as Record<string, string> | undefined)?.['retry-after']
    throw providerApiError(what, err.statusCode, retryAfter, err)
  }
}

/**
 * @module The Stripe adapter against the shared adapter conformance suite, with deliveries signed
 * by the SDK's own `generateTestHeaderString`.
 */
import { type ConformanceRequest, describeAdapterConformance, signedStripeDelivery, stripeEvent, stripeThinEvent } from '@hookline/testkit'
import { stripeAdapter } from './stripe-adapter.ts'

const TOLERANCE = 300
const CREATED = 1_795_000_000

/** Signs `event` (or the literal `body`) with `secret` at `at`, as Stripe would deliver it. */
function delivery(event: unknown, secret: string, at: Date, body?: string): ConformanceRequest {
  return signedStripeDelivery(event, { secret, timestamp: Math.floor(at.getTime() / 1000), ...(body === undefined ? {} : { body }) })
}

const invoicePaid = stripeEvent({ id: 'evt_conf_invoice', type: 'invoice.paid', created: CREATED, object: { id: 'in_conf_1' } })
const subscriptionUpdated = stripeEvent({
  id: 'evt_conf_sub',
  type: 'customer.subscription.updated',
  created: CREATED + 1,
  account: 'acct_conf_connect',
  object: { id: 'sub_conf_1', object: 'subscription', status: 'past_due' },
})
const accountUpdated = stripeThinEvent({
  id: 'evt_conf_thin',
  type: 'v2.core.account.updated',
  created: new Date(CREATED * 1000 + 250),
  context: 'acct_conf_connect',
  relatedObject: { id: 'acct_conf_related', type: 'v2.core.account', url: '/v2/core/accounts/acct_conf_related' },
})
const chargeRefunded = stripeEvent({ id: 'evt_conf_charge', type: 'charge.refunded', created: CREATED + 2, object: { id: 'ch_conf_1', object: 'charge', amount_refunded: 4200 } })

describeAdapterConformance({
  createAdapter: (secrets) => stripeAdapter({ secrets, toleranceSeconds: TOLERANCE }),
  timestampToleranceSeconds: TOLERANCE,
  signatureHeaders: ['stripe-signature'],
  fixtures: [
    {
      name: 'invoice.paid',
      request: (secret, at) => delivery(invoicePaid, secret, at),
      expect: { kind: 'event', eventKey: 'evt_conf_invoice', type: 'invoice.paid', tenant: null, entityKey: 'in_conf_1', occurredAt: new Date(CREATED * 1000) },
    },
    {
      name: 'customer.subscription.updated on a Connect account',
      request: (secret, at) => delivery(subscriptionUpdated, secret, at),
      expect: { kind: 'event', eventKey: 'evt_conf_sub', type: 'customer.subscription.updated', tenant: 'acct_conf_connect', entityKey: 'sub_conf_1' },
    },
    {
      name: 'charge.refunded (compact JSON)',
      request: (secret, at) => delivery(chargeRefunded, secret, at, JSON.stringify(chargeRefunded)),
      expect: { kind: 'event', eventKey: 'evt_conf_charge', type: 'charge.refunded', entityKey: 'ch_conf_1' },
    },
    {
      name: 'a thin event (v2.core.account.updated) on a Connect account',
      request: (secret, at) => delivery(accountUpdated, secret, at),
      expect: {
        kind: 'event',
        eventKey: 'evt_conf_thin',
        type: 'v2.core.account.updated',
        tenant: 'acct_conf_connect',
        entityKey: 'acct_conf_related',
        occurredAt: new Date(CREATED * 1000 + 250),
      },
    },
  ],
  malformed: [
    { name: 'truncated JSON', request: (secret, at) => delivery(undefined, secret, at, '{"id": "evt_broken", ') },
    { name: 'JSON that is not an event', request: (secret, at) => delivery({ hello: 'world' }, secret, at) },
    { name: 'an event without an id', request: (secret, at) => delivery({ ...invoicePaid, id: undefined }, secret, at) },
    { name: 'a thin event without an id', request: (secret, at) => delivery({ ...accountUpdated, id: undefined }, secret, at) },
    { name: 'a thin event whose context is not a string', request: (secret, at) => delivery({ ...accountUpdated, context: 42 }, secret, at) },
    { name: 'a thin event without a time', request: (secret, at) => delivery({ ...accountUpdated, created: 'yesterday' }, secret, at) },
    { name: 'JSON null', request: (secret, at) => delivery(undefined, secret, at, 'null') },
  ],
  // Stripe retries re-sign the same event body with a new timestamp.
  redelivery: {
    first: (secret, at) => delivery(invoicePaid, secret, at),
    second: (secret, at) => delivery(invoicePaid, secret, at),
  },
})

/**
 * @module Hookline's Stripe adapter (test signing lives in `@hookline/testkit`).
 *
 * @example
 * import { stripeAdapter } from '@hookline/stripe'
 * createHookline({ …, adapters: [stripeAdapter({ secrets: ['whsec_…'] })] })
 */
export { DEFAULT_STRIPE_ADAPTER_OPTIONS, stripeAdapter, type StripeAdapterOptions, type VerifiedStripeEvent } from './stripe-adapter.ts'
export type { StripeThinEvent } from './stripe-thin-event.ts'
export { stripeClient, type StripeApiOptions } from './stripe-reconcile.ts'

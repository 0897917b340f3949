/**
 * @module Hookline's Stripe adapter and its test signer.
 *
 * @example
 * import { stripeAdapter } from '@hookline/stripe'
 * createHookline({ …, adapters: [stripeAdapter({ secrets: ['whsec_…'] })] })
 */
export { stripeAdapter, type StripeAdapterOptions, type VerifiedStripeEvent } from './stripe-adapter.ts'
export { signStripeEvent, type SignedStripeRequest } from './signer.ts'

/**
 * @module Hookline's adapter for any sender following the Standard Webhooks spec (test signing
 * lives in `@hookline/testkit`).
 *
 * @example
 * import { standardWebhooksAdapter } from '@hookline/standard-webhooks'
 * createHookline({ …, adapters: [standardWebhooksAdapter({ name: 'resend', secrets: ['whsec_…'] })] })
 */
export {
  standardWebhooksAdapter,
  type StandardWebhookExtractor,
  type StandardWebhooksAdapterOptions,
  type VerifiedStandardWebhook,
} from './standard-webhooks-adapter.ts'

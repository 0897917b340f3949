/**
 * @module Hookline's Express binding: the webhook ingress and the operations endpoints.
 *
 * @example
 * import { webhookRouter, opsRouter } from '@hookline/express'
 * app.use(webhookRouter(hookline))
 * app.use(opsRouter(hookline))
 */
export { opsRouter } from './ops-router.ts'
export { webhookRouter, type WebhookRouterOptions } from './webhook-router.ts'

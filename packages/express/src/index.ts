/**
 * @module Hookline's Express binding: the webhook ingress, the operations endpoints and the admin API.
 *
 * @example
 * import { webhookRouter, opsRouter, adminRouter } from '@hookline/express'
 * app.use(webhookRouter(hookline))
 * app.use(opsRouter(hookline))
 * app.use(adminRouter(hookline, { token: process.env.HOOKLINE_ADMIN_TOKEN! }))
 */
export { ACTOR_HEADER, adminRouter, DEFAULT_ADMIN_ROUTER_OPTIONS, type AdminRole, type AdminRouterOptions, type AdminToken } from './admin-router.ts'
export { opsRouter } from './ops-router.ts'
export { webhookRouter, type WebhookRouterOptions } from './webhook-router.ts'

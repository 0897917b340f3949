/**
 * @module Hookline's Slack adapter (test signing and a fake Web API live in `@hookline/testkit`).
 *
 * @example
 * import { slackAdapter } from '@hookline/slack'
 * createHookline({ …, adapters: [slackAdapter({ secrets: ['8f742231b10e8888abcd99yyyzzz85a5'] })] })
 */
export { SlackReconcileError } from './errors.ts'
export { slackAdapter, type SlackAdapterOptions, type VerifiedSlackRequest } from './slack-adapter.ts'
export type { SlackApiOptions } from './slack-reconcile.ts'

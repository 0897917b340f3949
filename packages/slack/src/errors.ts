/**
 * @module Typed errors of the Slack adapter (verification and parsing raise core's own errors).
 */
import { HooklineError } from '@hookline/core'

/**
 * A Slack reconciliation cannot go on: a Web API call failed for good (after the client's own
 * retries), returned an unexpected shape, or the bot token belongs to another tenant than the one
 * asked for. Fails the run; its message names the call and the channel, for support.
 */
export class SlackReconcileError extends HooklineError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('hookline.slack_reconcile_failed', message, options)
    this.name = 'SlackReconcileError'
  }
}

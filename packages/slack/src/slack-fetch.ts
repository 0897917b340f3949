/**
 * @module `ctx.fetchCurrent()` for Slack: re-reads the message an event is about with
 * `conversations.history` (the one message at its `ts`), through the adapter's `WebClient`.
 */
import { type HooklineEvent, PermanentError, providerApiError, RetryAfterError } from '@hookline/core'
import { ErrorCode, WebClient } from '@slack/web-api'
import type { SlackApiOptions } from './slack-reconcile.ts'

/** Slack's answers that mean the message cannot be read, now or later: Slack's 404s. */
const GONE = new Set(['channel_not_found', 'message_not_found', 'thread_not_found', 'is_archived'])

/**
 * The `fetchCurrent` of a Slack adapter: the message named by the event's entity (`channel:ts`, as
 * messages, their edits, reactions and interactions on them are keyed), as
 * `conversations.history` lists it now. Without `api`, a PermanentError says what to configure.
 */
export function slackFetchCurrent(api: SlackApiOptions | undefined): (event: HooklineEvent) => Promise<unknown> {
  const client = api
    ? new WebClient(api.token, {
        ...(api.apiUrl ? { slackApiUrl: api.apiUrl } : {}),
        retryConfig: { retries: api.retries ?? 2 },
        // The worker waits out a rate limit (RetryAfterError) instead of the client sleeping on it.
        rejectRateLimitedCalls: true,
        timeout: api.timeoutMs ?? 30_000,
      })
    : undefined
  return async (event) => {
    if (!client) throw new PermanentError('ctx.fetchCurrent() needs the Slack adapter\'s Web API client: configure its `api` (service: SLACK_BOT_TOKEN)')
    const message = /^([CGD][A-Z0-9]+):(\d+\.\d+)(?::|$)/.exec(event.entityKey ?? '')
    if (!message) throw new PermanentError(`Slack event ${event.type} is not about a message: nothing to re-read`)
    const [, channel, ts] = message as unknown as [string, string, string]
    const what = `Slack conversations.history of ${channel} at ${ts}`
    let page: Awaited<ReturnType<WebClient['conversations']['history']>>
    try {
      page = await client.conversations.history({ channel, oldest: ts, latest: ts, inclusive: true, limit: 1 })
    } catch (err) {
      throw failure(what, err)
    }
    const found = page.messages?.find((m) => m.ts === ts)
    if (!found) throw new PermanentError(`${what}: the message is gone (deleted, or out of the token's reach)`)
    return found
  }
}

/** A Web API failure as core's errors: by Slack's error code, else by HTTP status. */
function failure(what: string, err: unknown): unknown {
  const { code, retryAfter, data, statusCode, headers } = err as {
    code?: unknown; retryAfter?: unknown; data?: { error?: unknown }; statusCode?: number; headers?: Record<string, unknown>
  }
  if (code === ErrorCode.RateLimitedError) {
    const waitMs = typeof retryAfter === 'number' && retryAfter >= 0 ? retryAfter * 1000 : 1000
    return new RetryAfterError(`${what}: rate limited`, waitMs, { cause: err })
  }
  if (code === ErrorCode.PlatformError) {
    const slackError = String(data?.error)
    return GONE.has(slackError) ? new PermanentError(`${what}: ${slackError}`, { cause: err }) : providerApiError(`${what} (${slackError})`, undefined, undefined, err)
  }
  if (code === ErrorCode.HTTPError) {
    const header = headers?.['retry-after']
    return providerApiError(what, statusCode, header === undefined ? undefined : String(header), err)
  }
  return err
}

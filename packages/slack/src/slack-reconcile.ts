/**
 * @module Reconciliation for Slack, which keeps no event log: pages `conversations.history` of the
 * configured channels over the run's window (through the official `@slack/web-api` client) and
 * turns each posted message no inbox event covers into a synthesized `message` event.
 */
import { type ParsedEvent, type ReconcileContext, type ReconcilePage, RetryAfterError } from '@hookline/core'
import { ErrorCode, WebClient } from '@slack/web-api'
import { z } from 'zod'
import { SlackReconcileError } from './errors.ts'
import { isPostedMessage, messageType, postedMessageKey, slackTime, tenantOf } from './slack-message.ts'

/**
 * How to reach Slack's Web API for reconciliation.
 *
 * A run covers every channel in `channels`, one after the other, for the installation the token
 * belongs to: the scheduled run is recorded under tenant `null` (the token's installation), and an
 * on-demand run may name that installation's tenant (the workspace id, or the enterprise id of an
 * org-wide install) but no other. The messages it ingests carry that tenant, as webhooks do.
 *
 * Only what `conversations.history` lists is recovered: posted messages at the top level of a
 * channel (thread replies are listed by `conversations.replies`, which is not walked), and not
 * edits, deletions or reactions, which leave no trace there.
 */
export interface SlackApiOptions {
  /**
   * Bot token (`xoxb-…`) of the installation, with `channels:history` (and `groups:history`,
   * `im:history`, `mpim:history` for other conversation kinds), a member of every channel.
   */
  token: string
  /**
   * Web API base URL, e.g. a local fake in tests (`http://127.0.0.1:PORT/api/`).
   * @defaultValue 'https://slack.com/api/'
   */
  apiUrl?: string
  /**
   * Conversation ids (`C…`, `G…`, `D…`) whose history is reconciled. Give only conversations the
   * app receives `message.*` events for: any other message would be "recovered" although no
   * webhook was ever going to deliver it.
   */
  channels: readonly string[]
  /**
   * Messages per `conversations.history` page (Slack allows up to 999 and advises at most 200).
   * @defaultValue 200
   */
  pageSize?: number
  /**
   * Retries of the client itself on network errors and 5xx. A rate limit is never retried by the
   * client: the reconcile engine waits for as long as Slack's `Retry-After` asks, then resumes.
   * @defaultValue 2
   */
  retries?: number
  /**
   * Longest wait for one Web API response, in milliseconds (the client's own default is to wait
   * forever, which would leave a run hanging on a stuck connection until its timeout).
   * @defaultValue 30_000
   */
  timeoutMs?: number
}

/** Where a run resumes: a channel, and Slack's `next_cursor` within it (null: its first page). */
interface Position {
  channel: string
  cursor: string | null
}

/** The installation a bot token belongs to, as `auth.test` reports it. */
interface Installation {
  tenant: string | null
  teamId: string | null
  enterpriseId: string | null
  orgWide: boolean
  appId: string | null
  userId: string | null
}

const messageSchema = z.object({
  ts: z.string().regex(/^\d+\.\d+$/, 'must be a Slack timestamp'),
  type: z.string().optional(),
  subtype: z.string().optional(),
  hidden: z.boolean().optional(),
}).loose()

const historySchema = z.object({
  messages: z.array(messageSchema).default([]),
  has_more: z.boolean().optional(),
  response_metadata: z.object({ next_cursor: z.string().optional() }).loose().optional(),
}).loose()

type ListedMessage = z.infer<typeof messageSchema>

/**
 * The `reconcile` of a Slack adapter configured with `options`: one auth.test per run (the tenant
 * of the messages), then the pages of every channel in turn.
 *
 * Each page's posted messages are keyed as the webhook path keys them ({@link postedMessageKey});
 * those the inbox holds are counted as known (`skippedKnown`) rather than returned, the others
 * become events. The resume cursor is JSON `{ channel, cursor }`: the next page's channel and
 * Slack's `next_cursor` in it, or `cursor: null` for the start of the next channel.
 */
export function slackMessagePages(options: SlackApiOptions): (ctx: ReconcileContext) => AsyncGenerator<ReconcilePage> {
  const channels = [...options.channels]
  const limit = options.pageSize ?? 200
  return async function* slackReconcile(ctx) {
    const client = slackClient(options, ctx.signal)
    const installation = await whoAmI(client)
    if (ctx.tenant !== null && ctx.tenant !== installation.tenant) {
      throw new SlackReconcileError(`the Slack bot token belongs to ${installation.tenant ?? 'an unknown installation'}, not to tenant ${ctx.tenant}`)
    }
    // Inclusive: a message posted exactly on an edge of the window is in it.
    const window = { oldest: slackTs(ctx.since), latest: slackTs(ctx.until), inclusive: true, limit }
    const start = resumePosition(ctx, channels)
    const first = channels.indexOf(start.channel)
    for (let i = first; i < channels.length; i++) {
      const channel = channels[i]!
      let cursor = i === first ? start.cursor : null
      do {
        const page = await history(client, { channel, ...window, ...(cursor ? { cursor } : {}) })
        const posted = page.messages.filter(isPostedMessage)
        const known = await ctx.knownKeys(posted.map((m) => postedMessageKey(channel, m.ts)))
        const missing = posted.filter((m) => !known.has(postedMessageKey(channel, m.ts)))
        cursor = page.has_more ? page.response_metadata?.next_cursor || null : null
        if (page.has_more && !cursor) ctx.warn(`conversations.history of ${channel} said it had more without a next_cursor: the rest of its window was not scanned`)
        const next = channels[i + 1]
        const position: Position | null = cursor ? { channel, cursor } : next ? { channel: next, cursor: null } : null
        yield {
          events: missing.map((m) => synthesizedMessage(channel, m, installation)),
          skippedKnown: posted.length - missing.length,
          cursor: position && JSON.stringify(position),
        }
      } while (cursor)
    }
  }
}

/**
 * The official client for one run: its requests end with the run (timeout) and after
 * `timeoutMs`; a rate limit is rejected at once instead of slept on, so the engine can wait it
 * out (and record it) between pages.
 */
function slackClient(options: SlackApiOptions, runSignal: AbortSignal): WebClient {
  return new WebClient(options.token, {
    ...(options.apiUrl ? { slackApiUrl: options.apiUrl } : {}),
    retryConfig: { retries: options.retries ?? 2 },
    rejectRateLimitedCalls: true,
    timeout: options.timeoutMs ?? 30_000,
    fetch: (url, init) => fetch(url, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, runSignal]) : runSignal }),
  })
}

async function whoAmI(client: WebClient): Promise<Installation> {
  const auth = await call('auth.test', () => client.auth.test())
  const orgWide = auth.is_enterprise_install === true
  return {
    // The same lookup the webhook path makes from a delivery's authorizations.
    tenant: tenantOf(orgWide, auth.enterprise_id, auth.team_id, auth.enterprise_id),
    teamId: auth.team_id || null,
    enterpriseId: auth.enterprise_id || null,
    orgWide,
    appId: auth.app_id || null,
    userId: auth.user_id || null,
  }
}

async function history(client: WebClient, args: { channel: string; oldest: string; latest: string; inclusive: boolean; limit: number; cursor?: string }) {
  const result = await call(`conversations.history of ${args.channel}`, () => client.conversations.history(args))
  const parsed = historySchema.safeParse(result)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new SlackReconcileError(`conversations.history of ${args.channel} returned an unexpected page: ${issue?.path.join('.') || 'body'} ${issue?.message ?? ''}`.trim())
  }
  return parsed.data
}

/**
 * Runs one Web API call: a rate limit becomes core's RetryAfterError (the engine waits, then
 * resumes from the last page), any other failure a {@link SlackReconcileError} naming the call.
 */
async function call<T>(what: string, request: () => Promise<T>): Promise<T> {
  try {
    return await request()
  } catch (err) {
    // By code, as the SDK recommends: checks survive duplicate copies of the package.
    const code = (err as { code?: unknown }).code
    if (code === ErrorCode.RateLimitedError) {
      const seconds = (err as { retryAfter?: unknown }).retryAfter
      const waitMs = typeof seconds === 'number' && seconds >= 0 ? seconds * 1000 : 1000
      throw new RetryAfterError(`Slack rate limit on ${what}: retry after ${waitMs / 1000} s`, waitMs, { cause: err })
    }
    throw new SlackReconcileError(`${what} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
  }
}

/**
 * Where to start: after the last page an interrupted run completed, else the first channel. A
 * cursor for a channel no longer configured starts over; the inbox skips what is already in.
 */
function resumePosition(ctx: ReconcileContext, channels: readonly string[]): Position {
  const first: Position = { channel: channels[0]!, cursor: null }
  if (ctx.resumeFrom === null) return first
  let saved: Partial<Position> | undefined
  try {
    saved = JSON.parse(ctx.resumeFrom) as Partial<Position>
  } catch {
    saved = undefined
  }
  if (typeof saved?.channel === 'string' && channels.includes(saved.channel)) {
    return { channel: saved.channel, cursor: typeof saved.cursor === 'string' ? saved.cursor : null }
  }
  ctx.warn(`the interrupted run stopped at a position this configuration does not have (${ctx.resumeFrom}): started over from the first channel`)
  return first
}

/**
 * A listed message as the Events API would have delivered it: an `event_callback` envelope
 * around the message (with its channel and `event_ts`), so that a handler reads the same shape
 * whichever path came first. It has no `event_id` (Slack never assigned one it could be told) and
 * is marked `synthesized: true`. Key, type, entity and time are those of the webhook path.
 */
function synthesizedMessage(channel: string, message: ListedMessage, installation: Installation): ParsedEvent {
  const ts = message.ts
  return {
    kind: 'event',
    eventKey: postedMessageKey(channel, ts),
    type: messageType(message.subtype),
    tenant: installation.tenant,
    entityKey: `${channel}:${ts}`,
    occurredAt: slackTime(ts),
    payload: {
      type: 'event_callback',
      synthesized: true,
      team_id: installation.teamId,
      ...(installation.enterpriseId ? { enterprise_id: installation.enterpriseId } : {}),
      ...(installation.appId ? { api_app_id: installation.appId } : {}),
      event: { ...message, channel, event_ts: ts },
      event_time: Math.floor(Number(ts)),
      authorizations: [{
        enterprise_id: installation.enterpriseId,
        team_id: installation.teamId,
        user_id: installation.userId,
        is_bot: true,
        is_enterprise_install: installation.orgWide,
      }],
      is_enterprise_install: installation.orgWide,
    },
  }
}

/** A Date as a Slack timestamp (`seconds.micros`). */
function slackTs(at: Date): string {
  return (at.getTime() / 1000).toFixed(6)
}

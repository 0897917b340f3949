/**
 * @module Realistic Slack request bodies for tests — Events API envelopes, interactivity payloads,
 * slash commands — and requests signed the way Slack signs them.
 */
import { createHmac, randomBytes, randomInt, randomUUID } from 'node:crypto'
import type { SignedRequest } from './stripe-fixtures.ts'
import { SLACK_TEST_SECRET } from './secrets.ts'

/** The workspace of every fixture unless told otherwise. */
export const SLACK_TEST_TEAM_ID = 'T0HKLN7E5'
/** The app of every fixture (`api_app_id`). */
export const SLACK_TEST_APP_ID = 'A0HKLNAPP1'

const BOT_USER_ID = 'U0HKLNBOT1'
const VERIFICATION_TOKEN = 'Jhj5dZrVaK7ZwHHjRyZWjbDl'

/** Options shared by the Events API builders. */
export interface SlackEventOptions {
  /** `event_id`. @defaultValue a fresh `Ev…` id */
  eventId?: string
  /** `event_time`, in Unix seconds. @defaultValue now */
  eventTime?: number
  /** `team_id`, and the authorization's. @defaultValue {@link SLACK_TEST_TEAM_ID} */
  teamId?: string
  /** Channel of message-like events. @defaultValue 'C0HKLNGEN1' */
  channel?: string
  /** Author of message-like events, or the reacting user. @defaultValue 'U0HKLNUSR1' */
  user?: string
}

/**
 * The `url_verification` handshake Slack posts when the Events API request URL is saved.
 *
 * @example
 * const body = JSON.stringify(slackUrlVerification({ challenge: 'abc' }))
 */
export function slackUrlVerification(options: { challenge?: string } = {}): Record<string, unknown> {
  return {
    token: VERIFICATION_TOKEN,
    challenge: options.challenge ?? randomBytes(24).toString('base64url'),
    type: 'url_verification',
  }
}

/**
 * An `event_callback` envelope around `event`, with the fields Slack adds (authorizations,
 * event context, …).
 *
 * @example
 * slackEventCallback({ type: 'message', subtype: 'message_deleted', channel: 'C1', deleted_ts: '1.2', ts: '3.4', event_ts: '3.4' })
 */
export function slackEventCallback(event: Record<string, unknown>, options: SlackEventOptions = {}): Record<string, unknown> {
  const teamId = options.teamId ?? SLACK_TEST_TEAM_ID
  return {
    token: VERIFICATION_TOKEN,
    team_id: teamId,
    context_team_id: teamId,
    context_enterprise_id: null,
    api_app_id: SLACK_TEST_APP_ID,
    event,
    type: 'event_callback',
    event_id: options.eventId ?? `Ev${randomId(9)}`,
    event_time: options.eventTime ?? Math.floor(Date.now() / 1000),
    authorizations: [{ enterprise_id: null, team_id: teamId, user_id: BOT_USER_ID, is_bot: true, is_enterprise_install: false }],
    is_ext_shared_channel: false,
    event_context: `4-${Buffer.from(JSON.stringify({ et: event.type, tid: teamId, aid: SLACK_TEST_APP_ID })).toString('base64url')}`,
  }
}

/**
 * A user's `message` in a channel, in its envelope.
 *
 * @example
 * const envelope = slackMessageEvent({ text: 'hello', ts: '1700000000.000100' })
 */
export function slackMessageEvent(options: SlackEventOptions & { text?: string; ts?: string } = {}): Record<string, unknown> {
  const ts = options.ts ?? slackTs(options.eventTime)
  const text = options.text ?? 'Deploy finished: all green'
  return slackEventCallback(
    {
      client_msg_id: randomUUID(),
      type: 'message',
      text,
      user: options.user ?? 'U0HKLNUSR1',
      ts,
      blocks: richText(text),
      team: options.teamId ?? SLACK_TEST_TEAM_ID,
      channel: options.channel ?? 'C0HKLNGEN1',
      event_ts: ts,
      channel_type: 'channel',
    },
    { ...options, eventTime: options.eventTime ?? Math.floor(Number(ts)) },
  )
}

/**
 * An `app_mention` of the test app's bot user, in its envelope.
 *
 * @example
 * const envelope = slackAppMentionEvent({ text: 'status please' })
 */
export function slackAppMentionEvent(options: SlackEventOptions & { text?: string; ts?: string } = {}): Record<string, unknown> {
  const ts = options.ts ?? slackTs(options.eventTime)
  const text = `<@${BOT_USER_ID}> ${options.text ?? 'what is the status of the deploy?'}`
  return slackEventCallback(
    {
      client_msg_id: randomUUID(),
      type: 'app_mention',
      text,
      user: options.user ?? 'U0HKLNUSR1',
      ts,
      blocks: richText(text),
      team: options.teamId ?? SLACK_TEST_TEAM_ID,
      channel: options.channel ?? 'C0HKLNGEN1',
      event_ts: ts,
    },
    { ...options, eventTime: options.eventTime ?? Math.floor(Number(ts)) },
  )
}

/**
 * A `reaction_added` on a message (`itemTs`), in its envelope.
 *
 * @example
 * const envelope = slackReactionAddedEvent({ itemTs: '1700000000.000100', reaction: 'eyes' })
 */
export function slackReactionAddedEvent(options: SlackEventOptions & { itemTs?: string; reaction?: string } = {}): Record<string, unknown> {
  const eventTs = slackTs(options.eventTime)
  return slackEventCallback(
    {
      type: 'reaction_added',
      user: options.user ?? 'U0HKLNUSR2',
      reaction: options.reaction ?? 'white_check_mark',
      item: { type: 'message', channel: options.channel ?? 'C0HKLNGEN1', ts: options.itemTs ?? slackTs() },
      item_user: 'U0HKLNUSR1',
      event_ts: eventTs,
    },
    { ...options, eventTime: options.eventTime ?? Math.floor(Number(eventTs)) },
  )
}

/** Options shared by the interactivity and slash command builders. */
export interface SlackInteractionOptions {
  /** `trigger_id`. @defaultValue a fresh one */
  triggerId?: string
  /** The workspace. @defaultValue {@link SLACK_TEST_TEAM_ID} */
  teamId?: string
  /** The acting user. @defaultValue 'U0HKLNUSR1' */
  user?: string
}

/**
 * A `block_actions` payload: a button clicked on a message (`messageTs` in `channel`).
 *
 * @example
 * const body = slackInteractivityBody(slackBlockActionsPayload({ actionId: 'approve' }))
 */
export function slackBlockActionsPayload(
  options: SlackInteractionOptions & { channel?: string; messageTs?: string; actionId?: string; value?: string } = {},
): Record<string, unknown> {
  const teamId = options.teamId ?? SLACK_TEST_TEAM_ID
  const channel = options.channel ?? 'C0HKLNGEN1'
  const messageTs = options.messageTs ?? slackTs()
  const actionId = options.actionId ?? 'approve_deploy'
  const user = options.user ?? 'U0HKLNUSR1'
  return {
    type: 'block_actions',
    user: { id: user, username: 'ada', name: 'ada', team_id: teamId },
    api_app_id: SLACK_TEST_APP_ID,
    token: VERIFICATION_TOKEN,
    container: { type: 'message', message_ts: messageTs, channel_id: channel, is_ephemeral: false },
    trigger_id: options.triggerId ?? triggerId(),
    team: { id: teamId, domain: 'hookline-test' },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: channel, name: 'deploys' },
    message: {
      user: BOT_USER_ID,
      type: 'message',
      ts: messageTs,
      bot_id: 'B0HKLNBOT1',
      app_id: SLACK_TEST_APP_ID,
      text: 'Deploy #4521 is waiting for approval',
      team: teamId,
      blocks: [
        { type: 'section', block_id: 'summary', text: { type: 'mrkdwn', text: 'Deploy *#4521* is waiting for approval', verbatim: false } },
        {
          type: 'actions',
          block_id: 'decision',
          elements: [{ type: 'button', action_id: actionId, text: { type: 'plain_text', text: 'Approve', emoji: true }, style: 'primary', value: options.value ?? 'deploy-4521' }],
        },
      ],
    },
    state: { values: {} },
    response_url: `https://hooks.slack.com/actions/${teamId}/${randomInt(1e12)}/${randomId(24)}`,
    actions: [
      {
        action_id: actionId,
        block_id: 'decision',
        text: { type: 'plain_text', text: 'Approve', emoji: true },
        value: options.value ?? 'deploy-4521',
        style: 'primary',
        type: 'button',
        action_ts: slackTs(),
      },
    ],
  }
}

/**
 * A `view_submission` payload: a modal (`viewId`) submitted with one text input.
 *
 * @example
 * const body = slackInteractivityBody(slackViewSubmissionPayload({ viewId: 'V0123' }))
 */
export function slackViewSubmissionPayload(options: SlackInteractionOptions & { viewId?: string; reason?: string } = {}): Record<string, unknown> {
  const teamId = options.teamId ?? SLACK_TEST_TEAM_ID
  const viewId = options.viewId ?? `V${randomId(10)}`
  return {
    type: 'view_submission',
    team: { id: teamId, domain: 'hookline-test' },
    user: { id: options.user ?? 'U0HKLNUSR1', username: 'ada', name: 'ada', team_id: teamId },
    api_app_id: SLACK_TEST_APP_ID,
    token: VERIFICATION_TOKEN,
    trigger_id: options.triggerId ?? triggerId(),
    view: {
      id: viewId,
      team_id: teamId,
      type: 'modal',
      blocks: [
        {
          type: 'input',
          block_id: 'reason',
          label: { type: 'plain_text', text: 'Why roll back?', emoji: true },
          optional: false,
          dispatch_action: false,
          element: { type: 'plain_text_input', action_id: 'reason_input', multiline: true, dispatch_action_config: { trigger_actions_on: ['on_enter_pressed'] } },
        },
      ],
      private_metadata: '{"deploy":4521}',
      callback_id: 'rollback_modal',
      state: { values: { reason: { reason_input: { type: 'plain_text_input', value: options.reason ?? 'Error rate above 2 % après le déploiement 🚨' } } } },
      hash: `${Math.floor(Date.now() / 1000)}.${randomId(8)}`,
      title: { type: 'plain_text', text: 'Roll back', emoji: true },
      clear_on_close: false,
      notify_on_close: false,
      close: { type: 'plain_text', text: 'Cancel', emoji: true },
      submit: { type: 'plain_text', text: 'Roll back', emoji: true },
      previous_view_id: null,
      root_view_id: viewId,
      app_id: SLACK_TEST_APP_ID,
      external_id: '',
      app_installed_team_id: teamId,
      bot_id: 'B0HKLNBOT1',
    },
    response_urls: [],
    is_enterprise_install: false,
    enterprise: null,
  }
}

/**
 * The form fields of a slash command (`/deploy` unless told otherwise).
 *
 * @example
 * const body = slackCommandBody(slackSlashCommand({ command: '/deploy', text: 'api --canary' }))
 */
export function slackSlashCommand(options: SlackInteractionOptions & { command?: string; text?: string; channel?: string } = {}): Record<string, string> {
  const teamId = options.teamId ?? SLACK_TEST_TEAM_ID
  return {
    token: VERIFICATION_TOKEN,
    team_id: teamId,
    team_domain: 'hookline-test',
    channel_id: options.channel ?? 'C0HKLNGEN1',
    channel_name: 'deploys',
    user_id: options.user ?? 'U0HKLNUSR1',
    user_name: 'ada',
    command: options.command ?? '/deploy',
    text: options.text ?? 'api --env=prod & notify @oncall',
    api_app_id: SLACK_TEST_APP_ID,
    is_enterprise_install: 'false',
    response_url: `https://hooks.slack.com/commands/${teamId}/${randomInt(1e12)}/${randomId(24)}`,
    trigger_id: options.triggerId ?? triggerId(),
  }
}

/**
 * The form body Slack posts for an interaction: `payload=` and the URL-encoded JSON.
 *
 * @example
 * slackInteractivityBody(slackBlockActionsPayload())   // 'payload=%7B%22type%22…'
 */
export function slackInteractivityBody(payload: unknown): string {
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString()
}

/**
 * The form body Slack posts for a slash command.
 *
 * @example
 * slackCommandBody(slackSlashCommand())   // 'token=…&team_id=…&command=%2Fdeploy…'
 */
export function slackCommandBody(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString()
}

/** Options of {@link signedSlackRequest}. */
export interface SignedSlackRequestOptions {
  /** @defaultValue {@link SLACK_TEST_SECRET} */
  secret?: string
  /** `X-Slack-Request-Timestamp`, in Unix seconds. @defaultValue now */
  timestamp?: number
  /**
   * `Content-Type`.
   * @defaultValue `application/json` for a body starting with `{`, else `application/x-www-form-urlencoded`
   */
  contentType?: string
  /** Sends `X-Slack-Retry-Num` (and `X-Slack-Retry-Reason: http_timeout`), as Slack's retries do. */
  retryNum?: number
}

/**
 * Signs `body` (the exact string to send) as Slack does. Bolt ships a verifier but no signing
 * helper, so this follows Slack's documented scheme with node:crypto: `X-Slack-Signature` is
 * `v0=` + hex HMAC-SHA256, keyed by the signing secret, of `v0:${timestamp}:${body}`.
 *
 * @example
 * const { body, headers } = signedSlackRequest(JSON.stringify(slackMessageEvent()), { retryNum: 1 })
 * await fetch(`${url}/webhooks/slack`, { method: 'POST', body, headers })
 */
export function signedSlackRequest(body: string, options: SignedSlackRequestOptions = {}): SignedRequest {
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000)
  const signature = createHmac('sha256', options.secret ?? SLACK_TEST_SECRET).update(`v0:${timestamp}:${body}`).digest('hex')
  const headers: Record<string, string> = {
    'content-type': options.contentType ?? (body.startsWith('{') ? 'application/json' : 'application/x-www-form-urlencoded'),
    'x-slack-request-timestamp': String(timestamp),
    'x-slack-signature': `v0=${signature}`,
  }
  if (options.retryNum !== undefined) {
    headers['x-slack-retry-num'] = String(options.retryNum)
    headers['x-slack-retry-reason'] = 'http_timeout'
  }
  return { body, headers }
}

/** A Slack timestamp (`seconds.micros`) at `seconds` (default now) with random micros. */
function slackTs(seconds: number = Math.floor(Date.now() / 1000)): string {
  return `${seconds}.${String(randomInt(1_000_000)).padStart(6, '0')}`
}

/** A `trigger_id` in Slack's shape: `<digits>.<digits>.<32 hex>`. */
function triggerId(): string {
  return `${randomInt(1e12)}.${randomInt(1e12)}.${randomBytes(16).toString('hex')}`
}

function randomId(length: number): string {
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'
  return Array.from(randomBytes(length), (b) => alphabet[b % alphabet.length]).join('')
}

function richText(text: string): unknown[] {
  return [{ type: 'rich_text', block_id: randomId(5), elements: [{ type: 'rich_text_section', elements: [{ type: 'text', text }] }] }]
}

/**
 * @module The Slack adapter: verifies `X-Slack-Signature` over the raw bytes with Bolt's
 * `verifySlackRequest` (every configured secret in turn, for rotation), refuses timestamps from
 * the future (the SDK only refuses old ones), and turns the three kinds of Slack request — Events
 * API, interactivity, slash commands — into inbox events or protocol replies.
 */
import {
  type ImmediateReply,
  MalformedPayloadError,
  type ParsedEvent,
  type ProviderAdapter,
  type RawRequest,
  SignatureError,
  UnsupportedMediaTypeError,
} from '@hookline/core'
// The official entry. It loads all of Bolt, Socket Mode's undici included: pnpm-workspace.yaml
// pins undici to 7.x, because the 8.x it would resolve needs Node 22 and throws at import on 20.
import { verifySlackRequest } from '@slack/bolt'
import { z } from 'zod'
import { slackFetchCurrent } from './slack-fetch.ts'
import { isPostedMessage, postedMessageKey, slackTime, tenantOf } from './slack-message.ts'
import { type SlackApiOptions, slackMessagePages } from './slack-reconcile.ts'

/** Options of {@link slackAdapter}. */
export interface SlackAdapterOptions {
  /** Signing secrets (app settings → Basic Information); several during a rotation, tried in order. */
  secrets: readonly string[]
  /**
   * Largest accepted distance of `X-Slack-Request-Timestamp` from the arrival time, in seconds,
   * into the past and — unlike the SDK — into the future. At most 300: the SDK's own staleness
   * window is fixed at five minutes.
   * @defaultValue 300
   */
  toleranceSeconds?: number
  /**
   * Largest accepted body.
   * @defaultValue 1 MiB
   */
  maxBodyBytes?: number
  /**
   * The Web API for reconciliation (`conversations.history` of the given channels) and for
   * `ctx.fetchCurrent()`; without it the adapter does not reconcile, and `ctx.fetchCurrent()`
   * throws a PermanentError.
   */
  api?: SlackApiOptions
}

/**
 * A Slack request whose signature verified, decoded by kind; or Slack's SSL check, which is never
 * signed and from which nothing is kept.
 */
export type VerifiedSlackRequest =
  | { kind: 'events_api'; body: unknown }
  | { kind: 'interactivity'; payload: unknown }
  | { kind: 'command'; fields: Record<string, string> }
  | { kind: 'ssl_check' }

const SDK_STALENESS_SECONDS = 300
const JSON_TYPE = 'application/json'
const FORM_TYPE = 'application/x-www-form-urlencoded'

const id = z.string().min(1)

// Only the fields the identity is read from; the payload stored is the body, never these schemas'
// output, so objects are stripped rather than `.loose()` (copying every other key cost each
// delivery), all but the event, whose other fields are read per type.
const authorizationSchema = z.object({
  team_id: id.nullish(),
  enterprise_id: id.nullish(),
  is_enterprise_install: z.boolean().optional(),
})

const eventsApiSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('url_verification'), challenge: id }),
  z.object({
    type: z.literal('event_callback'),
    event_id: id,
    event_time: z.number().nonnegative().optional(),
    team_id: id.nullish(),
    enterprise_id: id.nullish(),
    context_team_id: id.nullish(),
    api_app_id: id.optional(),
    is_enterprise_install: z.boolean().optional(),
    authorizations: z.array(authorizationSchema).optional(),
    // Only what every event has is checked: the rest varies by event type and is read defensively.
    event: z.object({ type: id, subtype: id.optional(), event_ts: z.string().optional() }).loose(),
  }),
  z.object({ type: z.literal('app_rate_limited'), team_id: id, minute_rate_limited: z.number().int().nonnegative() }),
])

const interactionSchema = z.object({
  type: id,
  trigger_id: id.optional(),
  action_ts: id.optional(),
  actions: z.array(z.object({ action_ts: id.optional() })).optional(),
  user: z.object({ id, team_id: id.optional() }).optional(),
  team: z.object({ id, enterprise_id: id.optional() }).nullish(),
  enterprise: z.object({ id }).nullish(),
  is_enterprise_install: z.boolean().optional(),
  api_app_id: id.optional(),
  view: z.object({ id, hash: id.optional(), app_installed_team_id: id.optional() }).optional(),
  channel: z.object({ id }).nullish(),
  container: z.object({ channel_id: id.optional(), message_ts: id.optional() }).optional(),
  message: z.object({ ts: id.optional() }).optional(),
})

const commandSchema = z.object({
  command: z.string().regex(/^\/\S+$/, 'must be a slash command such as /deploy'),
  trigger_id: id,
  team_id: id,
  enterprise_id: z.string().optional(),
  is_enterprise_install: z.string().optional(),
  api_app_id: z.string().optional(),
})

/**
 * Creates the Slack adapter for the Events API, interactivity and slash commands, all posted to
 * one request URL.
 *
 * Identity rules:
 * - Events API: key `event_id`, except for a posted message (a `message` event without a subtype,
 *   or with one that posts, such as `bot_message`; not an edit, deletion or reply notification),
 *   keyed `message:<channel>:<ts>`: reconciliation finds lost messages in `conversations.history`,
 *   where no `event_id` exists, so both paths must key a message on what both see; type `event.type`, plus `.subtype` when present (e.g.
 *   `message.message_changed`); entity `channel:ts` of the message for `message` and
 *   `app_mention` (edits and deletions use the original message's ts), `channel:ts:reaction:user:name`
 *   for reactions, else none; time `event.event_ts`, else `event_time` — none for `app_mention`,
 *   a request to the app that must never be skipped as stale.
 * - Interactivity: key `interactivity:<type>:<trigger_id>` (else `<view.id>:<view.hash>` for
 *   `view_closed`, else `<user.id>:<action_ts>`); type `interactivity.<type>`; entity the view's
 *   id, else the message's `channel:ts`; no time, so an interaction is never skipped as stale.
 * - Slash commands: key `command:<trigger_id>`; type `command.<name>`; no entity, no time.
 * - Tenant: the installation, as Bolt looks it up — the enterprise for an org-wide install, else
 *   the workspace (falling back to the enterprise, then `api_app_id`).
 *
 * With `api`, the adapter also reconciles: each posted message of the configured channels that no
 * inbox event covers is ingested as a `message` event synthesized from `conversations.history`
 * (see {@link SlackApiOptions}).
 *
 * @example
 * const slack = slackAdapter({
 *   secrets: process.env.SLACK_SIGNING_SECRET!.split(','),
 *   api: { token: process.env.SLACK_BOT_TOKEN!, channels: ['C0123456789'] },
 * })
 * createHookline({ databaseUrl, redisUrl, adapters: [slack] })   // POST /webhooks/slack
 */
export function slackAdapter(options: SlackAdapterOptions): ProviderAdapter<VerifiedSlackRequest> {
  const secrets = options.secrets.filter((s) => s.length > 0)
  if (secrets.length === 0) throw new TypeError('slackAdapter needs at least one signing secret')
  const tolerance = options.toleranceSeconds ?? SDK_STALENESS_SECONDS
  if (!(tolerance > 0 && tolerance <= SDK_STALENESS_SECONDS)) {
    throw new TypeError(`slackAdapter toleranceSeconds must be in (0, ${SDK_STALENESS_SECONDS}]: the SDK refuses older requests itself`)
  }
  const adapter: ProviderAdapter<VerifiedSlackRequest> = {
    name: 'slack',
    maxBodyBytes: options.maxBodyBytes ?? 1024 * 1024,
    async verify(req: RawRequest): Promise<VerifiedSlackRequest> {
      const mediaType = mediaTypeOf(req.headers['content-type'])
      // Slack's SSL check carries no signature headers (bolt-js#1397). It is answered with an
      // empty 200 and nothing else in its body is read or kept, so an unsigned sender cannot
      // smuggle an event through it (bolt-js#2897).
      if (mediaType === FORM_TYPE && new URLSearchParams(req.body.toString('utf8')).get('ssl_check') === '1') {
        return { kind: 'ssl_check' }
      }
      const text = verifiedText(req, secrets, tolerance)
      if (mediaType === JSON_TYPE) return { kind: 'events_api', body: parseJson(text, 'body') }
      if (mediaType === FORM_TYPE) {
        // Parsed from the very string that verified: re-encoding a form changes its bytes.
        const form = new URLSearchParams(text)
        const payload = form.get('payload')
        if (payload !== null) return { kind: 'interactivity', payload: parseJson(payload, '`payload` field') }
        return { kind: 'command', fields: Object.fromEntries(form) }
      }
      throw new UnsupportedMediaTypeError(`Slack posts ${JSON_TYPE} or ${FORM_TYPE}, not ${mediaType || 'a body without a content type'}`)
    },
    parse(verified: VerifiedSlackRequest): ParsedEvent | ImmediateReply {
      switch (verified.kind) {
        case 'ssl_check':
          return { kind: 'immediate', status: 200 }
        case 'events_api':
          return parseEventsApi(verified.body)
        case 'interactivity':
          return parseInteraction(verified.payload)
        case 'command':
          return parseCommand(verified.fields)
      }
    },
    fetchCurrent: slackFetchCurrent(options.api),
  }
  const api = options.api
  if (!api) return adapter
  if (api.channels.length === 0) throw new TypeError('slackAdapter api.channels needs at least one channel id to reconcile')
  const pages = slackMessagePages(api)
  return {
    ...adapter,
    // One bot token is one installation: a run covers all its channels, under the token's tenant.
    reconcileTenants: [null],
    reconcile: pages,
  }
}

/**
 * Checks the signature with the SDK under each secret, then the timestamp window in both
 * directions; returns the body as the string that was verified.
 */
function verifiedText(req: RawRequest, secrets: readonly string[], toleranceSeconds: number): string {
  const signature = req.headers['x-slack-signature']
  const timestampHeader = req.headers['x-slack-request-timestamp']
  // Without a signature the SDK throws a TypeError (`undefined.split`), which would be a 500.
  if (!signature) throw new SignatureError('missing X-Slack-Signature header')
  if (!timestampHeader) throw new SignatureError('missing X-Slack-Request-Timestamp header')
  const timestamp = Number(timestampHeader)
  const body = utf8(req.body)
  const now = req.receivedAt.getTime()
  let lastError: unknown
  const verified = secrets.some((signingSecret) => {
    try {
      verifySlackRequest({
        signingSecret,
        body,
        headers: { 'x-slack-signature': signature, 'x-slack-request-timestamp': timestamp },
        nowMilliseconds: now,
      })
      return true
    } catch (err) {
      // The SDK throws a plain Error for every failure: a malformed header, staleness, a mismatch.
      lastError = err
      return false
    }
  })
  if (!verified) throw new SignatureError(`Slack signature verification failed: ${errorMessage(lastError)}`, { cause: lastError })
  const skewSeconds = timestamp - now / 1000
  if (skewSeconds > toleranceSeconds) throw new SignatureError('X-Slack-Request-Timestamp is in the future beyond the tolerance')
  if (-skewSeconds > toleranceSeconds) throw new SignatureError('X-Slack-Request-Timestamp is older than the tolerance')
  return body
}

function parseEventsApi(body: unknown): ParsedEvent | ImmediateReply {
  const envelope = validate(eventsApiSchema, body, 'Events API body')
  switch (envelope.type) {
    case 'url_verification':
      return { kind: 'immediate', status: 200, body: { challenge: envelope.challenge } }
    case 'app_rate_limited':
      // Slack dropped events for this workspace during that minute: recorded (visible to support,
      // a cue to reconcile), with no handler to run.
      return {
        kind: 'event',
        eventKey: `app_rate_limited:${envelope.team_id}:${envelope.minute_rate_limited}`,
        type: 'app_rate_limited',
        tenant: envelope.team_id,
        entityKey: null,
        occurredAt: new Date(envelope.minute_rate_limited * 1000),
        payload: body,
        payloadIsBody: true,
        recordOnly: true,
      }
    case 'event_callback': {
      const { event } = envelope
      const auth = envelope.authorizations?.[0]
      return {
        kind: 'event',
        eventKey: eventKeyOf(event, envelope.event_id),
        // Subtypes have other shapes (an edit has no top-level `text`): a `message` handler must
        // not receive them unasked.
        type: event.subtype ? `${event.type}.${event.subtype}` : event.type,
        tenant: tenantOf(
          auth?.is_enterprise_install ?? envelope.is_enterprise_install ?? false,
          auth?.enterprise_id ?? envelope.enterprise_id,
          auth?.team_id, envelope.team_id, envelope.context_team_id, auth?.enterprise_id, envelope.enterprise_id, envelope.api_app_id,
        ),
        entityKey: eventEntity(event),
        // A mention asks the app to act, like an interaction: it gives the ordering gate no time, so
        // one arriving after an edit of its message is never skipped as stale (it still waits its
        // turn on the message's entity). Otherwise event_ts keeps microseconds; event_time has
        // whole seconds, where edits tie.
        occurredAt: event.type === 'app_mention'
          ? null
          : (slackTime(event.event_ts) ?? (envelope.event_time === undefined ? null : new Date(envelope.event_time * 1000))),
        payload: body,
        payloadIsBody: true,
      }
    }
  }
}

/** A posted message's shared key (see {@link postedMessageKey}); Slack's `event_id` for anything else. */
function eventKeyOf(event: Record<string, unknown>, eventId: string): string {
  const [channel, ts] = [text(event.channel), text(event.ts)]
  return isPostedMessage(event) && channel && ts ? postedMessageKey(channel, ts) : eventId
}

/** The entity an Events API event changes; null for events that are not about one message. */
function eventEntity(event: Record<string, unknown>): string | null {
  if (event.type === 'reaction_added' || event.type === 'reaction_removed') {
    // One user's one emoji on one message: its adds and removes are ordered, and a reaction is
    // never skipped as older than an edit of the message it is on.
    const item = asRecord(event.item)
    const [channel, ts, user, reaction] = [text(item?.channel), text(item?.ts), text(event.user), text(event.reaction)]
    return channel && ts && user && reaction ? `${channel}:${ts}:reaction:${user}:${reaction}` : null
  }
  if (event.type !== 'message' && event.type !== 'app_mention') return null
  const channel = text(event.channel)
  // An edit (`message.ts`) or a deletion (`deleted_ts`) names the message it changes, so it
  // shares that message's entity and is ordered after the post.
  const ts = text(event.deleted_ts) ?? text(asRecord(event.message)?.ts) ?? text(event.ts)
  return channel && ts ? `${channel}:${ts}` : null
}

/** The empty acknowledgement Slack expects for interactions and slash commands. */
const EMPTY_ACK = { status: 200 } as const

function parseInteraction(payload: unknown): ParsedEvent {
  const p = validate(interactionSchema, payload, 'interactivity payload')
  if (p.type === 'block_suggestion' || p.type === 'dialog_suggestion') {
    throw new MalformedPayloadError(`${p.type} (an options load) needs a synchronous answer: point the Options Load URL at the application, not at Hookline`)
  }
  const actionTs = p.action_ts ?? p.actions?.[0]?.action_ts
  // trigger_id is minted per user interaction, so a resend keeps it and two clicks never share
  // it. view_closed has none, but a view closes once; legacy dialogs have only an action_ts,
  // which is unique per user.
  const identity = p.trigger_id
    ?? (p.view && (p.view.hash ? `${p.view.id}:${p.view.hash}` : p.view.id))
    ?? (p.user && actionTs ? `${p.user.id}:${actionTs}` : undefined)
  if (!identity) throw new MalformedPayloadError(`interactivity payload of type ${p.type} has no trigger_id, view or action_ts to identify it`)
  const channel = p.container?.channel_id ?? p.channel?.id
  const ts = p.container?.message_ts ?? p.message?.ts
  return {
    kind: 'event',
    eventKey: `interactivity:${p.type}:${identity}`,
    type: `interactivity.${p.type}`,
    tenant: tenantOf(
      p.is_enterprise_install ?? false,
      p.enterprise?.id ?? p.team?.enterprise_id,
      p.view?.app_installed_team_id, p.team?.id, p.user?.team_id, p.enterprise?.id, p.api_app_id,
    ),
    entityKey: p.view?.id ?? (channel && ts ? `${channel}:${ts}` : null),
    // Interactions are requests from a user, not snapshots of state: one must run even when a
    // newer event of its view or message was applied first, so it gives the ordering gate no time.
    occurredAt: null,
    payload,
    // Slack reads a response body as the answer to the user (a modal rejects an unknown one):
    // acknowledge with an empty 200; the handler answers through response_url / the Web API.
    reply: EMPTY_ACK,
  }
}

function parseCommand(fields: Record<string, string>): ParsedEvent {
  const command = validate(commandSchema, fields, 'slash command (a form body needs `payload` or `command`)')
  return {
    kind: 'event',
    eventKey: `command:${command.trigger_id}`,
    type: `command.${command.command.slice(1)}`,
    tenant: tenantOf(command.is_enterprise_install === 'true', command.enterprise_id, command.team_id, command.enterprise_id, command.api_app_id),
    entityKey: null,
    occurredAt: null,
    payload: fields,
    // A slash command's response body is posted to the user: acknowledge with an empty 200.
    reply: EMPTY_ACK,
  }
}

/** `application/x-www-form-urlencoded; charset=utf-8` → `application/x-www-form-urlencoded`. */
function mediaTypeOf(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase()
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/**
 * The SDK takes the body as a string and hashes its UTF-8 encoding: decoding must be lossless, so
 * invalid UTF-8 (which Slack never sends) is refused instead of being replaced.
 */
function utf8(body: Buffer): string {
  try {
    return strictUtf8.decode(body)
  } catch (err) {
    throw new SignatureError('body is not valid UTF-8, so it cannot be the bytes Slack signed', { cause: err })
  }
}

function parseJson(textValue: string, what: string): unknown {
  try {
    return JSON.parse(textValue)
  } catch (err) {
    throw new MalformedPayloadError(`signed ${what} is not valid JSON`, { cause: err })
  }
}

function validate<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value)
  if (result.success) return result.data
  const issue = result.error.issues[0]
  throw new MalformedPayloadError(`not a Slack ${what}: ${issue?.path.join('.') || 'body'} ${issue?.message ?? ''}`.trim())
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : 'unknown error'
}

/**
 * @module The Slack adapter alone (no database): what the conformance suite cannot know — body
 * kinds and content types, the unsigned SSL check, protocol replies, the key, entity and tenant
 * rules of events, interactions and commands, and the timestamp window.
 */
import { MalformedPayloadError, type ParsedEvent, type RawRequest, SignatureError, UnsupportedMediaTypeError } from '@hookline/core'
import {
  signedSlackRequest,
  slackAppMentionEvent,
  slackBlockActionsPayload,
  slackCommandBody,
  slackEventCallback,
  slackInteractivityBody,
  slackMessageEvent,
  slackReactionAddedEvent,
  slackSlashCommand,
  slackUrlVerification,
  slackViewSubmissionPayload,
  SLACK_TEST_TEAM_ID,
} from '@hookline/testkit'
import { describe, expect, it } from 'vitest'
import { slackAdapter } from './slack-adapter.ts'

const SECRET = '8f742231b10e8888abcd99yyyzzz85a5'
const OLD_SECRET = '1a2b3c4d5e6f708192a3b4c5d6e7f809'
const adapter = slackAdapter({ secrets: [SECRET, OLD_SECRET] })
const NOW = new Date('2026-11-23T12:00:00Z')
const nowSeconds = NOW.getTime() / 1000

function signed(body: string, options: { timestamp?: number; contentType?: string; retryNum?: number; secret?: string } = {}): RawRequest {
  const s = signedSlackRequest(body, { secret: SECRET, timestamp: nowSeconds, ...options })
  return { body: Buffer.from(s.body), headers: s.headers, receivedAt: NOW }
}

async function receive(req: RawRequest, a = adapter) {
  return a.parse(await a.verify(req), req)
}

async function event(req: RawRequest): Promise<ParsedEvent> {
  const parsed = await receive(req)
  if (parsed.kind !== 'event') throw new Error(`expected an event, got ${JSON.stringify(parsed)}`)
  return parsed
}

describe('content types', () => {
  it('verifies the raw bytes whatever the charset suffix or letter case', async () => {
    const json = JSON.stringify(slackMessageEvent())
    const form = slackCommandBody(slackSlashCommand())
    for (const [body, contentType] of [
      [json, 'application/json; charset=utf-8'],
      [json, 'Application/JSON'],
      [form, 'application/x-www-form-urlencoded; charset=utf-8'],
      [form, 'application/x-www-form-urlencoded;charset=UTF-8'],
    ] as const) {
      await expect(receive(signed(body, { contentType })), contentType).resolves.toMatchObject({ kind: 'event' })
    }
  })

  it('parses a form from the bytes that verified, never from a re-encoding of them', async () => {
    // Legal encodings a re-encoder would rewrite: `+` for spaces, lower-case escapes, a bare `*`
    // and `'`. Verifying a re-encoded form would fail on exactly these bytes.
    const body = "token=x&team_id=T0HKLN7E5&command=%2fdeploy&text=api+--env%3dprod+*now*+it's+caf%C3%A9&trigger_id=13.14.abc&response_url=https%3a%2f%2fhooks.slack.com%2fcommands%2fT%2f1%2fz"
    expect(new URLSearchParams(body).toString()).not.toBe(body)
    const parsed = await event(signed(body))
    expect(parsed.type).toBe('command.deploy')
    expect(parsed.payload).toMatchObject({ text: "api --env=prod *now* it's café", response_url: 'https://hooks.slack.com/commands/T/1/z' })
  })

  it('decodes non-ASCII interactivity payloads (UTF-8 percent-encoding)', async () => {
    const payload = slackViewSubmissionPayload({ reason: 'Fehlerquote > 2 % nach dem Rollout 🚨' })
    const parsed = await event(signed(slackInteractivityBody(payload)))
    expect(parsed.payload).toEqual(payload)
  })

  it('refuses other content types after the signature (415), unsigned ones before it (401)', async () => {
    await expect(adapter.verify(signed('hello', { contentType: 'text/plain' }))).rejects.toBeInstanceOf(UnsupportedMediaTypeError)
    const noType = signed('{}')
    delete noType.headers['content-type']
    await expect(adapter.verify(noType)).rejects.toBeInstanceOf(UnsupportedMediaTypeError)
    await expect(adapter.verify(signed('hello', { contentType: 'text/plain', secret: 'not ours' }))).rejects.toBeInstanceOf(SignatureError)
  })

  it('refuses a body that is not valid UTF-8 as unverifiable', async () => {
    const req = signed('{"a":"b"}')
    await expect(adapter.verify({ ...req, body: Buffer.from([0x7b, 0xff, 0x7d]) })).rejects.toThrow(/UTF-8/)
  })
})

describe('signatures and the timestamp window', () => {
  const body = JSON.stringify(slackMessageEvent())

  it('accepts the primary and the previous secret, refuses any other', async () => {
    await expect(adapter.verify(signed(body))).resolves.toMatchObject({ kind: 'events_api' })
    await expect(adapter.verify(signed(body, { secret: OLD_SECRET }))).resolves.toMatchObject({ kind: 'events_api' })
    await expect(adapter.verify(signed(body, { secret: 'someone else' }))).rejects.toBeInstanceOf(SignatureError)
  })

  it('refuses a missing header with SignatureError, never the SDK TypeError', async () => {
    for (const header of ['x-slack-signature', 'x-slack-request-timestamp']) {
      const req = signed(body)
      delete req.headers[header]
      await expect(adapter.verify(req), header).rejects.toBeInstanceOf(SignatureError)
    }
    await expect(adapter.verify({ ...signed(body), headers: { ...signed(body).headers, 'x-slack-request-timestamp': 'soon' } })).rejects.toBeInstanceOf(SignatureError)
  })

  it('refuses timestamps beyond the tolerance in both directions (the SDK alone lets the future pass)', async () => {
    await expect(adapter.verify(signed(body, { timestamp: nowSeconds + 301 }))).rejects.toThrow(/future/)
    await expect(adapter.verify(signed(body, { timestamp: nowSeconds - 301 }))).rejects.toBeInstanceOf(SignatureError)
    await expect(adapter.verify(signed(body, { timestamp: nowSeconds + 299 }))).resolves.toBeDefined()
    await expect(adapter.verify(signed(body, { timestamp: nowSeconds - 299 }))).resolves.toBeDefined()
  })

  it('applies a tolerance below the SDK window, and refuses one above it at construction', async () => {
    const strict = slackAdapter({ secrets: [SECRET], toleranceSeconds: 60 })
    await expect(strict.verify(signed(body, { timestamp: nowSeconds - 61 }))).rejects.toThrow(/older than the tolerance/)
    await expect(strict.verify(signed(body, { timestamp: nowSeconds - 59 }))).resolves.toBeDefined()
    expect(() => slackAdapter({ secrets: [SECRET], toleranceSeconds: 600 })).toThrow(/toleranceSeconds/)
    expect(() => slackAdapter({ secrets: [''] })).toThrow(/at least one/)
  })
})

describe('protocol requests', () => {
  it('answers url_verification with its challenge and stores nothing', async () => {
    const handshake = slackUrlVerification({ challenge: 'c-42' })
    await expect(receive(signed(JSON.stringify(handshake)))).resolves.toEqual({ kind: 'immediate', status: 200, body: { challenge: 'c-42' } })
  })

  it('answers the unsigned ssl_check with an empty 200, and nothing smuggled with it is read', async () => {
    const unsigned = (body: string): RawRequest => ({ body: Buffer.from(body), headers: { 'content-type': 'application/x-www-form-urlencoded' }, receivedAt: NOW })
    await expect(receive(unsigned('ssl_check=1&token=Jhj5dZrVaK7ZwHHjRyZWjbDl'))).resolves.toEqual({ kind: 'immediate', status: 200 })
    const smuggled = unsigned(`ssl_check=1&${slackInteractivityBody(slackBlockActionsPayload())}`)
    await expect(receive(smuggled)).resolves.toEqual({ kind: 'immediate', status: 200 })
    // Only the exact value Slack sends skips the signature (bolt-js#2899).
    await expect(adapter.verify(unsigned('ssl_check=true'))).rejects.toBeInstanceOf(SignatureError)
    await expect(adapter.verify({ ...unsigned('ssl_check=1'), headers: { 'content-type': 'application/json' } })).rejects.toBeInstanceOf(SignatureError)
  })

  it('records app_rate_limited (Slack dropped events) without running a handler', async () => {
    const body = { token: 'x', type: 'app_rate_limited', team_id: 'T0HKLN7E5', minute_rate_limited: 1_795_000_020, api_app_id: 'A1' }
    await expect(event(signed(JSON.stringify(body)))).resolves.toMatchObject({
      eventKey: 'app_rate_limited:T0HKLN7E5:1795000020',
      type: 'app_rate_limited',
      tenant: 'T0HKLN7E5',
      occurredAt: new Date(1_795_000_020_000),
      recordOnly: true,
    })
  })
})

describe('Events API identity', () => {
  it('keys on event_id, so Slack retries (X-Slack-Retry-Num, new timestamp) dedupe', async () => {
    const body = JSON.stringify(slackAppMentionEvent({ eventId: 'Ev0RETRY001' }))
    const keys = await Promise.all([
      event(signed(body)),
      event(signed(body, { retryNum: 1, timestamp: nowSeconds - 60 })),
      event(signed(body, { retryNum: 2, timestamp: nowSeconds - 240 })),
    ])
    expect(keys.map((k) => k.eventKey)).toEqual(['Ev0RETRY001', 'Ev0RETRY001', 'Ev0RETRY001'])
  })

  it('keys a posted message on channel:ts (what conversations.history shows), whatever its event_id', async () => {
    const first = slackMessageEvent({ channel: 'C123', ts: '1700000000.123456', eventId: 'Ev0POST0001' })
    const retried = await event(signed(JSON.stringify(first), { retryNum: 1, timestamp: nowSeconds - 60 }))
    // A bot's post (subtype) and a thread reply are posts too; each keeps its own ts.
    const bot = slackEventCallback({ type: 'message', subtype: 'bot_message', bot_id: 'B1', text: 'deployed', channel: 'C123', ts: '1700000001.000100', event_ts: '1700000001.000100' })
    const reply = slackEventCallback({ type: 'message', text: 'thanks', user: 'U1', channel: 'C123', ts: '1700000002.000100', thread_ts: '1700000000.123456', event_ts: '1700000002.000100' })
    const keys = [await event(signed(JSON.stringify(first))), retried, await event(signed(JSON.stringify(bot))), await event(signed(JSON.stringify(reply)))]
    expect(keys.map((k) => [k.eventKey, k.type])).toEqual([
      ['message:C123:1700000000.123456', 'message'],
      ['message:C123:1700000000.123456', 'message'],
      ['message:C123:1700000001.000100', 'message.bot_message'],
      ['message:C123:1700000002.000100', 'message'],
    ])
  })

  it('keeps event_id for edits, deletions and reply notifications, which are changes, not posts', async () => {
    const original = '1700000000.000100'
    const changes = [
      slackEventCallback({ type: 'message', subtype: 'message_changed', hidden: true, channel: 'C123', message: { type: 'message', text: 'x', ts: original }, ts: '1700000050.000200', event_ts: '1700000050.000200' }, { eventId: 'Ev0CHANGE01' }),
      slackEventCallback({ type: 'message', subtype: 'message_deleted', hidden: true, channel: 'C123', deleted_ts: original, ts: '1700000090.000300', event_ts: '1700000090.000300' }, { eventId: 'Ev0DELETE01' }),
      slackEventCallback({ type: 'message', subtype: 'message_replied', channel: 'C123', message: { type: 'message', text: 'x', ts: original }, ts: '1700000095.000400', event_ts: '1700000095.000400' }, { eventId: 'Ev0REPLIED1' }),
    ]
    const keys = await Promise.all(changes.map((c) => event(signed(JSON.stringify(c)))))
    expect(keys.map((k) => k.eventKey)).toEqual(['Ev0CHANGE01', 'Ev0DELETE01', 'Ev0REPLIED1'])
  })

  it('gives a message its channel:ts entity, its team and its event_ts to the millisecond', async () => {
    const envelope = slackMessageEvent({ channel: 'C123', ts: '1700000000.123456', teamId: 'T42' })
    await expect(event(signed(JSON.stringify(envelope)))).resolves.toEqual({
      kind: 'event',
      eventKey: 'message:C123:1700000000.123456',
      type: 'message',
      tenant: 'T42',
      entityKey: 'C123:1700000000.123456',
      occurredAt: new Date(1_700_000_000_123),
      payload: envelope,
      payloadIsBody: true,
    })
  })

  it('puts edits and deletions on the original message, typed with their subtype', async () => {
    const original = '1700000000.000100'
    const edited = slackEventCallback({
      type: 'message',
      subtype: 'message_changed',
      hidden: true,
      channel: 'C123',
      message: { type: 'message', user: 'U1', text: 'fixed typo', edited: { user: 'U1', ts: '1700000050.000000' }, ts: original },
      previous_message: { type: 'message', user: 'U1', text: 'fixde typo', ts: original },
      ts: '1700000050.000200',
      event_ts: '1700000050.000200',
    })
    const deleted = slackEventCallback({
      type: 'message',
      subtype: 'message_deleted',
      hidden: true,
      channel: 'C123',
      deleted_ts: original,
      previous_message: { type: 'message', user: 'U1', text: 'fixed typo', ts: original },
      ts: '1700000090.000300',
      event_ts: '1700000090.000300',
    })
    const [e, d] = [await event(signed(JSON.stringify(edited))), await event(signed(JSON.stringify(deleted)))]
    expect([e.type, e.entityKey, e.occurredAt]).toEqual(['message.message_changed', `C123:${original}`, new Date(1_700_000_050_000)])
    expect([d.type, d.entityKey, d.occurredAt]).toEqual(['message.message_deleted', `C123:${original}`, new Date(1_700_000_090_000)])
  })

  it('gives an app_mention its message entity and a reaction its own (message, user, emoji) entity', async () => {
    const mention = await event(signed(JSON.stringify(slackAppMentionEvent({ channel: 'C9', ts: '1700000000.000500' }))))
    expect([mention.type, mention.entityKey]).toEqual(['app_mention', 'C9:1700000000.000500'])
    // A request to the app, never skipped as older than an edit of its message.
    expect(mention.occurredAt).toBeNull()
    const reaction = await event(signed(JSON.stringify(slackReactionAddedEvent({ channel: 'C9', itemTs: '1700000000.000500', user: 'U7', reaction: 'eyes' }))))
    expect([reaction.type, reaction.entityKey]).toEqual(['reaction_added', 'C9:1700000000.000500:reaction:U7:eyes'])
  })

  it('gives other events no entity and falls back to event_time', async () => {
    const joined = slackEventCallback({ type: 'member_joined_channel', user: 'U1', channel: 'C1', channel_type: 'C', team: 'T1' }, { eventTime: 1_700_000_111 })
    await expect(event(signed(JSON.stringify(joined)))).resolves.toMatchObject({ type: 'member_joined_channel', entityKey: null, occurredAt: new Date(1_700_000_111_000) })
  })

  it('takes the installation as tenant: the enterprise of an org-wide install, else the workspace', async () => {
    const grid = {
      ...slackMessageEvent({ teamId: 'T_WORKSPACE' }),
      enterprise_id: 'E_ORG',
      authorizations: [{ enterprise_id: 'E_ORG', team_id: null, user_id: 'U0BOT', is_bot: true, is_enterprise_install: true }],
    }
    await expect(event(signed(JSON.stringify(grid)))).resolves.toMatchObject({ tenant: 'E_ORG' })
    const bare = { ...slackMessageEvent(), team_id: undefined, context_team_id: undefined, authorizations: undefined, api_app_id: 'A_ONLY' }
    await expect(event(signed(JSON.stringify(bare)))).resolves.toMatchObject({ tenant: 'A_ONLY' })
  })
})

describe('interactivity identity', () => {
  it('keys a block action on its trigger_id: a resend keeps it, two clicks on one message never share it', async () => {
    const click = slackBlockActionsPayload({ channel: 'C5', messageTs: '1700000000.000700', triggerId: '101.202.aaa' })
    const again = slackBlockActionsPayload({ channel: 'C5', messageTs: '1700000000.000700', triggerId: '101.202.bbb' })
    const first = await event(signed(slackInteractivityBody(click)))
    const resent = await event(signed(slackInteractivityBody(click), { timestamp: nowSeconds - 30 }))
    const second = await event(signed(slackInteractivityBody(again)))
    expect(first).toMatchObject({
      eventKey: 'interactivity:block_actions:101.202.aaa',
      type: 'interactivity.block_actions',
      tenant: SLACK_TEST_TEAM_ID,
      entityKey: 'C5:1700000000.000700',
      occurredAt: null,
      payload: click,
    })
    expect(resent.eventKey).toBe(first.eventKey)
    expect(second.eventKey).not.toBe(first.eventKey)
    expect(second.entityKey).toBe(first.entityKey)
  })

  it('gives a view submission the view as entity and the installed workspace as tenant', async () => {
    const submission = slackViewSubmissionPayload({ viewId: 'V77', triggerId: '303.404.ccc', teamId: 'T_HOME' })
    await expect(event(signed(slackInteractivityBody(submission)))).resolves.toMatchObject({
      eventKey: 'interactivity:view_submission:303.404.ccc',
      type: 'interactivity.view_submission',
      tenant: 'T_HOME',
      entityKey: 'V77',
    })
  })

  it('keys view_closed (no trigger_id) on the view and its hash', async () => {
    const submission = slackViewSubmissionPayload({ viewId: 'V88' })
    const closed = { ...submission, type: 'view_closed', is_cleared: false, trigger_id: undefined }
    const parsed = await event(signed(slackInteractivityBody(closed)))
    expect(parsed.eventKey).toBe(`interactivity:view_closed:V88:${(submission.view as { hash: string }).hash}`)
    expect(parsed.entityKey).toBe('V88')
  })

  it('keys a legacy dialog submission on its user and action_ts', async () => {
    const dialog = { type: 'dialog_submission', token: 't', action_ts: '1700000000.990000', team: { id: 'T1', domain: 'd' }, user: { id: 'U3', name: 'ada' }, channel: { id: 'C1', name: 'x' }, submission: { reason: 'x' }, callback_id: 'cb', response_url: 'https://hooks.slack.com/app/x', state: '' }
    await expect(event(signed(slackInteractivityBody(dialog)))).resolves.toMatchObject({ eventKey: 'interactivity:dialog_submission:U3:1700000000.990000', tenant: 'T1', entityKey: null })
  })

  it('refuses options loads and payloads with nothing to identify them', async () => {
    const suggestion = { type: 'block_suggestion', action_id: 'a', block_id: 'b', value: 'de', team: { id: 'T1', domain: 'd' }, user: { id: 'U1', name: 'n' }, api_app_id: 'A1', token: 't', container: {} }
    await expect(receive(signed(slackInteractivityBody(suggestion)))).rejects.toThrow(/Options Load URL/)
    await expect(receive(signed(slackInteractivityBody({ type: 'shortcut', team: { id: 'T1' } })))).rejects.toBeInstanceOf(MalformedPayloadError)
  })
})

describe('slash commands', () => {
  it('keys on trigger_id, types by command name, keeps every field as payload', async () => {
    const fields = slackSlashCommand({ command: '/rollback', triggerId: '505.606.ddd', teamId: 'T77', text: 'api & web' })
    await expect(event(signed(slackCommandBody(fields)))).resolves.toEqual({
      kind: 'event',
      eventKey: 'command:505.606.ddd',
      type: 'command.rollback',
      tenant: 'T77',
      entityKey: null,
      occurredAt: null,
      payload: fields,
      // Slack posts a command's response body to the user: the acknowledgement is empty.
      reply: { status: 200 },
    })
  })

  it('takes the enterprise as tenant for an org-wide install', async () => {
    const fields = { ...slackSlashCommand({ teamId: 'T77' }), enterprise_id: 'E9', is_enterprise_install: 'true' }
    await expect(event(signed(slackCommandBody(fields)))).resolves.toMatchObject({ tenant: 'E9' })
  })
})

describe('reconciliation', () => {
  it('reconciles only with the Web API and at least one channel, under the token\'s own tenant', () => {
    expect(adapter.reconcile).toBeUndefined()
    const reconciling = slackAdapter({ secrets: [SECRET], api: { token: 'xoxb-test', channels: ['C1', 'C2'] } })
    expect(typeof reconciling.reconcile).toBe('function')
    expect(reconciling.reconcileTenants).toEqual([null])
    expect(() => slackAdapter({ secrets: [SECRET], api: { token: 'xoxb-test', channels: [] } })).toThrow(/at least one channel/)
  })
})

/**
 * @module The Slack adapter against the shared adapter conformance suite: Events API, interactivity
 * and slash command requests signed per Slack's documented `v0` scheme.
 */
import {
  type ConformanceRequest,
  describeAdapterConformance,
  signedSlackRequest,
  slackAppMentionEvent,
  slackBlockActionsPayload,
  slackCommandBody,
  slackInteractivityBody,
  slackMessageEvent,
  slackReactionAddedEvent,
  slackSlashCommand,
  slackUrlVerification,
  slackViewSubmissionPayload,
  SLACK_TEST_TEAM_ID,
} from '@hookline/testkit'
import { slackAdapter } from './slack-adapter.ts'

const TOLERANCE = 300
const EVENT_TIME = 1_795_000_000

/** Signs `body` with `secret` at `at`, as Slack would post it. */
function request(body: string, secret: string, at: Date, extra: { contentType?: string; retryNum?: number } = {}): ConformanceRequest {
  return signedSlackRequest(body, { secret, timestamp: Math.floor(at.getTime() / 1000), ...extra })
}

const message = slackMessageEvent({ eventId: 'Ev0CONFMSG1', ts: `${EVENT_TIME}.000100`, channel: 'C0CONF0001' })
const mention = slackAppMentionEvent({ eventId: 'Ev0CONFMEN1', ts: `${EVENT_TIME}.000200`, channel: 'C0CONF0001' })
const reaction = slackReactionAddedEvent({ eventId: 'Ev0CONFREA1', channel: 'C0CONF0001', itemTs: `${EVENT_TIME}.000100`, user: 'U0CONFUSR2', reaction: 'eyes' })
const challenge = slackUrlVerification({ challenge: 'conformance-challenge-3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P' })
const click = slackBlockActionsPayload({ triggerId: '1111.2222.conf0click', channel: 'C0CONF0001', messageTs: `${EVENT_TIME}.000300` })
const submission = slackViewSubmissionPayload({ triggerId: '1111.2222.conf0submit', viewId: 'V0CONFVIEW1' })
const command = slackSlashCommand({ triggerId: '1111.2222.conf0command', command: '/deploy' })

describeAdapterConformance({
  createAdapter: (secrets) => slackAdapter({ secrets, toleranceSeconds: TOLERANCE }),
  timestampToleranceSeconds: TOLERANCE,
  signatureHeaders: ['x-slack-signature', 'x-slack-request-timestamp'],
  fixtures: [
    {
      name: 'message (Events API)',
      request: (secret, at) => request(JSON.stringify(message), secret, at),
      expect: {
        kind: 'event',
        // A posted message is keyed on channel + ts, which reconciliation can see too.
        eventKey: `message:C0CONF0001:${EVENT_TIME}.000100`,
        type: 'message',
        tenant: SLACK_TEST_TEAM_ID,
        entityKey: `C0CONF0001:${EVENT_TIME}.000100`,
        occurredAt: new Date(EVENT_TIME * 1000),
      },
    },
    {
      name: 'app_mention (Events API)',
      request: (secret, at) => request(JSON.stringify(mention), secret, at),
      expect: { kind: 'event', eventKey: 'Ev0CONFMEN1', type: 'app_mention', entityKey: `C0CONF0001:${EVENT_TIME}.000200` },
    },
    {
      name: 'reaction_added (Events API)',
      request: (secret, at) => request(JSON.stringify(reaction), secret, at),
      expect: { kind: 'event', eventKey: 'Ev0CONFREA1', type: 'reaction_added', entityKey: `C0CONF0001:${EVENT_TIME}.000100:reaction:U0CONFUSR2:eyes` },
    },
    {
      name: 'url_verification handshake',
      request: (secret, at) => request(JSON.stringify(challenge), secret, at),
      expect: { kind: 'immediate', status: 200, body: { challenge: challenge.challenge } },
    },
    {
      name: 'block_actions (interactivity form, charset suffix)',
      request: (secret, at) => request(slackInteractivityBody(click), secret, at, { contentType: 'application/x-www-form-urlencoded; charset=utf-8' }),
      expect: {
        kind: 'event',
        eventKey: 'interactivity:block_actions:1111.2222.conf0click',
        type: 'interactivity.block_actions',
        tenant: SLACK_TEST_TEAM_ID,
        entityKey: `C0CONF0001:${EVENT_TIME}.000300`,
        occurredAt: null,
      },
    },
    {
      name: 'view_submission (interactivity form)',
      request: (secret, at) => request(slackInteractivityBody(submission), secret, at),
      expect: { kind: 'event', eventKey: 'interactivity:view_submission:1111.2222.conf0submit', type: 'interactivity.view_submission', entityKey: 'V0CONFVIEW1' },
    },
    {
      name: 'slash command (flat form)',
      request: (secret, at) => request(slackCommandBody(command), secret, at),
      expect: { kind: 'event', eventKey: 'command:1111.2222.conf0command', type: 'command.deploy', tenant: SLACK_TEST_TEAM_ID, entityKey: null },
    },
  ],
  malformed: [
    { name: 'truncated JSON', request: (secret, at) => request('{"type": "event_callback", ', secret, at) },
    { name: 'JSON that is not a Slack body', request: (secret, at) => request('{"hello":"world"}', secret, at) },
    { name: 'an event_callback without event_id', request: (secret, at) => request(JSON.stringify({ ...message, event_id: undefined }), secret, at) },
    { name: 'an event_callback without its event', request: (secret, at) => request(JSON.stringify({ ...message, event: undefined }), secret, at) },
    { name: 'a form that is neither a payload nor a command', request: (secret, at) => request('team_id=T1&text=hello', secret, at) },
    { name: 'a payload field that is not JSON', request: (secret, at) => request('payload=%7B%22type%22%3A', secret, at) },
    { name: 'an options load (block_suggestion)', request: (secret, at) => request(slackInteractivityBody({ ...click, type: 'block_suggestion', trigger_id: undefined }), secret, at) },
    { name: 'a text/plain body', request: (secret, at) => request('hello', secret, at, { contentType: 'text/plain' }) },
  ],
  // Slack retries re-sign the same body with a new timestamp and add X-Slack-Retry-Num.
  redelivery: {
    first: (secret, at) => request(JSON.stringify(message), secret, at),
    second: (secret, at) => request(JSON.stringify(message), secret, at, { retryNum: 1 }),
  },
})

/**
 * `ctx.fetchCurrent()` end to end, against real Postgres and Redis and local fakes of the Stripe,
 * GitHub and Slack APIs that the adapters' official clients talk to: handlers get the object as the
 * API has it now (not the payload's snapshot); a 404 dead-letters the event at once; a 503 with
 * `Retry-After` is retried after the wait; an object type that cannot be re-read is permanent.
 */
import { randomUUID } from 'node:crypto'
import type { Handler } from '@hookline/core'
import { githubAdapter } from '@hookline/github'
import { slackAdapter } from '@hookline/slack'
import { stripeAdapter } from '@hookline/stripe'
import {
  type FakeGithubApi,
  type FakeSlackApi,
  type FakeStripeApi,
  GITHUB_TEST_SECRET,
  githubIssueOpened,
  signedGithubDelivery,
  signedSlackRequest,
  signedStripeDelivery,
  SLACK_TEST_SECRET,
  slackHistoryMessage,
  slackMessageEvent,
  startFakeGithubApi,
  startFakeSlackApi,
  startFakeStripeApi,
  STRIPE_TEST_SECRET,
  stripeEvent,
  stripeThinEvent,
} from '@hookline/testkit'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, startHarness } from './support/harness.ts'

const GITHUB_TOKEN = 'ghp_fetch_current_test'
const REPO_HOOK = 'repos/octo-org/hello-world/hooks/40101'
const CHANNEL = 'C0FETCHCUR1'

let stripe: FakeStripeApi
let github: FakeGithubApi
let slack: FakeSlackApi
let h: Harness

/** Records the `label` of the object `ctx.fetchCurrent()` returns (the fakes' objects carry one). */
const recordCurrent: Handler = async (event, ctx) => {
  const current = (await ctx.fetchCurrent()) as { label?: string; text?: string }
  await ctx.tx.$executeRawUnsafe(
    `INSERT INTO effects (event_id, entity_key, label) VALUES ($1::uuid, $2, $3)`,
    event.id, event.entityKey, current.label ?? current.text ?? null,
  )
}

async function labelsOf(id: string): Promise<(string | null)[]> {
  const rows = await h.prisma.$queryRawUnsafe<{ label: string | null }[]>(`SELECT label FROM effects WHERE event_id = $1::uuid ORDER BY id`, id)
  return rows.map((r) => r.label)
}

async function sendStripe(event: unknown): Promise<string> {
  const { body, headers } = signedStripeDelivery(event)
  const res = await h.post('stripe', body, headers)
  expect(res.status).toBe(200)
  return res.body.id as string
}

async function sendGithubIssue(number: number): Promise<string> {
  const { body, headers } = await signedGithubDelivery(githubIssueOpened({ number }), { event: 'issues', hookId: 40_101, deliveryId: randomUUID() })
  const res = await h.post('github', body, headers)
  expect(res.status).toBe(200)
  return res.body.id as string
}

beforeAll(async () => {
  stripe = await startFakeStripeApi()
  github = await startFakeGithubApi({ token: GITHUB_TOKEN })
  slack = await startFakeSlackApi({ token: 'xoxb-fetch-current' })
  h = await startHarness({
    adapters: [
      stripeAdapter({ secrets: [STRIPE_TEST_SECRET], api: { apiKey: 'sk_test_fake', baseUrl: stripe.url, maxNetworkRetries: 0 } }),
      githubAdapter({ secrets: [GITHUB_TEST_SECRET], api: { token: GITHUB_TOKEN, baseUrl: github.url, hooks: [REPO_HOOK], maxRetries: 0 } }),
      slackAdapter({ secrets: [SLACK_TEST_SECRET], api: { token: 'xoxb-fetch-current', apiUrl: slack.url, channels: [CHANNEL], retries: 0 } }),
    ],
    handlers: { '*': recordCurrent },
  })
})
afterAll(async () => {
  await h?.close()
  await Promise.all([stripe?.close(), github?.close(), slack?.close()])
})

describe('Stripe', () => {
  it('a snapshot event: the object as the API has it now, in the event\'s account', async () => {
    const event = stripeEvent({ type: 'invoice.paid', account: 'acct_fetch_1', object: { id: 'in_fetch_current', object: 'invoice', status: 'paid', label: 'from-payload' } })
    stripe.objects.set('/v1/invoices/in_fetch_current', { id: 'in_fetch_current', object: 'invoice', status: 'void', label: 'voided-since' })
    const id = await sendStripe(event)
    await h.waitForStatus(id, 'processed')
    expect(await labelsOf(id)).toEqual(['voided-since'])
    expect(stripe.requests.find((r) => r.path === '/v1/invoices/in_fetch_current')?.account).toBe('acct_fetch_1')
  })

  it('a thin event: its related object', async () => {
    const thin = stripeThinEvent({ relatedObject: { id: 'acct_fetch_rel', type: 'v2.core.account', url: '/v2/core/accounts/acct_fetch_rel' } })
    stripe.objects.set('/v2/core/accounts/acct_fetch_rel', { id: 'acct_fetch_rel', object: 'v2.core.account', label: 'account-now' })
    const id = await sendStripe(thin)
    await h.waitForStatus(id, 'processed')
    expect(await labelsOf(id)).toEqual(['account-now'])
  })

  it('an object the API answers 404 for is dead-lettered at once', async () => {
    const id = await sendStripe(stripeEvent({ type: 'customer.updated', object: { id: 'cus_gone', object: 'customer' } }))
    const row = await h.waitForStatus(id, 'dead')
    expect(row.attempts).toBe(1)
    expect(row.last_error).toMatch(/PermanentError.*404/)
    expect(await labelsOf(id)).toEqual([])
  })

  it('a 503 with Retry-After is retried after the wait, then succeeds', async () => {
    stripe.objects.set('/v1/subscriptions/sub_busy', { id: 'sub_busy', object: 'subscription', label: 'after-the-outage' })
    stripe.failNext(1, { status: 503, retryAfterSeconds: 1 })
    const id = await sendStripe(stripeEvent({ type: 'customer.subscription.updated', object: { id: 'sub_busy', object: 'subscription' } }))
    await h.waitForStatus(id, 'processed')
    const attempts = await h.prisma.attempt.findMany({ where: { eventId: id }, orderBy: { n: 'asc' } })
    expect(attempts.map((a) => a.outcome)).toEqual(['failed', 'succeeded'])
    expect(attempts[0]!.error).toContain('503')
    // The harness's backoff is 20 ms: only the provider's Retry-After explains a second's wait.
    expect(attempts[1]!.startedAt.getTime() - attempts[0]!.startedAt.getTime()).toBeGreaterThanOrEqual(950)
    expect(await labelsOf(id)).toEqual(['after-the-outage'])
  })

  it('an object type it cannot re-read is permanent, with a message that names it', async () => {
    const id = await sendStripe(stripeEvent({ type: 'issuing_card.updated', object: { id: 'ic_1', object: 'issuing.card' } }))
    const row = await h.waitForStatus(id, 'dead')
    expect(row.last_error).toContain('cannot re-read Stripe "issuing.card" objects')
  })
})

describe('GitHub', () => {
  it('an issue event: the issue as the API has it now', async () => {
    github.resources.set('/repos/octo-org/hello-world/issues/301', { number: 301, state: 'closed', label: 'closed-since' })
    const id = await sendGithubIssue(301)
    await h.waitForStatus(id, 'processed')
    expect(await labelsOf(id)).toEqual(['closed-since'])
    expect(github.requests.find((r) => r.path === '/repos/octo-org/hello-world/issues/301')?.authorization).toBe(`token ${GITHUB_TOKEN}`)
  })

  it('an issue the API answers 404 for is dead-lettered at once', async () => {
    const id = await sendGithubIssue(302)
    const row = await h.waitForStatus(id, 'dead')
    expect(row.attempts).toBe(1)
    expect(row.last_error).toMatch(/PermanentError.*404/)
  })
})

describe('Slack', () => {
  it('a message event: the message as conversations.history has it now', async () => {
    const ts = '1796600000.000100'
    slack.channels.set(CHANNEL, [slackHistoryMessage({ ts: '1796600000.000200', text: 'a later message' }), slackHistoryMessage({ ts, text: 'edited since' })])
    const { body, headers } = signedSlackRequest(JSON.stringify(slackMessageEvent({ channel: CHANNEL, ts, text: 'as posted' })))
    const res = await h.post('slack', body, headers)
    expect(res.status).toBe(200)
    await h.waitForStatus(res.body.id, 'processed')
    expect(await labelsOf(res.body.id)).toEqual(['edited since'])
  })

  it('a message no longer in the channel is dead-lettered at once', async () => {
    const { body, headers } = signedSlackRequest(JSON.stringify(slackMessageEvent({ channel: CHANNEL, ts: '1796600000.000900' })))
    const res = await h.post('slack', body, headers)
    const row = await h.waitForStatus(res.body.id, 'dead')
    expect(row.last_error).toContain('the message is gone')
  })
})

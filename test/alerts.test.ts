/**
 * Alerts in library use, with real Postgres and Redis and local HTTP receivers as the sinks: a
 * dead letter is one signed alert without its payload, a burst is one alert and at most one digest
 * per period, forged requests are one `rejection_spike`, a reconciliation that recovers events
 * says how many, a Slack-form URL gets Slack's message, and a sink that is down gets its alerts
 * later while ingest goes on.
 */
import { type Alert, alertSinksFromUrls, PermanentError } from '@hookline/core'
import { stripeAdapter } from '@hookline/stripe'
import { type FakeStripeApi, listenOnFreePort, signedStripeDelivery, STRIPE_TEST_SECRET, startFakeStripeApi, stripeEvent, waitFor } from '@hookline/testkit'
import { Webhook } from 'standardwebhooks'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { type Harness, recordEffect, startHarness } from './support/harness.ts'

const ALERT_SECRET = `whsec_${Buffer.from('alert-secret-for-tests-0123456789').toString('base64')}`
const DIGEST_MS = 2500
const PAYLOAD_MARKER = 'card-number-4242-must-not-leak'

/** A local HTTP receiver: every request it got, answering `failing` ones with 503 first. */
async function startReceiver() {
  const received: { headers: Record<string, string>; body: string; status: number }[] = []
  const state = { failing: 0 }
  const server = await listenOnFreePort((req, res) => {
    let body = ''
    req.on('data', (c) => (body += c))
    req.on('end', () => {
      const status = state.failing > 0 ? 503 : 200
      if (status === 503) state.failing -= 1
      received.push({ headers: req.headers as Record<string, string>, body, status })
      res.writeHead(status).end()
    })
  })
  return { ...server, received, state }
}

let webhook: Awaited<ReturnType<typeof startReceiver>>
let slack: Awaited<ReturnType<typeof startReceiver>>
let api: FakeStripeApi
let h: Harness

/** The alerts the webhook sink accepted (verified with the standardwebhooks package). */
function webhookAlerts(type?: string): Alert[] {
  return webhook.received
    .filter((r) => r.status === 200)
    .map((r) => new Webhook(ALERT_SECRET).verify(r.body, r.headers) as Alert)
    .filter((a) => !type || a.type === type)
}

async function sendDead(n: number): Promise<string[]> {
  const ids: string[] = []
  for (let i = 0; i < n; i += 25) {
    ids.push(...(await Promise.all(Array.from({ length: Math.min(25, n - i) }, () => h.sendStripeEvent({ type: 'test.reject', object: { label: PAYLOAD_MARKER } })))))
  }
  return ids
}

/** Waits until no window of `type` is open: one digest period passed without an alert of it. */
async function quiet(): Promise<void> {
  await new Promise((r) => setTimeout(r, DIGEST_MS + 1500))
}

beforeAll(async () => {
  webhook = await startReceiver()
  slack = await startReceiver()
  api = await startFakeStripeApi()
  h = await startHarness({
    adapters: [stripeAdapter({ secrets: [STRIPE_TEST_SECRET], api: { apiKey: 'sk_test_fake', baseUrl: api.url, maxNetworkRetries: 0 } })],
    handlers: {
      '*': async (event, ctx) => {
        if (event.type === 'test.reject') throw new PermanentError('cannot apply')
        if (event.type === 'test.flaky') throw new Error(`crm timed out after ${1000 + ctx.attempt} ms`)
        await recordEffect(event, ctx)
      },
    },
    alerts: { sinks: alertSinksFromUrls([webhook.url, `slack+${slack.url}/services/T0/B0/x`], ALERT_SECRET), groupWaitMs: 300, digestMs: DIGEST_MS, backoffMs: 300 },
    breaker: { failures: 3, cooldownMs: 60_000 },
  })
})

afterAll(async () => {
  await h?.close()
  await webhook?.close()
  await slack?.close()
  await api?.close()
})

it('sends one signed dead_letter alert with the event id and no payload, and Slack its message', async () => {
  const [id] = await sendDead(1)
  await waitFor(async () => webhookAlerts('dead_letter').length === 1, { what: 'the dead_letter alert', timeoutMs: 10_000 })
  const [alert] = webhookAlerts('dead_letter')
  expect(alert).toMatchObject({ type: 'dead_letter', severity: 'critical', provider: 'stripe', details: { count: 1, ids: [id], digest: false, eventType: 'test.reject' } })
  expect(alert!.summary).toContain('PermanentError: cannot apply')
  expect(alert!.links).toContainEqual(expect.objectContaining({ command: 'hookline dlq list --provider stripe' }))
  // The failure also opened an issue, which pages on its own (issue_new).
  const raw = webhook.received.find((r) => r.status === 200 && r.body.includes('"dead_letter"'))!
  expect(raw.headers['webhook-id']).toBe(alert!.id)
  expect(webhook.received.every((r) => !r.body.includes(PAYLOAD_MARKER))).toBe(true)

  await waitFor(async () => slack.received.some((r) => r.body.includes('[dead_letter]')), { what: 'the Slack message' })
  const delivered = slack.received.find((r) => r.body.includes('[dead_letter]'))!
  const message = JSON.parse(delivered.body)
  expect(Object.keys(message).sort()).toEqual(['blocks', 'text'])
  expect(message.text).toContain('[dead_letter] 1 event dead-lettered (stripe)')
  expect(JSON.stringify(message.blocks)).toContain(id)
  expect(delivered.headers['webhook-signature']).toBeUndefined()
  expect(slack.received.every((r) => !r.body.includes(PAYLOAD_MARKER))).toBe(true)
})

it('turns 500 dead letters into one alert with the first ids, then at most one digest per period', async () => {
  await quiet()
  webhook.received.length = 0
  await sendDead(500)
  await waitFor(async () => (await h.count(`SELECT count(*)::int AS n FROM hookline.hookline_events WHERE status = 'dead'`)) === 501, { what: '500 more dead events', timeoutMs: 60_000 })
  await waitFor(async () => webhookAlerts('dead_letter').reduce((n, a) => n + a.details.count, 0) === 500, { what: 'alerts covering the 500', timeoutMs: 20_000 })
  const alerts = webhookAlerts('dead_letter')
  expect(alerts.filter((a) => !a.details.digest)).toHaveLength(1)
  expect(alerts[0]!.details.digest).toBe(false)
  expect(alerts[0]!.details.ids.length).toBeLessThanOrEqual(10)
  for (let i = 1; i < alerts.length; i++) {
    expect(alerts[i]!.details.digest).toBe(true)
    expect(Date.parse(alerts[i]!.at) - Date.parse(alerts[i - 1]!.at)).toBeGreaterThanOrEqual(DIGEST_MS - 100)
  }
})

it('raises one rejection_spike for 30 forged requests', async () => {
  const { body, headers } = signedStripeDelivery(stripeEvent({ type: 'invoice.paid' }), { secret: 'whsec_forged' })
  const statuses = await Promise.all(Array.from({ length: 30 }, async () => (await h.post('stripe', body, headers)).status))
  expect(new Set(statuses)).toEqual(new Set([401]))
  await waitFor(async () => webhookAlerts('rejection_spike').reduce((n, a) => n + a.details.count, 0) === 30, { what: 'the rejection_spike alert', timeoutMs: 15_000 })
  const spikes = webhookAlerts('rejection_spike')
  expect(spikes.filter((a) => !a.details.digest)).toHaveLength(1)
  expect(spikes[0]).toMatchObject({ provider: 'stripe', severity: 'warning', details: { threshold: 20, windowMinutes: 5 } })
})

it('raises reconcile_recovered with the count of events the webhooks missed', async () => {
  const now = Math.floor(Date.now() / 1000)
  api.events.push(...Array.from({ length: 7 }, (_, i) => stripeEvent({ id: `evt_lost_${i}`, type: 'invoice.paid', created: now - 600 + i })))
  const run = await h.hookline.reconcileNow({ provider: 'stripe', trigger: 'test' })
  expect(run.recovered).toBe(7)
  await waitFor(async () => webhookAlerts('reconcile_recovered').length === 1, { what: 'the reconcile_recovered alert', timeoutMs: 10_000 })
  expect(webhookAlerts('reconcile_recovered')[0]).toMatchObject({ provider: 'stripe', details: { count: 7, ids: [run.id] } })
  expect(webhookAlerts('reconcile_recovered')[0]!.summary).toContain('recovered 7 events')
})

it('retries alerts while the sink is down, and ingest is unaffected', async () => {
  await quiet()
  webhook.state.failing = 3
  const [id] = await sendDead(1)
  // Ingest and processing go on while the sink refuses.
  const ok = await h.sendStripeEvent({ type: 'invoice.paid' })
  await h.waitForStatus(ok, 'processed')
  await waitFor(async () => webhookAlerts('dead_letter').some((a) => a.details.ids.includes(id!)), { what: 'the alert after the sink came back', timeoutMs: 20_000 })
  const attempts = webhook.received.filter((r) => r.status === 503)
  expect(attempts).toHaveLength(3)
  const alert = webhookAlerts('dead_letter').find((a) => a.details.ids.includes(id!))!
  expect(attempts.some((r) => r.headers['webhook-id'] === alert.id)).toBe(true)
  expect(await h.hookline.metrics.render()).toMatch(/hookline_alert_delivery_failures_total\{sink="webhook#0"\} 3\n/)
})

it('a new issue and an open circuit breaker each page once, naming what to run next', async () => {
  const ids = await Promise.all(Array.from({ length: 4 }, () => h.sendStripeEvent({ type: 'test.flaky' })))
  const flaky = () => webhookAlerts('issue_new').filter((a) => a.details.errorClass === 'Error')
  await waitFor(async () => webhookAlerts('breaker_open').length === 1 && flaky().length === 1, { what: 'breaker_open and issue_new alerts', timeoutMs: 20_000 })
  const [issue] = flaky()
  expect(issue).toMatchObject({ severity: 'warning', provider: 'stripe', details: { route: '*', errorClass: 'Error', message: 'crm timed out after <n> ms' } })
  expect(ids).toContain((issue!.details.ids as string[])[0])
  expect(issue!.links.map((l) => l.command)).toContain(`hookline issues show ${String(issue!.details.fingerprint)}`)
  const [breaker] = webhookAlerts('breaker_open')
  expect(breaker).toMatchObject({ severity: 'critical', details: { route: '*' } })
  expect(breaker!.links.map((l) => l.command)).toContain('hookline breakers')
  // The further failures of the issue, and the events the breaker holds, raise nothing more.
  await quiet()
  expect(flaky()).toHaveLength(1)
  expect(webhookAlerts('breaker_open')).toHaveLength(1)
})

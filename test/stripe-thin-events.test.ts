/**
 * Stripe thin events (event destinations) end to end, against real Postgres and Redis and a local
 * fake of the Stripe API the official client talks to: a signed thin event is stored with its own
 * identity and its handler gets the whole event from `ctx.fetch()`; a malformed one is a 400; a
 * reconciliation with thin events on recovers one the webhooks missed.
 */
import type { Handler } from '@hookline/core'
import { stripeAdapter } from '@hookline/stripe'
import { type FakeStripeApi, signedStripeDelivery, STRIPE_TEST_SECRET, startFakeStripeApi, stripeEvent, stripeThinEvent } from '@hookline/testkit'
import Stripe from 'stripe'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, recordEffect, startHarness } from './support/harness.ts'

let api: FakeStripeApi
let h: Harness

/** Records the label of the event `ctx.fetch()` returns: the API's `data.label` for a thin event, the payload's own id otherwise. */
const recordFetched: Handler = async (event, ctx) => {
  const whole = (await ctx.fetch()) as { id?: string; data?: { label?: string } }
  await ctx.tx.$executeRawUnsafe(
    `INSERT INTO effects (event_id, entity_key, label) VALUES ($1::uuid, $2, $3)`,
    event.id, event.entityKey, whole.data?.label ?? `payload:${whole.id}`,
  )
}

/** A thin event as webhooks deliver it, and as the API serves it in full (with `data`). */
function thinEvent(label: string, options: Parameters<typeof stripeThinEvent>[0] = {}) {
  const notification = stripeThinEvent(options)
  api.thinEvents.push({ ...notification, reason: { type: 'request', request: { id: 'req_thin', idempotency_key: 'k' } }, data: { label } })
  return notification
}

async function labelsOf(id: string): Promise<(string | null)[]> {
  const rows = await h.prisma.$queryRawUnsafe<{ label: string | null }[]>(`SELECT label FROM effects WHERE event_id = $1::uuid ORDER BY id`, id)
  return rows.map((r) => r.label)
}

beforeAll(async () => {
  api = await startFakeStripeApi()
  h = await startHarness({
    adapters: [stripeAdapter({ secrets: [STRIPE_TEST_SECRET], api: { apiKey: 'sk_test_fake', baseUrl: api.url, maxNetworkRetries: 0 }, thinEvents: true })],
    handlers: { 'stripe:v2.core.account.updated': recordFetched, 'stripe:invoice.paid': recordFetched, '*': recordEffect },
  })
})
afterAll(async () => {
  await h?.close()
  await api?.close()
})

describe('a signed thin event', () => {
  it('is stored with its v2 type and related object, and ctx.fetch() gets the whole event from the API', async () => {
    const created = new Date(Date.now() - 60_000)
    const thin = thinEvent('fetched-from-api', {
      type: 'v2.core.account.updated',
      created,
      context: 'acct_thin_connect',
      relatedObject: { id: 'acct_related_1', type: 'v2.core.account', url: '/v2/core/accounts/acct_related_1' },
    })
    const body = JSON.stringify(thin)
    const header = Stripe.webhooks.generateTestHeaderString({ payload: body, secret: STRIPE_TEST_SECRET })
    const res = await h.post('stripe', body, { 'content-type': 'application/json', 'stripe-signature': header })
    expect(res.status).toBe(200)
    expect(res.body.duplicate).toBe(false)
    await h.waitForStatus(res.body.id, 'processed')
    const stored = await h.prisma.event.findUniqueOrThrow({ where: { id: res.body.id } })
    expect(stored).toMatchObject({
      provider: 'stripe',
      eventKey: thin.id,
      type: 'v2.core.account.updated',
      tenant: 'acct_thin_connect',
      entityKey: 'acct_related_1',
      source: 'webhook',
      attempts: 1,
    })
    expect(stored.occurredAt?.toISOString()).toBe(created.toISOString())
    expect(Buffer.from(stored.rawBody!).toString()).toBe(body)
    expect(await labelsOf(res.body.id)).toEqual(['fetched-from-api'])
    // Fetched in the event's own account context.
    expect(api.requests.find((r) => r.path === `/v2/core/events/${thin.id}`)?.context).toBe('acct_thin_connect')
  })

  it('delivered again is a duplicate: one row, the handler once', async () => {
    const thin = thinEvent('once')
    const first = await h.post('stripe', ...signed(thin))
    const second = await h.post('stripe', ...signed(thin))
    expect([first.status, second.status]).toEqual([200, 200])
    expect(second.body).toEqual({ id: first.body.id, duplicate: true })
    await h.waitForStatus(first.body.id, 'processed')
    expect(await labelsOf(first.body.id)).toEqual(['once'])
  })

  it('whose event the API no longer has is dead-lettered at once (a 404 cannot heal)', async () => {
    const thin = stripeThinEvent() // never added to the fake API
    const res = await h.post('stripe', ...signed(thin))
    expect(res.status).toBe(200)
    const row = await h.waitForStatus(res.body.id, 'dead')
    expect(row.attempts).toBe(1)
    expect(row.last_error).toContain('PermanentError')
    expect(row.last_error).toContain('404')
  })

  it('ctx.fetch() of a snapshot event is its payload, without a request', async () => {
    const before = api.requests.length
    const event = stripeEvent({ type: 'invoice.paid' })
    const res = await h.post('stripe', ...signed(event))
    await h.waitForStatus(res.body.id, 'processed')
    expect(await labelsOf(res.body.id)).toEqual([`payload:${event.id}`])
    expect(api.requests.length).toBe(before)
  })
})

describe('a malformed thin event', () => {
  for (const [name, body] of [
    ['without an id', { ...stripeThinEvent(), id: undefined }],
    ['with a context that is no account', { ...stripeThinEvent(), context: { acct: 1 } }],
    ['with an unreadable time', { ...stripeThinEvent(), created: 'not a time' }],
  ] as const) {
    it(`${name} is refused with a 400 and stores nothing`, async () => {
      const before = await h.count(`SELECT count(*)::int AS n FROM hookline.hookline_events`)
      const res = await h.post('stripe', ...signed(body))
      expect(res.status).toBe(400)
      expect(res.body.error.code).toBe('hookline.payload_malformed')
      expect(await h.count(`SELECT count(*)::int AS n FROM hookline.hookline_events`)).toBe(before)
    })
  }

  it('signed with a secret we do not hold is a 401', async () => {
    const res = await h.post('stripe', ...signed(stripeThinEvent(), 'whsec_someone_else'))
    expect(res.status).toBe(401)
  })
})

describe('reconciliation with thin events on', () => {
  it('lists /v2/core/events too and recovers the thin event the webhooks missed, processed once', async () => {
    const delivered = thinEvent('delivered', { created: new Date(Date.now() - 3_600_000) })
    const missed = thinEvent('recovered-by-reconcile', { created: new Date(Date.now() - 1_800_000), relatedObject: { id: 'acct_missed', type: 'v2.core.account', url: '/v2/core/accounts/acct_missed' } })
    const res = await h.post('stripe', ...signed(delivered))
    expect(res.status).toBe(200)
    await h.waitForStatus(res.body.id, 'processed')

    const run = await h.hookline.reconcileNow({ provider: 'stripe', trigger: 'test' })
    expect(run).toMatchObject({ status: 'succeeded', errors: 0, recovered: 1 })
    expect(api.requests.some((r) => r.path === '/v2/core/events' && r.query['created[gte]'] !== undefined)).toBe(true)
    const [recovered] = await h.prisma.event.findMany({ where: { eventKey: missed.id as string } })
    await h.waitForStatus(recovered!.id, 'processed')
    expect(recovered).toMatchObject({ source: 'reconcile', type: 'v2.core.account.updated', entityKey: 'acct_missed' })
    expect(await labelsOf(recovered!.id)).toEqual(['recovered-by-reconcile'])

    const again = await h.hookline.reconcileNow({ provider: 'stripe', trigger: 'test' })
    expect(again).toMatchObject({ status: 'succeeded', recovered: 0 })
  })
})

/** The body and headers of a signed delivery of `event`, as `h.post` takes them after the provider. */
function signed(event: unknown, secret = STRIPE_TEST_SECRET): [string, Record<string, string>] {
  const { body, headers } = signedStripeDelivery(event, { secret })
  return [body, headers]
}

/**
 * @module Standard Webhooks deliveries through the HTTP ingress, against real Postgres and Redis:
 * a signed message is stored and processed once, a retry of the same `webhook-id` is a duplicate,
 * a forged one is refused and leaves nothing behind.
 */
import { standardWebhooksAdapter } from '@hookline/standard-webhooks'
import { signedStandardWebhook, STANDARD_WEBHOOK_SAMPLES, STANDARD_WEBHOOKS_TEST_SECRET, standardWebhookEvent } from '@hookline/testkit'
import { Webhook as SvixWebhook } from 'svix'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, startHarness } from './support/harness.ts'

const ROTATED_SECRET = 'whsec_cm90YXRlZC1zdGFuZGFyZC13ZWJob29rcy1zZWNyZXQ='
let h: Harness

beforeAll(async () => {
  h = await startHarness({
    adapters: [
      standardWebhooksAdapter({ secrets: [ROTATED_SECRET, STANDARD_WEBHOOKS_TEST_SECRET] }),
      // Resend names its object's id `email_id` and its time `created_at`: extractors of its own.
      standardWebhooksAdapter({
        name: 'resend',
        secrets: [STANDARD_WEBHOOKS_TEST_SECRET],
        entity: (m) => (m.payload as { data?: { email_id?: string } }).data?.email_id ?? null,
        occurredAt: (m) => new Date((m.payload as { created_at: string }).created_at),
      }),
    ],
  })
})
afterAll(async () => h?.close())

async function rowsFor(eventKey: string): Promise<number> {
  const rows = await h.prisma.$queryRawUnsafe<{ n: number }[]>(`SELECT count(*)::int AS n FROM hookline.hookline_events WHERE provider = 'standard' AND event_key = $1`, eventKey)
  return rows[0]!.n
}

async function effectsOf(id: string): Promise<number> {
  const rows = await h.prisma.$queryRawUnsafe<{ n: number }[]>(`SELECT count(*)::int AS n FROM effects WHERE event_id = $1::uuid`, id)
  return rows[0]!.n
}

describe('a signed Standard Webhooks message', () => {
  const messageId = `msg_e2e_${Date.now()}`

  it('is acknowledged once durable, stored with its identity and processed once', async () => {
    const { body, headers } = signedStandardWebhook(STANDARD_WEBHOOK_SAMPLES.invoicePaid, { id: messageId })
    const res = await h.post('standard', body, headers)
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ id: expect.any(String), duplicate: false })
    const row = await h.waitForStatus(res.body.id, 'processed')
    expect(row.attempts).toBe(1)
    expect(await effectsOf(res.body.id)).toBe(1)
    const stored = await h.prisma.event.findUniqueOrThrow({ where: { id: res.body.id } })
    expect(stored).toMatchObject({ provider: 'standard', eventKey: messageId, type: 'invoice.paid', tenant: null, entityKey: 'inv_2Rk8TzQm', source: 'webhook' })
    expect(stored.occurredAt?.toISOString()).toBe(STANDARD_WEBHOOK_SAMPLES.invoicePaid.timestamp)
    expect(Buffer.from(stored.rawBody!).toString()).toBe(body)
  })

  it('retried with the same webhook-id is a duplicate: one row, the handler ran once', async () => {
    const [first] = await h.prisma.event.findMany({ where: { provider: 'standard', eventKey: messageId } })
    // A sender's retry is re-signed at its own time; only webhook-id stays the same.
    const retry = signedStandardWebhook(STANDARD_WEBHOOK_SAMPLES.invoicePaid, { id: messageId, at: new Date(Date.now() + 2_000) })
    const res = await h.post('standard', retry.body, retry.headers)
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ id: first!.id, duplicate: true })
    expect(await rowsFor(messageId)).toBe(1)
    // Give a wrongly enqueued second run the time to show up before counting effects.
    await new Promise((r) => setTimeout(r, 300))
    expect(await effectsOf(first!.id)).toBe(1)
    expect((await h.prisma.event.findUniqueOrThrow({ where: { id: first!.id } })).deliveries).toBe(2)
  })

  it('signed with the second configured secret (rotation) is accepted', async () => {
    const { body, headers } = signedStandardWebhook(standardWebhookEvent({ type: 'contact.created' }), { secret: STANDARD_WEBHOOKS_TEST_SECRET })
    expect((await h.post('standard', body, headers)).status).toBe(200)
  })
})

describe('a forged Standard Webhooks message', () => {
  it('signed with a secret we do not hold → 401, nothing stored', async () => {
    const { body, headers } = signedStandardWebhook(standardWebhookEvent(), { id: 'msg_e2e_forged', secret: 'whsec_Zm9yZ2VkLWJ5LWFuLWF0dGFja2Vy' })
    const res = await h.post('standard', body, headers)
    expect(res.status).toBe(401)
    expect(res.body.error.code).toBe('hookline.signature_invalid')
    expect(await rowsFor('msg_e2e_forged')).toBe(0)
  })

  it('with a body altered after signing → 401, nothing stored', async () => {
    const { body, headers } = signedStandardWebhook(STANDARD_WEBHOOK_SAMPLES.invoicePaid, { id: 'msg_e2e_tampered' })
    const res = await h.post('standard', body.replace('4200', '1'), headers)
    expect(res.status).toBe(401)
    expect(await rowsFor('msg_e2e_tampered')).toBe(0)
  })
})

describe('what real senders send', () => {
  /** Signed by Svix's own library, with the `svix-*` headers senders built on it (Clerk, Resend…) use. */
  function svixDelivery(payload: unknown, id: string): { body: string; headers: Record<string, string> } {
    const body = JSON.stringify(payload)
    const at = new Date()
    const signature = new SvixWebhook(STANDARD_WEBHOOKS_TEST_SECRET).sign(id, at, body)
    return { body, headers: { 'content-type': 'application/json', 'svix-id': id, 'svix-timestamp': String(Math.floor(at.getTime() / 1000)), 'svix-signature': signature } }
  }

  it('a message signed by Svix with svix-* headers is accepted and stored under its svix-id', async () => {
    const id = `msg_svix_${Date.now()}`
    const { body, headers } = svixDelivery({ type: 'user.created', timestamp: '2026-12-01T10:00:00.000Z', data: { id: 'user_29w83sxmDNGwOuEthce5gg56FcC' } }, id)
    const res = await h.post('standard', body, headers)
    expect(res.status).toBe(200)
    const stored = await h.prisma.event.findUniqueOrThrow({ where: { id: res.body.id } })
    expect(stored).toMatchObject({ eventKey: id, type: 'user.created', entityKey: 'user_29w83sxmDNGwOuEthce5gg56FcC' })
    expect(stored.occurredAt?.toISOString()).toBe('2026-12-01T10:00:00.000Z')
    // Svix's signature over other headers' values is still checked: a changed svix-id is refused.
    const forged = await h.post('standard', body, { ...headers, 'svix-id': `${id}_other` })
    expect(forged.status).toBe(401)
  })

  it("Clerk's payload (a timestamp in milliseconds, the object in data) is stored with its type, user and time", async () => {
    const id = `msg_clerk_${Date.now()}`
    const clerk = {
      data: { id: 'user_2g7np7Hrk0SN6kj5EDMLDaKNL0S', object: 'user', first_name: 'Ada', email_addresses: [{ email_address: 'ada@example.com', id: 'idn_2g7np' }] },
      instance_id: 'ins_2g7np2tmbBJcYW5nCrgOBkOb6mr',
      object: 'event',
      timestamp: 1_764_583_200_123,
      type: 'user.created',
    }
    const { body, headers } = svixDelivery(clerk, id)
    const res = await h.post('standard', body, headers)
    expect(res.status).toBe(200)
    const stored = await h.prisma.event.findUniqueOrThrow({ where: { id: res.body.id } })
    expect(stored).toMatchObject({ eventKey: id, type: 'user.created', entityKey: 'user_2g7np7Hrk0SN6kj5EDMLDaKNL0S' })
    expect(stored.occurredAt?.toISOString()).toBe(new Date(1_764_583_200_123).toISOString())
    await h.waitForStatus(res.body.id, 'processed')
  })

  it("Resend's payload is accepted as it is, and its own extractors give the email as the entity", async () => {
    const resend = {
      type: 'email.delivered',
      created_at: '2026-12-01T10:00:05.000Z',
      data: { created_at: '2026-12-01T10:00:00.000Z', email_id: '56761188-7520-42d8-8898-ff6fc54ce618', from: 'Acme <onboarding@resend.dev>', to: ['delivered@resend.dev'], subject: 'Sending this example' },
    }
    const first = svixDelivery(resend, `msg_resend_plain_${Date.now()}`)
    const plain = await h.post('standard', first.body, first.headers)
    expect(plain.status).toBe(200)
    // With the defaults: the type is read, the entity (no data.id) is none.
    expect(await h.prisma.event.findUniqueOrThrow({ where: { id: plain.body.id } })).toMatchObject({ type: 'email.delivered', entityKey: null })

    const id = `msg_resend_${Date.now()}`
    const { body, headers } = svixDelivery(resend, id)
    const res = await h.post('resend', body, headers)
    expect(res.status).toBe(200)
    const stored = await h.prisma.event.findUniqueOrThrow({ where: { id: res.body.id } })
    expect(stored).toMatchObject({ provider: 'resend', eventKey: id, type: 'email.delivered', entityKey: '56761188-7520-42d8-8898-ff6fc54ce618' })
    expect(stored.occurredAt?.toISOString()).toBe('2026-12-01T10:00:05.000Z')
  })

  it('a numeric timestamp and a data without id drop only themselves: the type is kept', async () => {
    const id = `msg_odd_${Date.now()}`
    const { body, headers } = signedStandardWebhook({ type: 'email.sent', timestamp: 1_764_583_200, data: { to: ['a@example.com'] } }, { id })
    const res = await h.post('standard', body, headers)
    expect(res.status).toBe(200)
    const stored = await h.prisma.event.findUniqueOrThrow({ where: { id: res.body.id } })
    expect(stored).toMatchObject({ eventKey: id, type: 'email.sent', entityKey: null })
    expect(stored.occurredAt?.toISOString()).toBe(new Date(1_764_583_200_000).toISOString())
  })

  it('a data.id that is a number is the entity', async () => {
    const id = `msg_numeric_${Date.now()}`
    const { body, headers } = signedStandardWebhook({ type: 'order.paid', data: { id: 4242 } }, { id })
    const res = await h.post('standard', body, headers)
    expect(res.status).toBe(200)
    expect(await h.prisma.event.findUniqueOrThrow({ where: { id: res.body.id } })).toMatchObject({ entityKey: '4242' })
  })
})

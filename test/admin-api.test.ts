/**
 * The admin API through the service's own app (`createApp` with an admin token), against real
 * Postgres and Redis: auth, filters, pagination, detail, replay semantics (dead → processed once;
 * processed skipped unless forced; forced = a recorded second generation), dry runs, bulk-replay
 * throttling, ignore with a required note, and the audit log.
 */
import { createApp } from '../apps/hookline/src/service.ts'
import { type Handler, PermanentError } from '@hookline/core'
import { listenOnFreePort, signedStripeDelivery, stripeEvent, waitFor } from '@hookline/testkit'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, startHarness } from './support/harness.ts'

const TOKEN = 'admin-token-for-tests-0123456789'
/** Event keys whose handler refuses them until a test "fixes" the downstream. */
const broken = new Set<string>()

/** Records one effect per run, labelled with the generation the handler saw. */
const handler: Handler = async (event, { tx }) => {
  if (broken.has(event.eventKey)) throw new PermanentError('downstream refused the invoice')
  await tx.$executeRawUnsafe(`INSERT INTO effects (event_id, label) VALUES ($1::uuid, $2)`, event.id, `g${event.generation}`)
}

let h: Harness
let admin: { url: string; close(): Promise<void> }

beforeAll(async () => {
  h = await startHarness({ handlers: { '*': handler }, replay: { ratePerSecond: 1000 } })
  admin = await listenOnFreePort(createApp(h.hookline, { adminToken: TOKEN }))
})
afterAll(async () => {
  await admin?.close()
  await h?.close()
})

async function api(method: string, path: string, body?: unknown, token: string | null = TOKEN): Promise<{ status: number; body: any; headers: Headers }> {
  const headers: Record<string, string> = { 'x-hookline-actor': 'ana@support' }
  if (token !== null) headers.authorization = `Bearer ${token}`
  if (body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(`${admin.url}/admin/api${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers }
}

/** Posts a signed Stripe event and waits until it is processed or dead; returns its inbox id. */
async function deliver(options: { tenant: string; type?: string; fail?: boolean; object?: Record<string, unknown> }): Promise<string> {
  const event = stripeEvent({ account: options.tenant, type: options.type ?? 'invoice.paid', ...(options.object ? { object: options.object } : {}) })
  if (options.fail) broken.add(event.id as string)
  const { body, headers } = signedStripeDelivery(event)
  const res = await h.post('stripe', body, { ...headers, authorization: 'Bearer provider-hop-credential' })
  expect(res.status).toBe(200)
  await h.waitForStatus(res.body.id, options.fail ? 'dead' : 'processed')
  return res.body.id
}

async function effects(id: string): Promise<string[]> {
  const rows = await h.prisma.$queryRawUnsafe<{ label: string }[]>(`SELECT label FROM effects WHERE event_id = $1::uuid ORDER BY id`, id)
  return rows.map((r) => r.label)
}

async function auditRows(where: string, ...values: unknown[]): Promise<{ actor: string; action: string; event_id: string | null; filter: any; count: number | null; note: string | null }[]> {
  return h.prisma.$queryRawUnsafe(`SELECT actor, action, event_id::text, filter, count, note FROM hookline.hookline_audit_log WHERE ${where} ORDER BY id`, ...values)
}

describe('authentication', () => {
  it('refuses a missing or wrong token with 401, accepts the right one', async () => {
    const missing = await api('GET', '/events', undefined, null)
    expect(missing.status).toBe(401)
    expect(missing.body.error.code).toBe('hookline.admin_unauthorized')
    expect(missing.headers.get('www-authenticate')).toContain('Bearer')
    expect((await api('GET', '/events', undefined, 'wrong')).status).toBe(401)
    expect((await api('GET', '/events', undefined, `${TOKEN}x`)).status).toBe(401)
    expect((await api('POST', '/replay', { dryRun: true }, 'wrong')).status).toBe(401)
    const ok = await api('GET', '/events')
    expect(ok.status).toBe(200)
    expect(ok.headers.get('cache-control')).toBe('no-store')
  })

  it('does not exist when no token is configured', async () => {
    const bare = await listenOnFreePort(createApp(h.hookline))
    try {
      expect((await fetch(`${bare.url}/admin/api/events`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(404)
      expect((await fetch(`${bare.url}/admin`)).status).toBe(404)
    } finally {
      await bare.close()
    }
  })
})

describe('listing and detail', () => {
  const ids: Record<string, string> = {}
  beforeAll(async () => {
    ids.a1 = await deliver({ tenant: 'acct_list_a', type: 'invoice.paid' })
    ids.a2 = await deliver({ tenant: 'acct_list_a', type: 'invoice.payment_failed' })
    ids.a3 = await deliver({ tenant: 'acct_list_a', type: 'customer.updated' })
    ids.a4 = await deliver({ tenant: 'acct_list_a', type: 'invoice.paid', fail: true })
    ids.b1 = await deliver({ tenant: 'acct_list_b', type: 'invoice.paid' })
  })

  it('filters by tenant, status, exact type, type prefix, provider and free-text event key', async () => {
    const byTenant = await api('GET', '/events?tenant=acct_list_a')
    expect(byTenant.status).toBe(200)
    expect(byTenant.body.events.map((e: any) => e.id)).toEqual([ids.a4, ids.a3, ids.a2, ids.a1]) // newest first
    expect(byTenant.body.nextCursor).toBeNull()
    expect(byTenant.body.events[0]).toEqual({
      id: ids.a4,
      provider: 'stripe',
      eventKey: expect.stringMatching(/^evt_/),
      type: 'invoice.paid',
      tenant: 'acct_list_a',
      entityKey: expect.stringMatching(/^in_/),
      status: 'dead',
      attempts: 1,
      deliveries: 1,
      source: 'webhook',
      receivedAt: expect.any(String),
      processedAt: null,
      generation: 1,
      lastError: 'PermanentError: downstream refused the invoice',
      nextAttemptAt: null,
      maxAttempts: expect.any(Number),
    })

    const dead = await api('GET', '/events?tenant=acct_list_a&status=dead')
    expect(dead.body.events.map((e: any) => e.id)).toEqual([ids.a4])
    const two = await api('GET', '/events?tenant=acct_list_a&status=dead,processed&type=invoice.paid')
    expect(two.body.events.map((e: any) => e.id)).toEqual([ids.a4, ids.a1])
    const prefix = await api('GET', '/events?tenant=acct_list_a&type=invoice.*')
    expect(prefix.body.events.map((e: any) => e.id)).toEqual([ids.a4, ids.a2, ids.a1])
    expect((await api('GET', '/events?tenant=acct_list_a&provider=github')).body.events).toEqual([])

    const key = byTenant.body.events[2].eventKey as string
    const byKey = await api('GET', `/events?key=${key.slice(4, 16).toUpperCase()}`)
    expect(byKey.body.events.map((e: any) => e.id)).toEqual([ids.a2])
    expect((await api('GET', `/events?key=${ids.b1}`)).body.events.map((e: any) => e.id)).toEqual([ids.b1])
    // `q` is the older name of `key`, still accepted; `key` wins when both are given.
    expect((await api('GET', `/events?q=${key.slice(4, 16)}`)).body.events.map((e: any) => e.id)).toEqual([ids.a2])
    expect((await api('GET', `/events?q=${ids.b1}`)).body.events.map((e: any) => e.id)).toEqual([ids.b1])
    expect((await api('GET', `/events?key=${ids.b1}&q=${key}`)).body.events.map((e: any) => e.id)).toEqual([ids.b1])
  })

  it('filters by time range, absolute or relative', async () => {
    const detail = await api('GET', `/events/${ids.a3}`)
    const at = new Date(detail.body.receivedAt).getTime()
    const since = new Date(at).toISOString()
    const until = new Date(at + 1).toISOString()
    const window = await api('GET', `/events?tenant=acct_list_a&since=${since}&until=${until}`)
    expect(window.body.events.map((e: any) => e.id)).toEqual([ids.a3])
    expect((await api('GET', '/events?tenant=acct_list_a&since=1h')).body.events).toHaveLength(4)
    expect((await api('GET', '/events?tenant=acct_list_a&until=1h')).body.events).toHaveLength(0)
  })

  it('pages with a cursor, without repeats or gaps', async () => {
    const seen: string[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const res: { status: number; body: any } = await api('GET', `/events?tenant=acct_list_a&limit=3${cursor ? `&cursor=${cursor}` : ''}`)
      expect(res.status).toBe(200)
      seen.push(...res.body.events.map((e: any) => e.id))
      cursor = res.body.nextCursor
      pages++
    } while (cursor)
    expect(pages).toBe(2)
    expect(seen).toEqual([ids.a4, ids.a3, ids.a2, ids.a1])
  })

  it('refuses invalid filters with 400 and says which', async () => {
    const cases = ['status=gone', 'since=last tuesday', 'limit=0', 'limit=501', 'cursor=bm9wZQ', 'tenatn=acct_list_a']
    for (const query of cases) {
      const res = await api('GET', `/events?${query}`)
      expect(res.status, query).toBe(400)
      expect(res.body.error.code).toBe('hookline.request_invalid')
    }
    expect((await api('GET', '/events?status=gone')).body.error.message).toMatch(/^status/)
  })

  it('shows an event with its payload, kept headers, attempts with errors and deliveries', async () => {
    const res = await api('GET', `/events/${ids.a4}`)
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ id: ids.a4, status: 'dead', tenant: 'acct_list_a', deliveries: 1, source: 'webhook', stale: false, note: null })
    expect(res.body.payload).toMatchObject({ object: 'event', type: 'invoice.paid', account: 'acct_list_a' })
    expect(res.body.headers['stripe-signature']).toMatch(/^t=\d+,v1=/)
    expect(res.body.headers).not.toHaveProperty('authorization')
    expect(res.body.attemptLog).toEqual([
      {
        n: 1,
        generation: 1,
        startedAt: expect.any(String),
        finishedAt: expect.any(String),
        durationMs: expect.any(Number),
        outcome: 'dead',
        error: 'PermanentError: downstream refused the invoice',
        stack: expect.stringMatching(/^PermanentError: downstream refused the invoice\n\s+at /),
      },
    ])
    expect(res.body.audit).toEqual([])
  })

  it('answers 404 for an unknown or malformed id', async () => {
    expect((await api('GET', '/events/7d1f9a34-52a6-4c1f-9c6c-0b0e8f8d7a11')).status).toBe(404)
    const bad = await api('GET', '/events/not-a-uuid')
    expect(bad.status).toBe(404)
    expect(bad.body.error.code).toBe('hookline.event_not_found')
    expect((await api('POST', '/events/not-a-uuid/replay', {})).status).toBe(404)
  })

  it('lists the DLQ with its depth, and counts per provider in /stats', async () => {
    const dlq = await api('GET', '/dlq?tenant=acct_list_a')
    expect(dlq.status).toBe(200)
    expect(dlq.body.events.map((e: any) => e.id)).toEqual([ids.a4])
    expect(dlq.body.depth).toBeGreaterThanOrEqual(1)
    expect((await api('GET', '/dlq?status=processed')).status).toBe(400)

    const stats = await api('GET', '/stats?since=1h&bucket=15m')
    expect(stats.status).toBe(200)
    expect(stats.body.bucketSeconds).toBe(900)
    const stripe = stats.body.providers.find((p: any) => p.provider === 'stripe')
    expect(stripe.received).toBeGreaterThanOrEqual(5)
    expect(stripe.dead).toBeGreaterThanOrEqual(1)
    expect(stats.body.dlq.depth).toBe(dlq.body.depth)
    expect(stats.body.series.length).toBeGreaterThanOrEqual(1)
    expect(stats.body.series[0]).toMatchObject({ at: expect.any(String), provider: 'stripe' })
    expect((await api('GET', '/stats?bucket=1s')).status).toBe(400)
  })
})

describe('replaying one event', () => {
  it('a dead event, once fixed, is processed exactly once and the replay is audited', async () => {
    const id = await deliver({ tenant: 'acct_replay', fail: true })
    const detail = (await api('GET', `/events/${id}`)).body
    broken.delete(detail.eventKey)

    const res = await api('POST', `/events/${id}/replay`, { note: 'downstream fixed' })
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ id, enqueued: true, status: 'received', generation: 1 })
    await h.waitForStatus(id, 'processed')
    expect(await effects(id)).toEqual(['g1'])

    const after = (await api('GET', `/events/${id}`)).body
    expect(after.attempts).toBe(1)
    expect(after.lastError).toBeNull()
    expect(after.attemptLog.map((a: any) => [a.generation, a.n, a.outcome])).toEqual([[1, 1, 'dead'], [1, 2, 'succeeded']])
    expect(after.audit).toEqual([{ at: expect.any(String), actor: 'ana@support', action: 'replay', filter: { force: false }, count: 1, note: 'downstream fixed' }])

    // A second replay of the now processed event changes nothing.
    const again = await api('POST', `/events/${id}/replay`, {})
    expect(again.body).toMatchObject({ enqueued: false, status: 'processed' })
    await new Promise((r) => setTimeout(r, 200))
    expect(await effects(id)).toEqual(['g1'])
  })

  it('a processed event is skipped without force, and runs as generation 2 with force', async () => {
    const id = await deliver({ tenant: 'acct_replay' })
    const skipped = await api('POST', `/events/${id}/replay`, {})
    expect(skipped.status).toBe(200)
    expect(skipped.body).toEqual({ id, enqueued: false, status: 'processed', generation: 1, reason: expect.stringContaining('force') })
    expect(await auditRows('event_id = $1::uuid', id)).toEqual([])

    const forced = await api('POST', `/events/${id}/replay`, { force: true, note: 'customer asked for a resend' })
    expect(forced.body).toEqual({ id, enqueued: true, status: 'received', generation: 2 })
    await h.waitForStatus(id, 'processed')
    expect(await effects(id)).toEqual(['g1', 'g2'])
    const detail = (await api('GET', `/events/${id}`)).body
    expect(detail.generation).toBe(2)
    expect(detail.attemptLog.map((a: any) => [a.generation, a.n, a.outcome])).toEqual([[1, 1, 'succeeded'], [2, 2, 'succeeded']])
    expect(await auditRows('event_id = $1::uuid', id)).toEqual([
      { actor: 'ana@support', action: 'replay', event_id: id, filter: { force: true }, count: 1, note: 'customer asked for a resend' },
    ])
  })

  it('refuses unknown body fields', async () => {
    const id = await deliver({ tenant: 'acct_replay' })
    const res = await api('POST', `/events/${id}/replay`, { forse: true })
    expect(res.status).toBe(400)
    expect(res.body.error.message).toContain('forse')
  })
})

describe('ignoring an event', () => {
  it('requires a note, closes a dead event as ignored, audits it, and can be undone by a replay', async () => {
    const id = await deliver({ tenant: 'acct_ignore', fail: true })
    for (const body of [{}, { note: '' }, { note: '   ' }, { note: 42 }]) {
      const res = await api('POST', `/events/${id}/ignore`, body)
      expect(res.status, JSON.stringify(body)).toBe(400)
      expect(res.body.error.code).toBe('hookline.request_invalid')
    }
    const invalidJson = await fetch(`${admin.url}/admin/api/events/${id}/ignore`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: '{"note": ',
    })
    expect(invalidJson.status).toBe(400)
    expect((await api('GET', `/events/${id}`)).body.status).toBe('dead')

    const res = await api('POST', `/events/${id}/ignore`, { note: 'test account, nothing to apply' })
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ id, status: 'ignored', note: 'test account, nothing to apply' })
    const detail = (await api('GET', `/events/${id}`)).body
    expect(detail).toMatchObject({ status: 'ignored', note: 'test account, nothing to apply' })
    // Closed: no longer in the work list (not a dead letter any more, nothing for the sweeper).
    expect(await h.prisma.dueEvent.count({ where: { eventId: id } })).toBe(0)
    expect(await auditRows('event_id = $1::uuid', id)).toEqual([
      { actor: 'ana@support', action: 'ignore', event_id: id, filter: null, count: 1, note: 'test account, nothing to apply' },
    ])

    // A bulk replay by filter leaves ignored events alone…
    const bulk = await api('POST', '/replay', { tenant: 'acct_ignore', dryRun: true })
    expect(bulk.body).toMatchObject({ matched: 1, replayable: 0, byStatus: { ignored: 1 } })
    // …a replay by id brings it back.
    broken.delete(detail.eventKey)
    expect((await api('POST', `/events/${id}/replay`, {})).body.enqueued).toBe(true)
    await h.waitForStatus(id, 'processed')
  })

  it('refuses to ignore a processed event (409) or an unknown one (404)', async () => {
    const id = await deliver({ tenant: 'acct_ignore' })
    const res = await api('POST', `/events/${id}/ignore`, { note: 'too late' })
    expect(res.status).toBe(409)
    expect(res.body.error.code).toBe('hookline.event_state_conflict')
    expect((await api('POST', '/events/7d1f9a34-52a6-4c1f-9c6c-0b0e8f8d7a11/ignore', { note: 'x' })).status).toBe(404)
  })
})

describe('bulk replay by filter', () => {
  it('a dry run counts by status and changes nothing; the real run replays the dead ones once', async () => {
    const dead = [await deliver({ tenant: 'acct_bulk', fail: true }), await deliver({ tenant: 'acct_bulk', fail: true }), await deliver({ tenant: 'acct_bulk', fail: true })]
    const done = await deliver({ tenant: 'acct_bulk' })
    const other = await deliver({ tenant: 'acct_bulk_other', fail: true })
    const before = await h.prisma.$queryRawUnsafe(`SELECT id, status, attempts, generation, updated_at FROM hookline.hookline_events ORDER BY id`)

    const dry = await api('POST', '/replay', { tenant: 'acct_bulk', dryRun: true })
    expect(dry.status).toBe(200)
    expect(dry.body).toEqual({ dryRun: true, matched: 4, replayable: 3, enqueued: 0, byStatus: { dead: 3, processed: 1 } })
    const forcedDry = await api('POST', '/replay', { tenant: 'acct_bulk', dryRun: true, force: true })
    expect(forcedDry.body).toMatchObject({ matched: 4, replayable: 4, enqueued: 0 })
    expect(await h.prisma.$queryRawUnsafe(`SELECT id, status, attempts, generation, updated_at FROM hookline.hookline_events ORDER BY id`)).toEqual(before)
    expect(await auditRows(`action = 'replay.bulk'`)).toEqual([])

    for (const id of [...dead, other]) broken.delete((await api('GET', `/events/${id}`)).body.eventKey)
    const run = await api('POST', '/replay', { tenant: 'acct_bulk', status: 'dead', note: 'bulk after the outage' })
    expect(run.body).toEqual({ dryRun: false, matched: 3, replayable: 3, enqueued: 3, byStatus: { dead: 3 } })
    for (const id of dead) {
      await h.waitForStatus(id, 'processed')
      expect(await effects(id)).toEqual(['g1'])
    }
    expect(await effects(done)).toEqual(['g1'])
    expect((await api('GET', `/events/${other}`)).body.status).toBe('dead')

    expect(await auditRows(`action = 'replay.bulk'`)).toEqual([
      { actor: 'ana@support', action: 'replay.bulk', event_id: null, filter: { tenant: 'acct_bulk', status: ['dead'], force: false }, count: 3, note: 'bulk after the outage' },
    ])
    expect(await auditRows(`action = 'replay' AND event_id = ANY($1::uuid[])`, dead)).toHaveLength(3)

    // Replaying the same filter again finds nothing left to do.
    expect((await api('POST', '/replay', { tenant: 'acct_bulk', status: 'dead' })).body).toMatchObject({ matched: 0, enqueued: 0 })
  })

  it('replays a list of ids, forced ones as a new generation, and refuses a force without filter', async () => {
    const a = await deliver({ tenant: 'acct_ids' })
    const b = await deliver({ tenant: 'acct_ids' })
    const res = await api('POST', '/replay', { ids: [a, b], force: true })
    expect(res.body).toMatchObject({ matched: 2, enqueued: 2 })
    await waitFor(async () => (await effects(a)).length === 2 && (await effects(b)).length === 2, { what: 'both replays' })
    expect(await effects(a)).toEqual(['g1', 'g2'])

    const unfiltered = await api('POST', '/replay', { force: true })
    expect(unfiltered.status).toBe(400)
    expect((await api('POST', '/replay', { ids: ['nope'] })).status).toBe(400)
  })
})

describe('bulk replay throttling', () => {
  it('releases replayed events at the configured rate through delayed jobs', async () => {
    // No worker, so the queue can be inspected as the replay left it.
    const idle = await startHarness({ startWorker: false, replay: { ratePerSecond: 4 } })
    const server = await listenOnFreePort(createApp(idle.hookline, { adminToken: TOKEN }))
    try {
      const rows = await idle.prisma.$queryRawUnsafe<{ id: string }[]>(
        `WITH ev AS (
           INSERT INTO hookline.hookline_events (provider, event_key, type, tenant, payload, status, attempts)
           SELECT 'stripe', 'evt_throttle_' || g, 'invoice.paid', 'acct_throttle', '{}', 'dead', 8 FROM generate_series(1, 5) g
           RETURNING id
         ), dlq AS (INSERT INTO hookline.hookline_due_events (event_id, due_at) SELECT id, NULL FROM ev)
         SELECT id::text FROM ev`,
      )
      const res = await fetch(`${server.url}/admin/api/replay`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ tenant: 'acct_throttle' }),
      })
      expect(await res.json()).toMatchObject({ matched: 5, enqueued: 5 })
      const queue = idle.hookline.dispatcher.queue
      const delays = (await queue.getJobs(['waiting', 'delayed'])).map((j) => j.opts.delay ?? 0).sort((x, y) => x - y)
      expect(delays).toEqual([0, 250, 500, 750, 1000])
      const statuses = await idle.prisma.$queryRawUnsafe<{ status: string; attempts: number }[]>(
        `SELECT DISTINCT status::text, attempts FROM hookline.hookline_events WHERE id = ANY($1::uuid[])`,
        rows.map((r) => r.id),
      )
      expect(statuses).toEqual([{ status: 'received', attempts: 0 }])
      // Back in the work list, due for the sweeper only after the last slot (1 s) and the grace.
      const due = await idle.prisma.dueEvent.findMany({ where: { eventId: { in: rows.map((r) => r.id) } } })
      expect(due).toHaveLength(5)
      for (const { dueAt } of due) expect(dueAt!.getTime()).toBeGreaterThan(Date.now() + 1000)
    } finally {
      await server.close()
      await idle.close()
    }
  })
})

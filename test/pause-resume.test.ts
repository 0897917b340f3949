/**
 * Pause and resume through the admin API, against real Postgres and Redis: while a provider is
 * paused its deliveries are accepted and stored but none runs or spends an attempt; on resume each
 * runs once, the events of one entity in their order; both actions are audited.
 */
import { createApp } from '../apps/hookline/src/service.ts'
import { listenOnFreePort, signedStripeDelivery, stripeEvent, waitFor } from '@hookline/testkit'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, recordEffect, startHarness } from './support/harness.ts'

const TOKEN = 'admin-token-for-tests-0123456789'
const ENTITIES = 4
const PER_ENTITY = 10

let h: Harness
let admin: { url: string; close(): Promise<void> }

beforeAll(async () => {
  h = await startHarness({ handlers: { 'stripe:*': recordEffect } as never, worker: { concurrency: 16, batchSize: 8 } })
  admin = await listenOnFreePort(createApp(h.hookline, { adminToken: TOKEN }))
})
afterAll(async () => {
  await admin?.close()
  await h?.close()
})

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { authorization: `Bearer ${TOKEN}`, 'x-hookline-actor': 'ana@support' }
  if (body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(`${admin.url}/admin/api${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : undefined }
}

describe('pause and resume', () => {
  it('holds a paused provider without spending attempts, then runs each event once, in order per entity', async () => {
    const paused = await api('POST', '/pause', { provider: 'stripe', note: 'crm migration' })
    expect(paused.status).toBe(200)
    expect(paused.body.pause).toMatchObject({ provider: 'stripe', actor: 'ana@support' })
    expect((await api('GET', '/pauses')).body.pauses).toMatchObject([{ provider: 'stripe', note: 'crm migration' }])

    // Interleaved entities, each event a second newer than the one before of its entity.
    const base = Math.floor(Date.now() / 1000) - 100
    const ids: string[] = []
    for (let n = 0; n < PER_ENTITY; n++) {
      for (let e = 0; e < ENTITIES; e++) {
        const { body, headers } = signedStripeDelivery(stripeEvent({ created: base + n, object: { id: `in_entity_${e}`, label: `${e}:${n}` } }))
        const res = await h.post('stripe', body, headers)
        expect(res.status).toBe(200)
        ids.push(res.body.id)
      }
    }
    // Every event was claimed and put back: due far ahead, no attempt spent, nothing ran.
    await waitFor(
      async () => (await h.count(`SELECT count(*)::int AS n FROM hookline.hookline_due_events d JOIN hookline.hookline_events e ON e.id = d.event_id
                                  WHERE e.status = 'received' AND e.attempts = 0 AND d.due_at > now() + interval '30 minutes'`)) === ids.length,
      { what: 'every paused event held', timeoutMs: 20_000 },
    )
    expect(await h.count(`SELECT count(*)::int AS n FROM effects`)).toBe(0)
    expect(await h.count(`SELECT count(*)::int AS n FROM hookline.hookline_attempts`)).toBe(0)
    const detail = await api('GET', `/events/${ids[0]}`)
    expect(detail.body.held).toMatchObject({ reason: 'paused', route: 'stripe' })
    expect(Date.parse(detail.body.held.since)).toBe(Date.parse(paused.body.pause.since))
    expect(await h.hookline.metrics.render()).toContain(`hookline_events_held{provider="stripe",reason="paused"} ${ids.length}`)

    const resumed = await api('POST', '/resume', { provider: 'stripe' })
    expect(resumed).toMatchObject({ status: 200, body: { released: ids.length } })
    expect((await api('GET', '/pauses')).body.pauses).toEqual([])
    await h.waitAllProcessed(30_000)

    const effects = await h.prisma.$queryRawUnsafe<{ event_id: string; label: string }[]>(`SELECT event_id::text, label FROM effects ORDER BY at, id`)
    expect(effects).toHaveLength(ids.length)
    expect(new Set(effects.map((r) => r.event_id)).size).toBe(ids.length)
    for (let e = 0; e < ENTITIES; e++) {
      const labels = effects.filter((r) => r.label.startsWith(`${e}:`)).map((r) => r.label)
      expect(labels).toEqual(Array.from({ length: PER_ENTITY }, (_, n) => `${e}:${n}`))
    }
    expect(await h.count(`SELECT count(*)::int AS n FROM hookline.hookline_events WHERE attempts <> 1`)).toBe(0)
    expect((await api('GET', `/events/${ids[0]}`)).body.held).toBeUndefined()
    // The gauge counts what waits now: nothing once resumed (its count is reused a few seconds).
    await waitFor(async () => !(await h.hookline.metrics.render()).includes('hookline_events_held{'), { what: 'no event counted as held', timeoutMs: 20_000 })

    const audit = await h.prisma.$queryRawUnsafe<{ actor: string; action: string; filter: any; count: number | null; note: string | null }[]>(
      `SELECT actor, action, filter, count, note FROM hookline.hookline_audit_log WHERE action IN ('pause', 'resume') ORDER BY id`,
    )
    expect(audit).toEqual([
      { actor: 'ana@support', action: 'pause', filter: { provider: 'stripe' }, count: null, note: 'crm migration' },
      { actor: 'ana@support', action: 'resume', filter: { provider: 'stripe' }, count: ids.length, note: null },
    ])
  })

  it('pauses one type prefix only; other types keep running', async () => {
    expect((await api('POST', '/pause', { provider: 'stripe', type: 'customer.*' })).status).toBe(200)
    const held = await h.sendStripeEvent({ type: 'customer.updated' })
    const runs = await h.sendStripeEvent({ type: 'invoice.paid' })
    await h.waitForStatus(runs, 'processed')
    await waitFor(async () => (await h.count(`SELECT count(*)::int AS n FROM hookline.hookline_due_events WHERE event_id = $1::uuid AND due_at > now() + interval '30 minutes'`, held)) === 1, { what: 'customer.updated held' })
    expect((await api('POST', '/resume', { provider: 'stripe', type: 'customer.*' })).body).toEqual({ released: 1 })
    await h.waitForStatus(held, 'processed')
  })

  it('refuses bad input with 400 and an unknown pause with 404', async () => {
    expect((await api('POST', '/pause', {})).status).toBe(400)
    expect((await api('POST', '/pause', { provider: 'stripe', type: 'in*voice' })).status).toBe(400)
    expect((await api('POST', '/pause', { provider: 'stripe', extra: 1 })).status).toBe(400)
    const missing = await api('POST', '/resume', { provider: 'github' })
    expect(missing.status).toBe(404)
    expect(missing.body.error.code).toBe('hookline.pause_not_found')
  })
})

/**
 * Stale-skipped events and attempts across replays, through the admin API and the CLI against real
 * Postgres and Redis: an event older than the newest one applied to its entity is `skipped_stale`
 * (listed, filtered and counted apart, a redelivery of it a duplicate, a forced replay of it a new
 * generation); attempt numbers continue across replays, each with its generation; `key=` and its
 * alias `q=` filter alike; a waiting event names the event it waits for.
 */
import type { Handler } from '@hookline/core'
import { listenOnFreePort, signedStripeDelivery, stripeEvent } from '@hookline/testkit'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../apps/hookline/src/service.ts'
import { runHookline } from './support/cli-process.ts'
import { type Harness, recordEffect, startHarness } from './support/harness.ts'
import { adminCall } from './support/admin-call.ts'

const TOKEN = 'skipped-stale-admin-token-0123456789'
const failing = new Set<string>()
/** `ctx.attempt` of every handler run, by event key. */
const seen = new Map<string, number[]>()

const handler: Handler = async (event, ctx) => {
  seen.set(event.eventKey, [...(seen.get(event.eventKey) ?? []), ctx.attempt])
  if (failing.has(event.eventKey)) throw new Error('ledger is locked')
  await recordEffect(event, ctx)
}

let h: Harness
let service: { url: string; close(): Promise<void> }

beforeAll(async () => {
  h = await startHarness({ handlers: { '*': handler }, retry: { maxAttempts: 2, backoffMs: 20 }, replay: { ratePerSecond: 1000 } })
  service = await listenOnFreePort(createApp(h.hookline, { adminToken: TOKEN }))
})
afterAll(async () => {
  await service?.close()
  await h?.close()
})

const api = (method: string, path: string, body?: unknown) => adminCall({ url: service.url, token: TOKEN }, method, path, body)

const hookline = (args: string[]) => runHookline(args, { url: service.url, token: TOKEN })
const idsOf = (page: { body: { events: { id: string }[] } }) => page.body.events.map((e) => e.id)

describe('skipped_stale', () => {
  const tenant = 'acct_skipped_stale'
  const entity = 'in_skipped_stale_1'
  const t = Math.floor(Date.now() / 1000)
  let newer: string
  let older: string
  let olderDelivery: { body: string; headers: Record<string, string> }

  beforeAll(async () => {
    newer = await h.sendStripeEvent({ account: tenant, type: 'invoice.updated', created: t, object: { id: entity, label: 'newer' } })
    await h.waitForStatus(newer, 'processed')
    olderDelivery = signedStripeDelivery(stripeEvent({ account: tenant, type: 'invoice.updated', created: t - 60, object: { id: entity, label: 'older' } }))
    const res = await h.post('stripe', olderDelivery.body, olderDelivery.headers)
    expect(res.body.duplicate).toBe(false)
    older = res.body.id
    await h.waitForStatus(older, 'skipped_stale')
  })

  it('is listed and shown as skipped_stale, and its handler did not run', async () => {
    const detail = await api('GET', `/events/${older}`)
    expect(detail.body).toMatchObject({ status: 'skipped_stale', stale: true, nextAttemptAt: null, waitingFor: null })
    expect(detail.body.attemptLog).toEqual([expect.objectContaining({ n: 1, generation: 1, outcome: 'stale' })])
    expect(await h.count(`SELECT count(*)::int AS n FROM effects WHERE entity_key = $1`, entity)).toBe(1)
    const page = await api('GET', `/events?tenant=${tenant}`)
    expect(page.body.events.map((e: any) => [e.id, e.status])).toEqual([[older, 'skipped_stale'], [newer, 'processed']])
  })

  it('status=skipped_stale and status=processed each select their own, in the API and `events list --status`', async () => {
    expect(idsOf(await api('GET', `/events?tenant=${tenant}&status=skipped_stale`))).toEqual([older])
    expect(idsOf(await api('GET', `/events?tenant=${tenant}&status=processed`))).toEqual([newer])
    expect(idsOf(await api('GET', `/events?tenant=${tenant}&status=processed,skipped_stale`))).toEqual([older, newer])

    const list = await hookline(['events', 'list', '--tenant', tenant, '--status', 'skipped_stale'])
    expect(list.code).toBe(0)
    const rows = list.stdout.trim().split('\n')
    expect(rows).toHaveLength(2)
    expect(rows[1]).toMatch(new RegExp(`^${older}\\s.*\\sskipped_stale\\s`))
  })

  it('/stats counts skipped_stale apart from processed', async () => {
    const stats = await api('GET', '/stats?since=1h')
    expect(stats.status).toBe(200)
    const stripe = stats.body.providers.find((p: any) => p.provider === 'stripe')
    const inbox = await h.prisma.$queryRawUnsafe<{ status: string; n: number }[]>(
      `SELECT status::text AS status, count(*)::int AS n FROM hookline.hookline_events WHERE provider = 'stripe' GROUP BY 1`,
    )
    const byStatus = Object.fromEntries(inbox.map((r) => [r.status, r.n]))
    expect(stripe.skippedStale).toBe(byStatus.skipped_stale)
    expect(stripe.skippedStale).toBeGreaterThanOrEqual(1)
    expect(stripe.processed).toBe(byStatus.processed)
  })

  it('a redelivery of it is a duplicate and leaves it skipped_stale', async () => {
    const again = await h.post('stripe', olderDelivery.body, olderDelivery.headers)
    expect(again.status).toBe(200)
    expect(again.body).toEqual({ id: older, duplicate: true })
    const detail = await api('GET', `/events/${older}`)
    expect(detail.body).toMatchObject({ status: 'skipped_stale', deliveries: 2, attempts: 1 })
  })

  it('replays only with force, as the next generation, like a processed event', async () => {
    const plain = await api('POST', `/events/${older}/replay`, {})
    expect(plain.body).toMatchObject({ enqueued: false, status: 'skipped_stale', generation: 1, reason: expect.stringContaining('force') })
    const forced = await api('POST', `/events/${older}/replay`, { force: true })
    expect(forced.body).toMatchObject({ enqueued: true, status: 'received', generation: 2 })
    // Still older than the entity's newest applied event: skipped again, in its new generation.
    await h.waitForStatus(older, 'skipped_stale')
    const detail = await api('GET', `/events/${older}`)
    expect(detail.body.attemptLog.map((a: any) => [a.n, a.generation, a.outcome])).toEqual([[1, 1, 'stale'], [2, 2, 'stale']])
    expect(await h.count(`SELECT count(*)::int AS n FROM effects WHERE entity_key = $1`, entity)).toBe(1)
  })

  it('a bulk forced replay of status=skipped_stale takes only those', async () => {
    const dry = await api('POST', '/replay', { tenant, status: ['skipped_stale'], force: true, dryRun: true })
    expect(dry.body).toMatchObject({ matched: 1, replayable: 1, byStatus: { skipped_stale: 1 } })
  })
})

describe('attempts across replays', () => {
  it('are numbered on from the earlier runs, each with its generation; the retry budget starts again', async () => {
    const key = 'evt_attempts_across_replays'
    failing.add(key)
    const id = await h.sendStripeEvent({ id: key, account: 'acct_attempt_runs' })
    await h.waitForStatus(id, 'dead')
    failing.delete(key)

    // A dead event's replay: a fresh attempt budget in the same generation (same idempotency keys).
    const replayed = await api('POST', `/events/${key}/replay`, {})
    expect(replayed.body).toMatchObject({ id, enqueued: true, generation: 1 })
    await h.waitForStatus(id, 'processed')
    // A forced replay of the processed event: the next generation.
    expect((await api('POST', `/events/${id}/replay`, { force: true })).body).toMatchObject({ enqueued: true, generation: 2 })
    await h.waitForStatus(id, 'processed')

    const detail = await api('GET', `/events/${id}`)
    expect(detail.body).toMatchObject({ status: 'processed', generation: 2, attempts: 1 })
    expect(detail.body.attemptLog.map((a: any) => [a.n, a.generation, a.outcome])).toEqual([
      [1, 1, 'failed'],
      [2, 1, 'dead'],
      [3, 1, 'succeeded'],
      [4, 2, 'succeeded'],
    ])
    // The handler's ctx.attempt counts within a run.
    expect(seen.get(key)).toEqual([1, 2, 1, 1])

    const show = await hookline(['events', 'show', key])
    expect(show.code).toBe(0)
    expect(show.stdout).toMatch(/^#2 \(run 1\)\s.*\sdead\s+Error: ledger is locked/m)
    expect(show.stdout).toMatch(/^#3 \(run 1\)\s.*\ssucceeded/m)
    expect(show.stdout).toMatch(/^#4 \(run 2\)\s.*\ssucceeded/m)
    expect(show.stdout).toMatch(/stack traces\n#1 \(run 1\)\nError: ledger is locked/)
  })
})

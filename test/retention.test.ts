/**
 * Retention against real Postgres and Redis: payloads of finished events removed after their
 * window (the row stays, redeliveries stay duplicates, replays refuse), finished events removed
 * after theirs, dead events kept; the workers' job scheduler prunes on its own; `hookline prune`
 * and `POST /admin/api/prune`; a too-short event window refused.
 */
import { ConfigError, createHookline, type Handler, PermanentError } from '@hookline/core'
import { listenOnFreePort, signedStripeDelivery, STRIPE_TEST_SECRET, stripeEvent, TEST_REDIS_URL, waitFor } from '@hookline/testkit'
import { stripeAdapter } from '@hookline/stripe'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../apps/hookline/src/service.ts'
import { type Harness, startHarness } from './support/harness.ts'
import { runHookline } from './support/cli-process.ts'

const TOKEN = 'retention-admin-token-0123456789'
const DAY_MS = 86_400_000

const handler: Handler = async (event, { tx }) => {
  if (event.type === 'test.reject') throw new PermanentError('cannot apply')
  await tx.$executeRawUnsafe(`INSERT INTO effects (event_id, label) VALUES ($1::uuid, $2)`, event.id, event.type)
}

interface Row {
  status: string
  raw: boolean
  payload: boolean
  pruned: boolean
  headers: string
}

describe('payload and event windows', () => {
  let h: Harness
  let service: { url: string; close(): Promise<void> }
  beforeAll(async () => {
    // Scheduled passes are far apart here: each test runs its pass itself.
    h = await startHarness({ handlers: { '*': handler }, retention: { payloadsMs: 1000, intervalMs: 3_600_000 } })
    service = await listenOnFreePort(createApp(h.hookline, { adminToken: TOKEN }))
  })
  afterAll(async () => {
    await service?.close()
    await h?.close()
  })

  const row = async (id: string): Promise<Row | undefined> =>
    (
      await h.prisma.$queryRawUnsafe<Row[]>(
        `SELECT status::text, raw_body IS NOT NULL AS raw, payload IS NOT NULL AS payload, payload_pruned_at IS NOT NULL AS pruned, headers::text
           FROM hookline.hookline_events WHERE id = $1::uuid`,
        id,
      )
    )[0]

  const hooklineCli = (args: string[]) => runHookline(args, { url: service.url, token: TOKEN })

  it('removes the payloads of finished events past the window, keeps dead ones, and redeliveries stay duplicates', async () => {
    const first = signedStripeDelivery(stripeEvent({ type: 'invoice.paid' }))
    const processed = (await h.post('stripe', first.body, first.headers)).body.id as string
    const dead = await h.sendStripeEvent({ type: 'test.reject' })
    await h.waitForStatus(processed, 'processed')
    await h.waitForStatus(dead, 'dead')
    expect(await row(processed)).toMatchObject({ raw: true, pruned: false })
    await new Promise((r) => setTimeout(r, 1100))

    const dry = await hooklineCli(['prune', '--dry-run', '--json'])
    expect(dry.code, dry.stderr).toBe(0)
    expect(JSON.parse(dry.stdout)).toEqual({ payloads: 1, events: 0, audit: 0, dryRun: true })
    expect(await row(processed)).toMatchObject({ raw: true, pruned: false })

    const cli = await hooklineCli(['prune'])
    expect(cli.code, cli.stderr).toBe(0)
    expect(cli.stdout).toMatch(/payloads of finished events\s+1/)
    expect(await row(processed)).toEqual({ status: 'processed', raw: false, payload: false, pruned: true, headers: '{}' })
    expect(await row(dead)).toMatchObject({ status: 'dead', raw: true, pruned: false })
    expect(await h.count(`SELECT count(*)::int AS n FROM hookline.hookline_attempts WHERE event_id = $1::uuid`, processed)).toBe(1)
    expect(await h.count(`SELECT count(*)::int AS n FROM hookline.hookline_audit_log WHERE action = 'prune' AND count = 1`)).toBe(1)

    // The provider retries the same delivery: still a duplicate of the kept row.
    const again = await h.post('stripe', first.body, first.headers)
    expect(again.status).toBe(200)
    expect(again.body).toMatchObject({ id: processed, duplicate: true })

    const detail = await (await fetch(`${service.url}/admin/api/events/${processed}`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()
    expect(detail).toMatchObject({ id: processed, status: 'processed', payloadPruned: true, payload: null, headers: {} })
    const replay = await (await fetch(`${service.url}/admin/api/events/${processed}/replay`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ force: true }) })).json()
    expect(replay).toMatchObject({ enqueued: false, reason: expect.stringContaining('removed by retention') })
    expect(await h.count(`SELECT count(*)::int AS n FROM effects WHERE event_id = $1::uuid`, processed)).toBe(1)
  })

  it('removes finished events past the event window, never a dead one', async () => {
    const old = await h.sendStripeEvent({ type: 'invoice.paid' })
    const recent = await h.sendStripeEvent({ type: 'invoice.paid' })
    const dead = await h.sendStripeEvent({ type: 'test.reject' })
    await h.waitForStatus(old, 'processed')
    await h.waitForStatus(recent, 'processed')
    await h.waitForStatus(dead, 'dead')
    // Age two of them past the default 90-day window.
    await h.prisma.$executeRawUnsafe(`UPDATE hookline.hookline_events SET received_at = now() - interval '91 days' WHERE id = ANY($1::uuid[])`, [old, dead])
    const res = await fetch(`${service.url}/admin/api/prune`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ dryRun: false }) })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ events: 1, dryRun: false })
    expect(await row(old)).toBeUndefined()
    expect(await h.count(`SELECT count(*)::int AS n FROM hookline.hookline_attempts WHERE event_id = $1::uuid`, old)).toBe(0)
    expect(await row(dead)).toMatchObject({ status: 'dead', raw: true })
    expect(await row(recent)).toMatchObject({ status: 'processed' })
  })

  it('refuses a malformed prune request with 400', async () => {
    const res = await fetch(`${service.url}/admin/api/prune`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ dryRun: 'yes' }) })
    expect(res.status).toBe(400)
  })
})

describe('the scheduled pass', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness({ handlers: { '*': handler }, retention: { payloadsMs: 500, intervalMs: 500, batchSize: 2 } })
  })
  afterAll(() => h?.close())

  it('prunes without anyone asking, batch after batch', async () => {
    const ids: string[] = []
    for (let i = 0; i < 5; i++) ids.push(await h.sendStripeEvent({ type: 'invoice.paid' }))
    await h.waitAllProcessed()
    await waitFor(async () => (await h.count(`SELECT count(*)::int AS n FROM hookline.hookline_events WHERE payload_pruned_at IS NOT NULL`)) === 5, { what: 'the scheduler to prune', timeoutMs: 20_000 })
    // A pass counts its batch once its statement has returned, a moment after the rows changed.
    await waitFor(async () => /hookline_pruned_total\{what="payloads"\} 5\n/.test(await h.hookline.metrics.render()), { what: 'the pruned payloads to be counted' })
  })
})

it('refuses an event window shorter than the reconciliation window plus 3 days', () => {
  const build = () =>
    createHookline({ databaseUrl: 'postgresql://127.0.0.1/none', redisUrl: TEST_REDIS_URL, adapters: [stripeAdapter({ secrets: [STRIPE_TEST_SECRET] })], retention: { eventsMs: 2 * DAY_MS } })
  expect(build).toThrow(ConfigError)
  expect(build).toThrow(/shorter than the reconciliation window plus the providers' 3-day retry window \(97h\)/)
})

/**
 * @module Hookline in a Postgres schema of the application's choosing (`schema` / HOOKLINE_SCHEMA):
 * migrations, ingest, the worker, support's reads and replays all use that schema, and the
 * default one is never created.
 */
import { STRIPE_TEST_SECRET } from '@hookline/testkit'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, startHarness } from './support/harness.ts'

let h: Harness

beforeAll(async () => {
  h = await startHarness({ schema: 'billing_hooks', secrets: [STRIPE_TEST_SECRET] })
})

afterAll(async () => {
  await h?.close()
})

describe('a custom schema', () => {
  it('holds the tables and the migration history; the default schema does not exist', async () => {
    const schemas = await h.prisma.$queryRawUnsafe<{ nspname: string }[]>(`SELECT nspname FROM pg_namespace WHERE nspname IN ('hookline', 'billing_hooks')`)
    expect(schemas.map((s) => s.nspname)).toEqual(['billing_hooks'])
    expect(await h.count(`SELECT count(*)::int AS n FROM billing_hooks."_prisma_migrations" WHERE finished_at IS NOT NULL`)).toBeGreaterThan(0)
    expect(await h.count(`SELECT count(*)::int AS n FROM pg_tables WHERE tablename = '_prisma_migrations' AND schemaname = 'public'`)).toBe(0)
  })

  it('stores, processes, lists and replays an event there', async () => {
    const id = await h.sendStripeEvent({ id: 'evt_schema_1', type: 'invoice.paid' })
    await expect.poll(() => h.count(`SELECT count(*)::int AS n FROM billing_hooks.hookline_events WHERE id = $1::uuid AND status = 'processed'`, id), { timeout: 20_000 }).toBe(1)
    expect(await h.count(`SELECT count(*)::int AS n FROM effects WHERE event_id = $1::uuid`, id)).toBe(1)

    const page = await h.hookline.events.list({ limit: 10 })
    expect(page.events.map((e) => e.id)).toEqual([id])
    const replayed = await h.hookline.replayer.replayEvent(id, { force: true }, { actor: 'test' })
    expect(replayed).toMatchObject({ enqueued: true, generation: 2 })
    await expect.poll(() => h.count(`SELECT count(*)::int AS n FROM effects WHERE event_id = $1::uuid`, id), { timeout: 20_000 }).toBe(2)
    const detail = await h.hookline.events.get(id)
    expect(detail.audit.map((a) => a.action)).toEqual(['replay'])
    expect(detail.attemptLog).toHaveLength(2)
  })
})

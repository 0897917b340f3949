/**
 * Redis is only the dispatch queue: with Redis down a delivery is still acknowledged once it is in
 * Postgres, and when Redis comes back empty the sweeper dispatches it, processed exactly once.
 */
import { type DisposableRedis, signedStripeDelivery, startDisposableRedis, stripeEvent } from '@hookline/testkit'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { type Harness, startHarness } from './support/harness.ts'

let redis: DisposableRedis
let h: Harness

beforeAll(async () => {
  redis = await startDisposableRedis()
  h = await startHarness({ redisUrl: redis.url, sweeper: { intervalMs: 500, graceMs: 500 } })
})
afterAll(async () => {
  await h?.close()
  await redis?.kill()
})

it('acknowledges while Redis is down, then processes once Redis is back (sweeper)', async () => {
  const warmup = signedStripeDelivery(stripeEvent())
  const first = await h.post('stripe', warmup.body, warmup.headers)
  expect(first.status).toBe(200)
  await h.waitForStatus(first.body.id, 'processed')

  await redis.kill()
  const events = [stripeEvent(), stripeEvent(), stripeEvent()]
  const ids: string[] = []
  for (const event of events) {
    const { body, headers } = signedStripeDelivery(event)
    const res = await h.post('stripe', body, headers)
    expect(res.status).toBe(200)
    ids.push(res.body.id)
  }
  const ready = await fetch(`${h.url}/readyz`)
  expect(ready.status).toBe(503)
  expect(await ready.json()).toEqual({ postgres: true, redis: false })
  const stored = await h.prisma.event.findMany({ where: { id: { in: ids } } })
  expect(stored.map((e) => e.status)).toEqual(['received', 'received', 'received'])

  // A fresh, empty Redis: every job and the sweeper's scheduler are gone.
  await redis.start()
  for (const id of ids) {
    const row = await h.waitForStatus(id, 'processed', 30_000)
    expect(row.attempts).toBe(1)
  }
  const effects = await h.prisma.$queryRawUnsafe<{ n: number }[]>(`SELECT count(*)::int AS n FROM effects WHERE event_id = ANY($1::uuid[])`, ids)
  expect(effects[0]!.n).toBe(3)
  const metrics = await (await fetch(`${h.url}/metrics`)).text()
  expect(metrics).toMatch(/hookline_enqueue_failures_total\{provider="stripe"\} 3/)
})

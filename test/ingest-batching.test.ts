/**
 * The ingress group commit, against real Postgres and Redis: concurrent deliveries share one insert
 * and one enqueue, yet each is answered only after the commit that holds it; duplicates inside and
 * across batches are counted exactly; a batch Postgres refuses is a 503 for each request in it, and
 * one delivery Postgres refuses fails alone; a batch Postgres aborts in a deadlock is run again;
 * with Redis down a batch is still acknowledged and the sweeper dispatches it.
 */
import { freePort, type DisposableRedis, signedStripeDelivery, startDisposableRedis, stripeEvent, waitFor } from '@hookline/testkit'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, startHarness } from './support/harness.ts'

/** Long enough for a burst of concurrent posts to land in one batch; the tests never depend on it. */
const GATHER = { maxWaitMs: 50, maxBatchSize: 25 }

function shuffled<T>(items: T[]): T[] {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

describe('with the worker stopped', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness({ startWorker: false, ingest: GATHER })
  })
  afterAll(async () => h?.close())

  it('answers each delivery only once its row is committed, and shares commits between deliveries', async () => {
    const events = Array.from({ length: 60 }, () => stripeEvent())
    const seen = await Promise.all(
      events.map(async (event) => {
        const { body, headers } = signedStripeDelivery(event)
        const res = await h.post('stripe', body, headers)
        // Read from another connection the moment the 200 arrives: the row must already be visible.
        const rows = await h.prisma.$queryRawUnsafe<{ id: string }[]>(`SELECT id::text FROM hookline.hookline_events WHERE event_key = $1`, event.id)
        return { status: res.status, id: res.body.id as string, stored: rows[0]?.id }
      }),
    )
    for (const s of seen) {
      expect(s.status).toBe(200)
      expect(s.stored).toBe(s.id)
    }
    // Rows written by one transaction share its xmin (the worker is stopped: nothing rewrote them).
    const tx = await h.prisma.$queryRawUnsafe<{ n: number }[]>(
      `SELECT count(DISTINCT xmin::text)::int AS n FROM hookline.hookline_events WHERE event_key = ANY($1::text[])`,
      events.map((e) => e.id),
    )
    expect(tx[0]!.n).toBeLessThan(events.length)
  })

  it('counts duplicates inside one batch and across batches exactly', async () => {
    const events = Array.from({ length: 10 }, () => stripeEvent())
    const deliveries = shuffled(events.flatMap((event) => Array.from({ length: 8 }, () => ({ key: event.id as string, ...signedStripeDelivery(event) }))))
    const responses = await Promise.all(deliveries.map(async (d) => ({ key: d.key, res: await h.post('stripe', d.body, d.headers) })))
    expect(responses.every((r) => r.res.status === 200)).toBe(true)
    for (const event of events) {
      const mine = responses.filter((r) => r.key === event.id)
      expect(new Set(mine.map((r) => r.res.body.id)).size).toBe(1)
      expect(mine.filter((r) => r.res.body.duplicate === false)).toHaveLength(1)
    }
    const rows = await h.prisma.$queryRawUnsafe<{ n: number; deliveries: number }[]>(
      `SELECT count(*)::int AS n, min(deliveries) AS deliveries FROM hookline.hookline_events WHERE event_key = ANY($1::text[]) GROUP BY deliveries`,
      events.map((e) => e.id),
    )
    expect(rows).toEqual([{ n: 10, deliveries: 8 }])
  })

  it('fails only the delivery whose data Postgres refuses, not the rest of its batch', async () => {
    // Valid JSON, validly signed, but a text column cannot hold U+0000: Postgres rejects the
    // batch's tenants, then this one row alone.
    const poison = stripeEvent({ account: 'acct_nul\u0000inside' })
    const good = Array.from({ length: 8 }, () => stripeEvent())
    const responses = await Promise.all([poison, ...good].map(async (event) => {
      const { body, headers } = signedStripeDelivery(event)
      return { key: event.id as string, res: await h.post('stripe', body, headers) }
    }))
    expect(responses[0]!.res.status).toBe(503)
    expect(responses.slice(1).map((r) => r.res.status)).toEqual(Array(8).fill(200))
    const stored = await h.prisma.$queryRawUnsafe<{ event_key: string }[]>(`SELECT event_key FROM hookline.hookline_events WHERE event_key = ANY($1::text[])`, responses.map((r) => r.key))
    expect(stored.map((r) => r.event_key).sort()).toEqual(good.map((e) => e.id as string).sort())
  })
})

describe('with the worker running', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness({ ingest: GATHER, worker: { concurrency: 10 } })
  })
  afterAll(async () => h?.close())

  it('processes each event of concurrent, duplicated batches exactly once', async () => {
    const events = Array.from({ length: 20 }, () => stripeEvent())
    const deliveries = shuffled(events.flatMap((event) => [signedStripeDelivery(event), signedStripeDelivery(event), signedStripeDelivery(event)]))
    const responses = await Promise.all(deliveries.map((d) => h.post('stripe', d.body, d.headers)))
    expect(responses.every((r) => r.status === 200)).toBe(true)
    const ids = [...new Set(responses.map((r) => r.body.id as string))]
    expect(ids).toHaveLength(20)
    for (const id of ids) {
      const row = await h.waitForStatus(id, 'processed')
      expect(row.deliveries).toBe(3)
      expect(row.attempts).toBe(1)
    }
    const effects = await h.prisma.$queryRawUnsafe<{ n: number }[]>(`SELECT count(*)::int AS n FROM effects WHERE event_id = ANY($1::uuid[])`, ids)
    expect(effects[0]!.n).toBe(20)
  })
})

describe('a batch caught in a deadlock', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness({ startWorker: false, ingest: GATHER })
  })
  afterAll(async () => h?.close())

  it('is run again and acknowledged, not answered 503', async () => {
    const [first, second] = [stripeEvent(), stripeEvent()].sort((a, b) => (String(a.id) < String(b.id) ? -1 : 1)) as [Record<string, unknown>, Record<string, unknown>]
    for (const event of [first, second]) {
      const { body, headers } = signedStripeDelivery(event)
      expect((await h.post('stripe', body, headers)).status).toBe(200)
    }
    // A transaction holds the second row. The batch of both duplicates locks the first row (rows go
    // in key order), then waits for the second; the transaction then asks for the first. Postgres
    // breaks the cycle by aborting the batch's statement: its deadlock_timeout (1 s) is the shorter.
    let answers: ReturnType<Harness['post']>[] = []
    await h.prisma.$transaction(async (tx) => {
      await tx.$executeRawUnsafe(`SET LOCAL deadlock_timeout = '60s'`)
      await tx.$queryRawUnsafe(`SELECT 1 FROM hookline.hookline_events WHERE event_key = $1 FOR UPDATE`, second.id)
      answers = [first, second].map((event) => {
        const { body, headers } = signedStripeDelivery(event)
        return h.post('stripe', body, headers)
      })
      await waitFor(async () => {
        const [row] = await h.prisma.$queryRawUnsafe<{ n: number }[]>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)
        return row!.n > 0
      }, { what: 'the batch to wait for the second row' })
      await tx.$queryRawUnsafe(`SELECT 1 FROM hookline.hookline_events WHERE event_key = $1 FOR UPDATE`, first.id)
    }, { timeout: 30_000 })

    const responses = await Promise.all(answers)
    expect(responses.map((r) => [r.status, r.body.duplicate])).toEqual([[200, true], [200, true]])
    const rows = await h.prisma.$queryRawUnsafe<{ deliveries: number }[]>(`SELECT deliveries FROM hookline.hookline_events WHERE event_key = ANY($1::text[])`, [first.id, second.id])
    expect(rows).toEqual([{ deliveries: 2 }, { deliveries: 2 }])
  })
})

describe('Postgres unreachable for the whole batch', () => {
  it('answers 503 with Retry-After to every request of the batch', async () => {
    const port = await freePort()
    const down = await startHarness({ databaseUrl: `postgresql://postgres@127.0.0.1:${port}/nowhere`, startWorker: false, ingest: GATHER })
    try {
      const events = Array.from({ length: 10 }, () => stripeEvent())
      const responses = await Promise.all(events.map((event) => {
        const { body, headers } = signedStripeDelivery(event)
        return down.post('stripe', body, headers)
      }))
      for (const res of responses) {
        expect(res.status).toBe(503)
        expect(res.headers.get('retry-after')).toBe('7')
        expect(res.body.error.code).toBe('hookline.store_unavailable')
      }
      const rows = await down.prisma.$queryRawUnsafe<unknown[]>(`SELECT 1 FROM hookline.hookline_events WHERE event_key = ANY($1::text[])`, events.map((e) => e.id))
      expect(rows).toHaveLength(0)
    } finally {
      await down.close()
    }
  })
})

describe('Redis down', () => {
  let redis: DisposableRedis
  let h: Harness
  beforeAll(async () => {
    redis = await startDisposableRedis()
    // A grace far beyond the test's waits: only an event made due at once can be dispatched in time.
    h = await startHarness({ redisUrl: redis.url, ingest: GATHER, sweeper: { intervalMs: 500, graceMs: 600_000 } })
  })
  afterAll(async () => {
    await h?.close()
    await redis?.kill()
  })

  it('acknowledges a whole batch, counts each failed enqueue, and the sweeper processes each event once as soon as Redis is back', async () => {
    await redis.kill()
    const events = Array.from({ length: 10 }, () => stripeEvent())
    const responses = await Promise.all(events.map((event) => {
      const { body, headers } = signedStripeDelivery(event)
      return h.post('stripe', body, headers)
    }))
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200))
    const metrics = await (await fetch(`${h.url}/metrics`)).text()
    expect(metrics).toMatch(/hookline_enqueue_failures_total\{provider="stripe"\} 10/)
    const ids = responses.map((r) => r.body.id as string)
    const due = await h.prisma.$queryRawUnsafe<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM hookline.hookline_due_events WHERE event_id = ANY($1::uuid[]) AND due_at <= now()`,
      ids,
    )
    expect(due[0]!.n).toBe(10)

    await redis.start()
    for (const id of ids) expect((await h.waitForStatus(id, 'processed', 30_000)).attempts).toBe(1)
    const effects = await h.prisma.$queryRawUnsafe<{ n: number }[]>(`SELECT count(*)::int AS n FROM effects WHERE event_id = ANY($1::uuid[])`, ids)
    expect(effects[0]!.n).toBe(10)
  })
})

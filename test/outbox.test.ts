/**
 * The transactional outbox through the surface an application uses: `ctx.emit` in a handler,
 * `hookline.emit` in the application's own Prisma transaction, and the relay that delivers both to
 * `app:*` handlers through the inbox (real Postgres and Redis).
 */
import { createHookline, type Handler, type Hookline } from '@hookline/core'
import { TEST_REDIS_URL, waitFor } from '@hookline/testkit'
import { Queue } from 'bullmq'
import pg from 'pg'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, startHarness } from './support/harness.ts'

/** Records one `effects` row per run of an app event, labelled with its payload's `n`. */
const recordAppEvent: Handler = async (event, { tx }) => {
  await tx.$executeRawUnsafe(`INSERT INTO effects (event_id, entity_key, label) VALUES ($1::uuid, $2, $3)`, event.id, event.entityKey, String((event.payload as { n?: number }).n ?? ''))
}

describe('ctx.emit in a handler', () => {
  let h: Harness
  const attemptsSeen: number[] = []

  beforeAll(async () => {
    h = await startHarness({
      handlers: {
        'stripe:*': (async (event, ctx) => {
          attemptsSeen.push(ctx.attempt)
          await ctx.tx.$executeRawUnsafe(`INSERT INTO orders (stripe_event) VALUES ($1)`, event.eventKey)
          await ctx.emit({ type: 'order.paid', key: event.entityKey, payload: { n: ctx.attempt, stripeEvent: event.eventKey } })
          if (ctx.attempt === 1) throw new Error('downstream hiccup')
        }) satisfies Handler,
        'app:order.paid': recordAppEvent,
      },
    })
    await h.prisma.$executeRawUnsafe(`CREATE TABLE orders (id serial PRIMARY KEY, stripe_event text NOT NULL)`)
  })
  afterAll(() => h?.close())

  it('commits the emit with the handler: the failed attempt emitted nothing, the retry emitted once', async () => {
    const id = await h.sendStripeEvent({ id: 'evt_outbox_1', type: 'invoice.paid', object: { id: 'in_1', object: 'invoice' } })
    await h.waitForStatus(id, 'processed')
    await waitFor(async () => (await h.count(`SELECT count(*)::int AS n FROM effects`)) > 0, { what: 'the app event handled' })
    await h.waitAllProcessed()
    expect(attemptsSeen).toEqual([1, 2])
    expect(await h.count(`SELECT count(*)::int AS n FROM orders`)).toBe(1)
    const effects = await h.prisma.$queryRawUnsafe<{ label: string; entity_key: string }[]>(`SELECT label, entity_key FROM effects`)
    // Only the second attempt's emit (n = 2) exists; it was handled once.
    expect(effects).toEqual([{ label: '2', entity_key: 'in_1' }])
    const [app] = await h.prisma.$queryRawUnsafe<{ provider: string; type: string; source: string; status: string; entity_key: string }[]>(
      `SELECT provider, type, source::text, status::text, entity_key FROM hookline.hookline_events WHERE provider = 'app'`,
    )
    expect(app).toEqual({ provider: 'app', type: 'order.paid', source: 'outbox', status: 'processed', entity_key: 'in_1' })
    expect(await h.count(`SELECT count(*)::int AS n FROM hookline.hookline_outbox`)).toBe(0)
  })
})

describe('hookline.emit in an application transaction', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness({ handlers: { 'app:*': recordAppEvent } })
    await h.prisma.$executeRawUnsafe(`CREATE TABLE counters (key text PRIMARY KEY, n int NOT NULL)`)
  })
  afterAll(() => h?.close())

  it('delivers nothing when the transaction rolls back, and once when it commits', async () => {
    await expect(
      h.prisma.$transaction(async (tx) => {
        await h.hookline.emit(tx, { type: 'order.cancelled', key: 'o-rollback', payload: { n: 1 } })
        throw new Error('the application changed its mind')
      }),
    ).rejects.toThrow('changed its mind')
    const id = await h.prisma.$transaction((tx) => h.hookline.emit(tx, { type: 'order.created', key: 'o-commit', payload: { n: 7 }, tenant: 'acct_9' }))
    await waitFor(async () => (await h.count(`SELECT count(*)::int AS n FROM effects`)) === 1, { what: 'the committed event handled' })
    // Give a wrongly relayed rolled-back emit every chance to show up.
    await new Promise((r) => setTimeout(r, 1500))
    await h.waitAllProcessed()
    const rows = await h.prisma.$queryRawUnsafe<{ event_key: string; type: string; tenant: string }[]>(`SELECT event_key, type, tenant FROM hookline.hookline_events`)
    expect(rows).toEqual([{ event_key: id, type: 'order.created', tenant: 'acct_9' }])
    expect(await h.count(`SELECT count(*)::int AS n FROM effects WHERE label = '7'`)).toBe(1)
  })

  it('an id emitted twice is one event', async () => {
    await h.prisma.$transaction((tx) => h.hookline.emit(tx, { id: 'order-42-paid', type: 'order.paid', payload: { n: 42 } }))
    await waitFor(async () => (await h.count(`SELECT count(*)::int AS n FROM hookline.hookline_events WHERE event_key = 'order-42-paid' AND status = 'processed'`)) === 1, { what: 'first emit handled' })
    await h.prisma.$transaction((tx) => h.hookline.emit(tx, { id: 'order-42-paid', type: 'order.paid', payload: { n: 42 } }))
    await waitFor(async () => (await h.count(`SELECT count(*)::int AS n FROM hookline.hookline_outbox`)) === 0, { what: 'second emit relayed' })
    expect(await h.count(`SELECT count(*)::int AS n FROM effects WHERE label = '42'`)).toBe(1)
  })

  it('emits on a pg connection inside BEGIN … COMMIT too', async () => {
    const client = new pg.Client({ connectionString: h.databaseUrl })
    await client.connect()
    try {
      await client.query('BEGIN')
      const id = await h.hookline.emit(client, { type: 'order.created', payload: { n: 77 } })
      await client.query('COMMIT')
      await waitFor(async () => (await h.count(`SELECT count(*)::int AS n FROM hookline.hookline_events WHERE event_key = $1 AND status = 'processed'`, id)) === 1, { what: 'handled' })
    } finally {
      await client.end()
    }
  })

  it('refuses an event without a type', async () => {
    await expect(h.prisma.$transaction((tx) => h.hookline.emit(tx, { type: '', payload: {} }))).rejects.toMatchObject({ code: 'hookline.outbox_event_invalid' })
  })

  it('delivers 1,000 concurrent emits over 10 keys to handlers in commit order per key', async () => {
    const keys = Array.from({ length: 10 }, (_, i) => `order-${i}`)
    await h.prisma.$executeRawUnsafe(`INSERT INTO counters SELECT unnest($1::text[]), 0`, keys)
    // Each transaction takes the key's next number under the counter's row lock, then emits it:
    // the numbers of a key are its emits' commit order.
    const emitOne = (key: string) =>
      h.prisma.$transaction(async (tx) => {
        const [row] = await tx.$queryRawUnsafe<{ n: number }[]>(`UPDATE counters SET n = n + 1 WHERE key = $1 RETURNING n`, key)
        const n = row!.n
        await h.hookline.emit(tx, { type: 'order.step', key, payload: { n } })
      })
    const jobs = Array.from({ length: 1000 }, (_, i) => keys[i % 10]!)
    await Promise.all(Array.from({ length: 8 }, async () => { for (let key = jobs.pop(); key; key = jobs.pop()) await emitOne(key) }))
    await waitFor(async () => (await h.count(`SELECT count(*)::int AS n FROM effects WHERE entity_key LIKE 'order-%'`)) === 1000, { what: '1,000 handled', timeoutMs: 60_000 })
    for (const key of keys) {
      const labels = await h.prisma.$queryRawUnsafe<{ label: string }[]>(`SELECT label FROM effects WHERE entity_key = $1 ORDER BY id`, key)
      expect(labels.map((l) => Number(l.label))).toEqual(Array.from({ length: 100 }, (_, i) => i + 1))
    }
  })
})

describe('emits of one key in concurrent transactions', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness({ handlers: { 'app:*': recordAppEvent } })
  })
  afterAll(() => h?.close())

  it('commit one after another, so the later transaction is delivered after the earlier one', async () => {
    let release!: () => void
    const held = new Promise<void>((r) => (release = r))
    let secondDone = false
    const first = h.prisma.$transaction(async (tx) => {
      await h.hookline.emit(tx, { type: 'order.step', key: 'k-race', payload: { n: 1 } })
      await held
    })
    await waitFor(async () => (await h.count(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`)) === 1, { what: 'first emit holding its key' })
    const second = h.prisma.$transaction((tx) => h.hookline.emit(tx, { type: 'order.step', key: 'k-race', payload: { n: 2 } })).then(() => (secondDone = true))
    await new Promise((r) => setTimeout(r, 300))
    expect(secondDone).toBe(false)
    release()
    await Promise.all([first, second])
    await waitFor(async () => (await h.count(`SELECT count(*)::int AS n FROM effects`)) === 2, { what: 'both handled' })
    const labels = await h.prisma.$queryRawUnsafe<{ label: string }[]>(`SELECT label FROM effects ORDER BY id`)
    expect(labels.map((l) => l.label)).toEqual(['1', '2'])
  })
})

describe('outbox.publish', () => {
  let h: Harness
  let queue: Queue
  let hookline: Hookline
  beforeAll(async () => {
    h = await startHarness({ startWorker: false })
    // The application's own queue, on the test's prefix so that cleanup removes it.
    hookline = createHookline({
      databaseUrl: h.databaseUrl,
      redisUrl: TEST_REDIS_URL,
      adapters: [],
      handlers: { 'app:*': recordAppEvent },
      queue: { prefix: h.queuePrefix },
      outbox: { publish: { queue: 'orders', prefix: h.queuePrefix } },
      poolMax: 4,
      logger: pino({ level: 'silent' }),
    })
    await hookline.startWorker()
    queue = new Queue('orders', { connection: { url: TEST_REDIS_URL }, prefix: h.queuePrefix })
  })
  afterAll(async () => {
    await queue?.close()
    await hookline?.close()
    await h?.close()
  })

  it('adds each event to the application\'s BullMQ queue, job id = event id, and handles it', async () => {
    const ids = await h.prisma.$transaction(async (tx) => [
      await hookline.emit(tx, { type: 'order.paid', key: 'o1', payload: { n: 1 } }),
      await hookline.emit(tx, { type: 'order.paid', key: 'o1', payload: { n: 2 } }),
    ])
    await waitFor(async () => (await h.count(`SELECT count(*)::int AS n FROM effects`)) === 2, { what: 'both handled' })
    const jobs = await queue.getJobs(['waiting'])
    expect(jobs.map((j) => [j.id, j.name, j.data.payload.n, j.data.key]).sort()).toEqual([[ids[0], 'order.paid', 1, 'o1'], [ids[1], 'order.paid', 2, 'o1']].sort())
  })
})

describe('two relays', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness({ handlers: { 'app:*': recordAppEvent }, startWorker: false, outbox: { batchSize: 50 } })
  })
  afterAll(() => h?.close())

  it('deliver each row once, each key in order', async () => {
    for (let batch = 0; batch < 20; batch++) {
      await h.prisma.$transaction(async (tx) => {
        for (let i = 0; i < 100; i++) await h.hookline.emit(tx, { type: 'order.step', key: `k${i % 20}`, payload: { n: batch * 5 + Math.floor(i / 20) } })
      })
    }
    const other = createHookline({ databaseUrl: h.databaseUrl, redisUrl: TEST_REDIS_URL, adapters: [], queue: { prefix: h.queuePrefix }, outbox: { batchSize: 50 }, poolMax: 4, logger: pino({ level: 'silent' }) })
    try {
      await Promise.all([h.hookline.startRelay(), other.startRelay()])
      await waitFor(async () => (await h.count(`SELECT count(*)::int AS n FROM hookline.hookline_outbox`)) === 0, { what: 'outbox drained' })
      const relayed = async (m: typeof other.metrics) => (await m.outboxRelayed.get()).values[0]?.value ?? 0
      expect((await relayed(h.hookline.metrics)) + (await relayed(other.metrics))).toBe(2000)
      await h.hookline.startWorker()
      await waitFor(async () => (await h.count(`SELECT count(*)::int AS n FROM effects`)) === 2000, { what: '2,000 handled', timeoutMs: 60_000 })
      expect(await h.count(`SELECT count(DISTINCT event_id)::int AS n FROM effects`)).toBe(2000)
      for (let k = 0; k < 20; k++) {
        const labels = await h.prisma.$queryRawUnsafe<{ label: string }[]>(`SELECT label FROM effects WHERE entity_key = $1 ORDER BY id`, `k${k}`)
        expect(labels.map((l) => Number(l.label))).toEqual(Array.from({ length: 100 }, (_, i) => i))
      }
    } finally {
      await other.close()
    }
  })
})


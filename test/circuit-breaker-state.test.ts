/**
 * The circuit breakers' shared state machine on real Redis, with an injected clock: opening after
 * the configured failures, one probe per cool-down, doubling and capped cool-downs, what a success
 * resets and releases, and downstreams shared by routes.
 */
import { CircuitBreakers } from '@hookline/core/internal'
import { TEST_REDIS_URL, testQueuePrefix } from '@hookline/testkit'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const queue = testQueuePrefix()
let redis: Redis
let clock = 1_000_000
let breakers: CircuitBreakers

beforeAll(() => {
  redis = new Redis(TEST_REDIS_URL)
  breakers = new CircuitBreakers(redis, `${queue.prefix}:events:breaker`, { failures: 3, cooldownMs: 1000, maxCooldownMs: 3000 }, () => clock)
})
afterAll(async () => {
  redis?.disconnect()
  await queue.cleanup()
})

const LEASE = 500

describe('CircuitBreakers', () => {
  it('opens after the configured consecutive failures; a success in between resets the count', async () => {
    expect((await breakers.fail('stripe:*', undefined)).open).toBe(false)
    expect((await breakers.fail('stripe:*', undefined)).open).toBe(false)
    await breakers.succeed(['stripe:*'])
    expect((await breakers.fail('stripe:*', undefined)).open).toBe(false)
    expect((await breakers.fail('stripe:*', undefined)).open).toBe(false)
    const opened = await breakers.fail('stripe:*', undefined)
    expect(opened).toEqual({ route: 'stripe:*', open: true, opened: true, openUntil: new Date(clock + 1000) })
    expect(await breakers.list()).toEqual([{ route: 'stripe:*', state: 'open', failures: 3, openUntil: new Date(clock + 1000), cooldownMs: 1000 }])
  })

  it('holds events until the cool-down ends, then lets one probe through at a time', async () => {
    const held = await breakers.check([{ id: 'e1', route: 'stripe:*' }, { id: 'e2', route: 'github:*' }], LEASE)
    expect([...held.keys()]).toEqual(['e1'])
    expect(held.get('e1')).toEqual({ until: new Date(clock + 1000), route: 'stripe:*' })
    clock += 1000
    const probing = await breakers.check([{ id: 'e1', route: 'stripe:*' }, { id: 'e3', route: 'stripe:*' }], LEASE)
    // e1 is the probe; e3 waits for it, at most the probe's lease.
    expect([...probing.keys()]).toEqual(['e3'])
    expect(probing.get('e3')!.until).toEqual(new Date(clock + LEASE))
    expect((await breakers.list())[0]!.state).toBe('half_open')
    // The probe's own retry may pass; a probe that vanished is replaced once its lease is over.
    expect((await breakers.check([{ id: 'e1', route: 'stripe:*' }], LEASE)).size).toBe(0)
    clock += LEASE
    expect((await breakers.check([{ id: 'e4', route: 'stripe:*' }], LEASE)).size).toBe(0)
  })

  it('reopens for twice as long after a failed probe, capped', async () => {
    expect(await breakers.fail('stripe:*', undefined)).toMatchObject({ open: true, opened: true, openUntil: new Date(clock + 2000) })
    // A failure while open (an attempt that started before) changes nothing.
    expect(await breakers.fail('stripe:*', undefined)).toMatchObject({ open: true, opened: false, openUntil: new Date(clock + 2000) })
    clock += 2000
    await breakers.check([{ id: 'e5', route: 'stripe:*' }], LEASE)
    expect(await breakers.fail('stripe:*', undefined)).toMatchObject({ openUntil: new Date(clock + 3000) })
    clock += 3000
    await breakers.check([{ id: 'e6', route: 'stripe:*' }], LEASE)
    expect(await breakers.fail('stripe:*', undefined)).toMatchObject({ openUntil: new Date(clock + 3000) })
  })

  it("closes on the probe's success and returns the events registered as held, once", async () => {
    const held = await breakers.check([{ id: 'h1', route: 'stripe:*' }, { id: 'h2', route: 'stripe:*' }], LEASE)
    // Registered once their holds are written (waits: the hold's number, which names its jobs).
    expect(await breakers.remember([...held].map(([id, hold], i) => ({ id, waits: i + 1, route: hold.route, provider: 'stripe' })))).toEqual([])
    clock += 3000
    await breakers.check([{ id: 'p', route: 'stripe:*' }], LEASE)
    const released = await breakers.succeed(['stripe:*'])
    expect(released.sort((a, b) => a.id.localeCompare(b.id))).toEqual([{ id: 'h1', waits: 1 }, { id: 'h2', waits: 2 }])
    expect(await breakers.list()).toEqual([{ route: 'stripe:*', state: 'closed', failures: 0, openUntil: null, cooldownMs: 0 }])
    expect(await breakers.succeed(['stripe:*'])).toEqual([])
    expect((await breakers.check([{ id: 'h1', route: 'stripe:*' }], LEASE)).size).toBe(0)
  })

  it('hands back a hold registered after its breaker closed, to run at once', async () => {
    // Checked while open, but the probe succeeded before this event's hold was written.
    expect(await breakers.remember([{ id: 'late', waits: 3, route: 'stripe:*', provider: 'stripe' }])).toEqual([{ id: 'late', waits: 3 }])
    expect(await breakers.succeed(['stripe:*'])).toEqual([])
  })

  it("a downstream's breaker holds every route that called it", async () => {
    for (const route of ['stripe:*', 'github:*', 'stripe:*']) await breakers.fail(route, 'crm')
    expect(await breakers.keysOf('github:*')).toEqual(['github:*', 'crm'])
    const held = await breakers.check([{ id: 'a', route: 'stripe:*' }, { id: 'b', route: 'github:*' }, { id: 'c', route: 'slack:*' }], LEASE)
    expect([...held.entries()]).toEqual([
      ['a', { until: new Date(clock + 1000), route: 'crm' }],
      ['b', { until: new Date(clock + 1000), route: 'crm' }],
    ])
  })
})

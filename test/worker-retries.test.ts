/**
 * The worker against real Postgres and Redis: retries with backoff, dead letters, the atomicity of
 * a handler's writes with the processed mark, and per-entity ordering.
 */
import { type Handler, type HooklineEvent, PermanentError } from '@hookline/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, recordEffect, startHarness } from './support/harness.ts'

const deadLetters: { event: HooklineEvent; message: string }[] = []

/** Writes its effect, then fails: the effect must be rolled back with the attempt. */
const failingAfterWrite = (message: string): Handler => async (event, ctx) => {
  await recordEffect(event, ctx)
  throw new Error(`${message} #${ctx.attempt}`)
}

const handlers: Record<string, Handler> = {
  'stripe:test.flaky': async (event, ctx) => {
    if (ctx.attempt < 3) return failingAfterWrite('flaky')(event, ctx)
    await recordEffect(event, ctx)
  },
  'stripe:test.permanent': async () => {
    throw new PermanentError('order does not exist')
  },
  'stripe:test.named-permanent': async () => {
    // A handler module that does not import Hookline.
    throw Object.assign(new Error('no such customer'), { name: 'PermanentError' })
  },
  'stripe:test.always': failingAfterWrite('always down'),
  'stripe:test.slow': async (event, ctx) => {
    await ctx.tx.$executeRawUnsafe(`INSERT INTO effects (event_id, entity_key, label) VALUES ($1::uuid, $2, 'start')`, event.id, event.entityKey)
    await new Promise((r) => setTimeout(r, 40))
    await ctx.tx.$executeRawUnsafe(`INSERT INTO effects (event_id, entity_key, label) VALUES ($1::uuid, $2, 'end')`, event.id, event.entityKey)
  },
  '*': recordEffect,
}

let h: Harness
beforeAll(async () => {
  h = await startHarness({
    handlers: handlers as never,
    retry: { maxAttempts: 4, backoffMs: 20 },
    worker: { concurrency: 8 },
    onDeadLetter: (event, error) => {
      deadLetters.push({ event, message: error.message })
    },
  })
})
afterAll(async () => h?.close())

async function attemptsOf(id: string) {
  return h.prisma.attempt.findMany({ where: { eventId: id }, orderBy: { n: 'asc' } })
}

async function effects(where: string, value: string) {
  return h.prisma.$queryRawUnsafe<{ event_id: string; label: string | null }[]>(`SELECT event_id::text, label FROM effects WHERE ${where} = $1 ORDER BY id`, value)
}

describe('retries', () => {
  it('a handler failing twice then succeeding is processed after 3 attempts, its effect applied once', async () => {
    const id = await h.sendStripeEvent({ type: 'test.flaky' })
    const row = await h.waitForStatus(id, 'processed')
    expect(row.attempts).toBe(3)
    const attempts = await attemptsOf(id)
    expect(attempts.map((a) => a.outcome)).toEqual(['failed', 'failed', 'succeeded'])
    expect(attempts[0]!.error).toContain('flaky #1')
    expect(attempts[1]!.error).toContain('flaky #2')
    expect(attempts[0]!.stack).toContain('Error')
    // The writes of the two failed attempts were rolled back with them.
    expect(await effects('event_id::text', id)).toHaveLength(1)
  })

  it('PermanentError dead-letters after one attempt and calls onDeadLetter', async () => {
    const id = await h.sendStripeEvent({ type: 'test.permanent' })
    const row = await h.waitForStatus(id, 'dead')
    expect(row.attempts).toBe(1)
    expect(row.last_error).toContain('PermanentError: order does not exist')
    expect((await attemptsOf(id)).map((a) => a.outcome)).toEqual(['dead'])
    expect(deadLetters.find((d) => d.event.id === id)?.message).toContain('order does not exist')
  })

  it('a PermanentError recognised by name only also dead-letters at once', async () => {
    const id = await h.sendStripeEvent({ type: 'test.named-permanent' })
    expect((await h.waitForStatus(id, 'dead')).attempts).toBe(1)
  })

  it('an always failing handler is dead after max attempts, every error kept, nothing applied', async () => {
    const id = await h.sendStripeEvent({ type: 'test.always' })
    const row = await h.waitForStatus(id, 'dead')
    expect(row.attempts).toBe(4)
    const attempts = await attemptsOf(id)
    expect(attempts.map((a) => a.outcome)).toEqual(['failed', 'failed', 'failed', 'dead'])
    expect(attempts.map((a) => a.error)).toEqual([1, 2, 3, 4].map((n) => `Error: always down #${n}`))
    expect(attempts.every((a) => a.finishedAt !== null)).toBe(true)
    expect(await effects('event_id::text', id)).toHaveLength(0)
    const metrics = await (await fetch(`${h.url}/metrics`)).text()
    expect(metrics).toMatch(/hookline_dlq_depth 3/)
    expect(metrics).toMatch(/hookline_events_dead_total\{provider="stripe"\} 3/)
  })
})

describe('work list', () => {
  it('keeps a dead event with no due time for support, and drops a processed one: the sweeper takes neither', async () => {
    const processed = await h.sendStripeEvent({ type: 'invoice.paid' })
    const dead = await h.sendStripeEvent({ type: 'test.permanent' })
    await h.waitForStatus(processed, 'processed')
    await h.waitForStatus(dead, 'dead')
    const due = await h.prisma.dueEvent.findMany({ where: { eventId: { in: [processed, dead] } }, select: { eventId: true, dueAt: true, waiting: true } })
    expect(due).toEqual([{ eventId: dead, dueAt: null, waiting: false }])
    // Overdue work is the sweeper's; neither event is, however late it gets.
    const overdue = await h.hookline.inbox.takeOverdue(1000, 0)
    expect(overdue).not.toContain(processed)
    expect(overdue).not.toContain(dead)
  })
})

describe('ordering', () => {
  it('two events of one entity delivered newest-first: the stale one does not overwrite the newer', async () => {
    const entity = 'in_ordering_1'
    const t = Math.floor(Date.now() / 1000)
    const newer = await h.sendStripeEvent({ type: 'invoice.updated', created: t, object: { id: entity, label: 'newer' } })
    await h.waitForStatus(newer, 'processed')
    const older = await h.sendStripeEvent({ type: 'invoice.updated', created: t - 60, object: { id: entity, label: 'older' } })
    const row = await h.waitForStatus(older, 'skipped_stale')
    expect(row.stale).toBe(true)
    expect((await attemptsOf(older)).map((a) => a.outcome)).toEqual(['stale'])
    expect((await effects('entity_key', entity)).map((e) => e.label)).toEqual(['newer'])
    const version = await h.prisma.entityVersion.findUniqueOrThrow({ where: { provider_entityKey: { provider: 'stripe', entityKey: entity } } })
    expect(version.eventId).toBe(newer)
  })

  it('events of one entity never run concurrently, even with free worker slots', async () => {
    const entity = 'in_serial_1'
    const t = Math.floor(Date.now() / 1000)
    const ids = await Promise.all(Array.from({ length: 6 }, () => h.sendStripeEvent({ type: 'test.slow', created: t, object: { id: entity } })))
    for (const id of ids) await h.waitForStatus(id, 'processed')
    const rows = await h.prisma.$queryRawUnsafe<{ event_id: string; label: string }[]>(`SELECT event_id::text, label FROM effects WHERE entity_key = $1 ORDER BY at, id`, entity)
    // Serial execution: start/end pairs of one event are adjacent, never interleaved.
    expect(rows).toHaveLength(12)
    for (let i = 0; i < rows.length; i += 2) {
      expect([rows[i]!.label, rows[i + 1]!.label]).toEqual(['start', 'end'])
      expect(rows[i]!.event_id).toBe(rows[i + 1]!.event_id)
    }
  })
})

/**
 * A worker process killed with SIGKILL in the middle of a handler (alone, or in a batch of events
 * sharing its transaction): after another worker takes over, each event is processed and its
 * database effect is present exactly once, and the lost attempt is on record.
 */
import type { ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { signedStripeDelivery, stripeEvent, waitFor } from '@hookline/testkit'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { type Harness, startHarness } from './support/harness.ts'
import { spawnWorkerProcess } from './support/worker-process.ts'

const dir = mkdtempSync(join(tmpdir(), 'hookline-crash-'))
const marker = join(dir, 'in-handler')
let h: Harness
const children: ChildProcess[] = []

function startWorkerProcess(extraEnv: Record<string, string>): ChildProcess {
  const child = spawnWorkerProcess(h, 'test/fixtures/crash-handlers.ts', extraEnv)
  children.push(child)
  return child
}

beforeAll(async () => {
  h = await startHarness({ startWorker: false })
})
afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
  await h?.close()
  rmSync(dir, { recursive: true, force: true })
})

it('processes the event once after its worker is killed mid-handler', async () => {
  const { body, headers } = signedStripeDelivery(stripeEvent())
  const res = await h.post('stripe', body, headers)
  expect(res.status).toBe(200)
  const id = res.body.id as string

  const first = startWorkerProcess({ CRASH_MARKER: marker })
  await waitFor(async () => existsSync(marker), { what: 'the handler to start', timeoutMs: 30_000 })
  const exited = new Promise((r) => first.once('exit', r))
  first.kill('SIGKILL')
  await exited

  // The killed attempt's transaction never committed: no effect, the event still in progress.
  const during = await h.prisma.event.findUniqueOrThrow({ where: { id } })
  expect(during.status).toBe('processing')
  const effectsDuring = await h.prisma.$queryRawUnsafe<{ n: number }[]>(`SELECT count(*)::int AS n FROM effects WHERE event_id = $1::uuid`, id)
  expect(effectsDuring[0]!.n).toBe(0)

  startWorkerProcess({})
  const row = await h.waitForStatus(id, 'processed', 45_000)
  expect(row.attempts).toBe(2)
  const effects = await h.prisma.$queryRawUnsafe<{ n: number }[]>(`SELECT count(*)::int AS n FROM effects WHERE event_id = $1::uuid`, id)
  expect(effects[0]!.n).toBe(1)
  const attempts = await h.prisma.attempt.findMany({ where: { eventId: id }, orderBy: { n: 'asc' } })
  expect(attempts.map((a) => [a.outcome, a.error])).toEqual([
    ['failed', 'the worker stopped during this attempt'],
    ['succeeded', null],
  ])
})

it('a worker killed in the middle of a batch: every event of it is charged that attempt, then processed once', async () => {
  // Only the worker started below may take these events.
  for (const child of children.splice(0)) {
    if (child.exitCode !== null || child.signalCode !== null) continue
    const gone = new Promise((r) => child.once('exit', r))
    child.kill('SIGTERM')
    await gone
  }
  rmSync(marker, { force: true })
  const ids: string[] = []
  for (let i = 0; i < 10; i++) {
    const { body, headers } = signedStripeDelivery(stripeEvent({ object: { id: `in_crash_batch_${i}` } }))
    const res = await h.post('stripe', body, headers)
    expect(res.status).toBe(200)
    ids.push(res.body.id as string)
  }

  const first = startWorkerProcess({ CRASH_MARKER: marker })
  await waitFor(async () => existsSync(marker), { what: 'a handler to start', timeoutMs: 30_000 })
  const exited = new Promise((r) => first.once('exit', r))
  first.kill('SIGKILL')
  await exited
  const charged = await h.prisma.$queryRawUnsafe<{ n: number }[]>(
    `SELECT count(*)::int AS n FROM hookline.hookline_events WHERE id = ANY($1::uuid[]) AND attempts = 1 AND status = 'processing'`,
    ids,
  )
  // More than one event was in the killed worker's transaction.
  expect(charged[0]!.n).toBeGreaterThan(1)

  startWorkerProcess({})
  for (const id of ids) await h.waitForStatus(id, 'processed', 45_000)
  const effects = await h.prisma.$queryRawUnsafe<{ event_id: string; n: number }[]>(
    `SELECT event_id::text, count(*)::int AS n FROM effects WHERE event_id = ANY($1::uuid[]) GROUP BY event_id`,
    ids,
  )
  expect(effects.map((e) => e.n)).toEqual(Array(10).fill(1))
  const attempts = await h.prisma.attempt.findMany({ where: { eventId: { in: ids } }, orderBy: [{ eventId: 'asc' }, { n: 'asc' }] })
  for (const id of ids) {
    const outcomes = attempts.filter((a) => a.eventId === id).map((a) => [a.outcome, a.error])
    // Charged by the crash or not, every event ends with one success, after at most one lost attempt.
    expect(outcomes.at(-1)).toEqual(['succeeded', null])
    expect(outcomes.slice(0, -1)).toEqual(outcomes.length === 2 ? [['failed', 'the worker stopped during this attempt']] : [])
  }
})

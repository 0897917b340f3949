/**
 * Service worker processes (which run the outbox relay) SIGKILLed again and again while the
 * application emits 5,000 events: every event is handled exactly once, each key in emit order.
 */
import type { ChildProcess } from 'node:child_process'
import { waitFor } from '@hookline/testkit'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { type Harness, startHarness } from './support/harness.ts'
import { killProcess as kill, spawnWorkerProcess } from './support/worker-process.ts'

let h: Harness
const children: ChildProcess[] = []

function startWorkerProcess(): ChildProcess {
  const child = spawnWorkerProcess(h, 'test/fixtures/outbox-handlers.mjs', { HOOKLINE_SWEEP_GRACE_MS: '2000' })
  children.push(child)
  return child
}

const inInbox = () => h.count(`SELECT count(*)::int AS n FROM hookline.hookline_events WHERE provider = 'app'`)

beforeAll(async () => {
  // Only the killed processes relay and handle.
  h = await startHarness({ startWorker: false })
})
afterAll(async () => {
  for (const child of children) await kill(child)
  await h?.close()
})

it('relays 5,000 emits exactly once through repeated SIGKILLs of the relaying processes', async () => {
  const total = 5000
  const keys = 25
  let emitted = 0
  // Each of 4 emitters owns some keys and emits 10 transactions of 20 events per key, in order.
  const emitting = Promise.all(
    Array.from({ length: 4 }, async (_, emitter) => {
      for (let round = 0; round < total / keys / 20; round++) {
        for (let k = emitter; k < keys; k += 4) {
          await h.prisma.$transaction(async (tx) => {
            for (let j = 0; j < 20; j++) await h.hookline.emit(tx, { type: 'order.step', key: `k${k}`, payload: { n: round * 20 + j } })
          })
          emitted += 20
        }
      }
    }),
  )
  let kills = 0
  while (kills < 12) {
    const child = startWorkerProcess()
    const before = await inInbox()
    // Killed once it is relaying (between claiming a batch and committing it, some of the times).
    await waitFor(async () => (await inInbox()) > before || (emitted >= total && (await inInbox()) === total), { what: 'the relay to move rows', timeoutMs: 30_000 })
    await new Promise((r) => setTimeout(r, Math.random() * 40))
    await kill(child)
    kills++
  }
  await emitting
  startWorkerProcess()
  await waitFor(async () => (await h.count(`SELECT count(*)::int AS n FROM effects`)) === total, { what: `${total} events handled`, timeoutMs: 120_000 })
  await h.waitAllProcessed()
  expect(await inInbox()).toBe(total)
  expect(await h.count(`SELECT count(*)::int AS n FROM hookline.hookline_outbox`)).toBe(0)
  expect(await h.count(`SELECT count(DISTINCT event_id)::int AS n FROM effects`)).toBe(total)
  for (let k = 0; k < keys; k++) {
    const labels = await h.prisma.$queryRawUnsafe<{ label: string }[]>(`SELECT label FROM effects WHERE entity_key = $1 ORDER BY id`, `k${k}`)
    const ns = labels.map((l) => Number(l.label.split(':')[2]))
    expect(ns).toEqual(Array.from({ length: total / keys }, (_, i) => i))
  }
}, 240_000)

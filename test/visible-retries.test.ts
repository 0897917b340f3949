/**
 * Retries support can see, through the admin API and `hookline events show`: a failed event says
 * when it runs next and of how many attempts, each attempt keeps its stack trace, an event waiting
 * for an earlier one of its entity names it, and a processed event has no next attempt.
 */
import type { Handler } from '@hookline/core'
import { listenOnFreePort, waitFor } from '@hookline/testkit'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createApp } from '../apps/hookline/src/service.ts'
import { type Harness, startHarness } from './support/harness.ts'
import { runHookline } from './support/cli-process.ts'

const TOKEN = 'visible-retries-admin-token-0123456789'
const failing = new Set<string>()

function applyInvoice(): never {
  throw new Error('ledger is locked')
}

const handler: Handler = async (event) => {
  if (failing.has(event.eventKey)) applyInvoice()
}

let h: Harness
let service: { url: string; close(): Promise<void> }

beforeAll(async () => {
  // A long backoff: the failed event stays failed, waiting for its next attempt, while the test looks.
  h = await startHarness({ handlers: { '*': handler }, retry: { maxAttempts: 5, backoffMs: 600_000 } })
  service = await listenOnFreePort(createApp(h.hookline, { adminToken: TOKEN }))
})
afterAll(async () => {
  await service?.close()
  await h?.close()
})

async function api(path: string): Promise<any> {
  const res = await fetch(`${service.url}/admin/api${path}`, { headers: { authorization: `Bearer ${TOKEN}` } })
  expect(res.status).toBe(200)
  return res.json()
}

const hookline = (args: string[]) => runHookline(args, { url: service.url, token: TOKEN })

it('a failed event carries nextAttemptAt, maxAttempts and each attempt\'s stack, in the API and events show', async () => {
  failing.add('evt_visible_retry')
  const id = await h.sendStripeEvent({ id: 'evt_visible_retry', account: 'acct_visible' })
  await h.waitForStatus(id, 'failed')
  const detail = await waitFor(async () => {
    const d = await api(`/events/${id}`)
    return d.attemptLog[0]?.outcome === 'failed' ? d : undefined
  }, { what: 'the failed attempt recorded' })
  expect(detail.status).toBe('failed')
  expect(detail.maxAttempts).toBe(5)
  expect(detail.attempts).toBe(1)
  const next = Date.parse(detail.nextAttemptAt)
  expect(next).toBeGreaterThan(Date.now() + 60_000)
  expect(detail.attemptLog[0]).toMatchObject({ n: 1, generation: 1, error: expect.stringContaining('ledger is locked') })
  expect(detail.attemptLog[0].stack).toMatch(/Error: ledger is locked\n\s+at applyInvoice/)

  const listed = (await api('/events?tenant=acct_visible')).events[0]
  expect(listed).toMatchObject({ id, maxAttempts: 5, nextAttemptAt: detail.nextAttemptAt })

  const show = await hookline(['events', 'show', id])
  expect(show.code).toBe(0)
  expect(show.stdout).toMatch(/attempts:\s+1 of 5/)
  expect(show.stdout).toMatch(new RegExp(`next attempt:\\s+${(detail.nextAttemptAt as string).slice(0, 19)}Z`))
  expect(show.stdout).toMatch(/stack traces\n#1 \(run 1\)\nError: ledger is locked\n\s+at applyInvoice/)
})

it('an event waiting for an earlier event of its entity names it, in the API and events show', async () => {
  failing.add('evt_visible_wait_first')
  const t = Math.floor(Date.now() / 1000)
  const first = await h.sendStripeEvent({ id: 'evt_visible_wait_first', account: 'acct_visible_wait', created: t - 10, object: { id: 'in_visible_wait' } })
  await h.waitForStatus(first, 'failed')
  const second = await h.sendStripeEvent({ id: 'evt_visible_wait_second', account: 'acct_visible_wait', created: t, object: { id: 'in_visible_wait' } })
  const detail = await waitFor(async () => {
    const d = await api(`/events/${second}`)
    return d.waitingFor !== null ? d : undefined
  }, { what: 'the second event waiting for the first' })
  expect(detail).toMatchObject({ status: 'received', attempts: 0, waitingFor: first })
  expect((await api(`/events/${first}`)).waitingFor).toBeNull()

  const show = await hookline(['events', 'show', 'evt_visible_wait_second'])
  expect(show.code).toBe(0)
  expect(show.stdout).toMatch(new RegExp(`waiting for:\\s+${first} \\(an earlier event of its entity`))
})

it('a processed event has no next attempt', async () => {
  const id = await h.sendStripeEvent({ account: 'acct_visible_ok' })
  await h.waitForStatus(id, 'processed')
  const detail = await api(`/events/${id}`)
  expect(detail).toMatchObject({ status: 'processed', nextAttemptAt: null, maxAttempts: 5 })
  expect(detail.attemptLog[0]).toMatchObject({ outcome: 'succeeded', stack: null })
})

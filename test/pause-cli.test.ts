/**
 * `hookline pause|resume|pauses|breakers` and the held line of `events show`, with the real binary
 * against the service's own app on real Postgres and Redis.
 */
import { listenOnFreePort, waitFor } from '@hookline/testkit'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../apps/hookline/src/service.ts'
import { type Harness, recordEffect, startHarness } from './support/harness.ts'
import { runHookline } from './support/cli-process.ts'

const TOKEN = 'cli-admin-token-0123456789abcdef'

let h: Harness
let service: { url: string; close(): Promise<void> }

beforeAll(async () => {
  h = await startHarness({ handlers: { 'stripe:*': recordEffect } as never })
  service = await listenOnFreePort(createApp(h.hookline, { adminToken: TOKEN }))
})
afterAll(async () => {
  await service?.close()
  await h?.close()
})

const hookline = (args: string[]) => runHookline(args, { url: service.url, token: TOKEN })

describe('pause and resume from the CLI', () => {
  it('pauses stripe, shows why an event is held, resumes it, and refuses an unknown pause', async () => {
    const paused = await hookline(['pause', 'stripe', '--note', 'crm migration'])
    expect(paused.code).toBe(0)
    expect(paused.stdout).toMatch(/^paused stripe since \d{4}-/)
    const listed = await hookline(['pauses'])
    expect(listed.stdout).toMatch(/PROVIDER\s+TYPE\s+SINCE\s+BY\s+NOTE/)
    expect(listed.stdout).toMatch(/stripe\s+\(all\)\s+\S+\s+\S+\s+crm migration/)

    const id = await h.sendStripeEvent({ type: 'invoice.paid' })
    await waitFor(async () => (await h.count(`SELECT count(*)::int AS n FROM hookline.hookline_due_events WHERE event_id = $1::uuid AND waits > 0`, id)) === 1, { what: 'the event held' })
    const shown = await hookline(['events', 'show', id])
    expect(shown.stdout).toMatch(/held:\s+paused \(stripe\) since \d{4}-/)
    expect(await h.count(`SELECT count(*)::int AS n FROM effects`)).toBe(0)

    const resumed = await hookline(['resume', 'stripe'])
    expect(resumed.stdout).toContain('resumed stripe: 1 held event(s) queued')
    await h.waitForStatus(id, 'processed')
    expect(JSON.parse((await hookline(['pauses', '--json'])).stdout)).toEqual({ pauses: [] })

    const again = await hookline(['resume', 'stripe'])
    expect(again.code).not.toBe(0)
    expect(again.stderr).toContain('stripe is not paused')
  })

  it('lists the circuit breakers', async () => {
    const none = await hookline(['breakers'])
    expect(none.code).toBe(0)
    expect(none.stdout).toContain('no breaker has counted a failure')
    expect(JSON.parse((await hookline(['breakers', '--json'])).stdout)).toEqual({ breakers: [] })
  })
})

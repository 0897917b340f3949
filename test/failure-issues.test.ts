/**
 * Failures grouped into issues, against real Postgres and Redis: 300 failed attempts of two causes
 * over 100 events make exactly two issues with the right counts and events; the `onIssue` hook
 * hears each open and reopen once; replaying one issue after its fix processes just its events;
 * resolving an issue and failing again reopens it; the admin API, the `hookline issues` commands
 * and the `hookline_open_issues` gauge show it all; bad input is a 4xx.
 */
import { randomBytes } from 'node:crypto'
import type { Handler, IssueNotice } from '@hookline/core'
import { listenOnFreePort, signedStripeDelivery, stripeEvent, waitFor } from '@hookline/testkit'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../apps/hookline/src/service.ts'
import { type Harness, startHarness } from './support/harness.ts'
import { runHookline } from './support/cli-process.ts'

const TOKEN = 'issues-admin-token-0123456789abc'
const VIEWER = 'issues-viewer-token-0123456789ab'
/** The CRM is down until a test fixes it; the customer mapping bug is never fixed. */
let crmDown = true

/** One handler for every Stripe event: invoices call the CRM, customers hit a bug with varying values. */
const handler: Handler = async (event, { tx, attempt }) => {
  const object = (event.payload as { data: { object: { id: string } } }).data.object
  if (event.type === 'invoice.paid' && crmDown) throw new Error(`CRM timeout after ${1000 + attempt * 37} ms for ${object.id}`)
  if (event.type === 'customer.updated') throw new TypeError(`amount ${attempt * 11} is not a number for "${object.id}"`)
  await tx.$executeRawUnsafe(`INSERT INTO effects (event_id, label) VALUES ($1::uuid, $2)`, event.id, event.type)
}

const notices: IssueNotice[] = []
let h: Harness
let service: { url: string; close(): Promise<void> }
const invoices: string[] = []
const customers: string[] = []

beforeAll(async () => {
  h = await startHarness({
    handlers: { 'stripe:*': handler },
    retry: { maxAttempts: 3, backoffMs: 10 },
    // Every event of the route fails: its circuit breaker would hold them instead of letting them die.
    breaker: { failures: 1_000_000 },
    replay: { ratePerSecond: 1000 },
    onIssue: (issue) => void notices.push(issue),
  })
  service = await listenOnFreePort(
    createApp(h.hookline, { adminTokens: [{ name: 'ana', role: 'operator', token: TOKEN }, { name: 'vic', role: 'viewer', token: VIEWER }] }),
  )
  for (let i = 0; i < 100; i++) {
    const type = i % 2 === 0 ? 'invoice.paid' : 'customer.updated'
    const event = stripeEvent({ type, object: { id: `${type === 'invoice.paid' ? 'in' : 'cus'}_${randomBytes(6).toString('hex')}9` } })
    const { body, headers } = signedStripeDelivery(event)
    const res = await h.post('stripe', body, headers)
    expect(res.status).toBe(200)
    ;(type === 'invoice.paid' ? invoices : customers).push(res.body.id)
  }
  await waitFor(async () => (await h.count(`SELECT count(*)::int AS n FROM hookline.hookline_events WHERE status = 'dead'`)) === 100, {
    what: 'all 100 events dead',
    timeoutMs: 90_000,
  })
}, 120_000)
afterAll(async () => {
  await service?.close()
  await h?.close()
})

async function api(method: string, path: string, body?: unknown, token = TOKEN): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` }
  if (body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(`${service.url}/admin/api${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : undefined }
}

const hookline = (args: string[], input = '') => runHookline(args, { url: service.url, token: TOKEN, input })

async function issueOf(errorClass: string): Promise<any> {
  const { body } = await api('GET', '/issues?status=all')
  return body.issues.find((i: any) => i.errorClass === errorClass)
}

async function openIssuesGauge(): Promise<number> {
  const text = await (await fetch(`${h.url}/metrics`)).text()
  return Number(/^hookline_open_issues (\d+)$/m.exec(text)?.[1])
}

async function statuses(ids: string[]): Promise<Record<string, number>> {
  const rows = await h.prisma.$queryRawUnsafe<{ status: string; n: number }[]>(
    `SELECT status::text, count(*)::int AS n FROM hookline.hookline_events WHERE id = ANY($1::uuid[]) GROUP BY 1`,
    ids,
  )
  return Object.fromEntries(rows.map((r) => [r.status, r.n]))
}

describe('grouping', () => {
  it('makes exactly two issues of 300 failures over 100 events, with their counts and events', async () => {
    expect(await h.count(`SELECT count(*)::int AS n FROM hookline.hookline_attempts WHERE outcome IN ('failed', 'dead')`)).toBe(300)
    const { status, body } = await api('GET', '/issues?status=open')
    expect(status).toBe(200)
    expect(body.issues).toHaveLength(2)
    const byClass = Object.fromEntries(body.issues.map((i: any) => [i.errorClass, i]))
    expect(byClass.Error).toMatchObject({ route: 'stripe:*', message: 'CRM timeout after <n> ms for <id>', count: 150, events: 50, status: 'open' })
    expect(byClass.TypeError).toMatchObject({ route: 'stripe:*', message: 'amount <n> is not a number for <str>', count: 150, events: 50, status: 'open' })
    for (const issue of body.issues) {
      expect(Object.keys(issue)).toEqual(expect.arrayContaining(['fingerprint', 'route', 'errorClass', 'message', 'count', 'events', 'firstSeen', 'lastSeen', 'status']))
      expect(Date.parse(issue.lastSeen)).toBeGreaterThanOrEqual(Date.parse(issue.firstSeen))
    }
    // Newest lastSeen first.
    expect(Date.parse(body.issues[0].lastSeen)).toBeGreaterThanOrEqual(Date.parse(body.issues[1].lastSeen))
    // Every failed attempt carries its issue's fingerprint.
    expect(await h.count(`SELECT count(*)::int AS n FROM hookline.hookline_attempts WHERE fingerprint = $1 AND event_id = ANY($2::uuid[])`, byClass.Error.fingerprint, invoices)).toBe(150)
    expect(notices.map((n) => [n.change, n.errorClass]).sort()).toEqual([['new', 'Error'], ['new', 'TypeError']])
    expect(await openIssuesGauge()).toBe(2)
  })

  it('shows an issue with its events, paginated like the events listing', async () => {
    const crm = await issueOf('Error')
    const first = await api('GET', `/issues/${crm.fingerprint}?limit=30`)
    expect(first.status).toBe(200)
    expect(first.body.issue).toMatchObject({ fingerprint: crm.fingerprint, count: 150, events: 50 })
    expect(first.body.events).toHaveLength(30)
    expect(first.body.nextCursor).toEqual(expect.any(String))
    const second = await api('GET', `/issues/${crm.fingerprint}?limit=30&cursor=${encodeURIComponent(first.body.nextCursor)}`)
    expect(second.body.events).toHaveLength(20)
    expect(second.body.nextCursor).toBeNull()
    const ids = [...first.body.events, ...second.body.events].map((e: any) => e.id)
    expect(new Set(ids)).toEqual(new Set(invoices))
    expect(first.body.events.every((e: any) => e.status === 'dead' && e.type === 'invoice.paid')).toBe(true)
  })

  it('lists and shows issues in the CLI', async () => {
    const crm = await issueOf('Error')
    const list = await hookline(['issues'])
    expect(list.code).toBe(0)
    expect(list.stdout).toMatch(/FINGERPRINT\s+STATUS\s+ROUTE/)
    const row = list.stdout.split('\n').find((line) => line.startsWith(crm.fingerprint))
    expect(row).toMatch(/open\s+stripe:\*\s+Error\s+150\s+50\s+/)
    expect(row).toContain('CRM timeout after <n> ms for <id>')
    const asJson = JSON.parse((await hookline(['issues', '--json'])).stdout)
    expect(asJson.issues).toHaveLength(2)
    const show = await hookline(['issues', 'show', crm.fingerprint, '--limit', '100'])
    expect(show.code).toBe(0)
    expect(show.stdout).toMatch(/failures:\s+150/)
    expect(show.stdout).toMatch(/events:\s+50/)
    for (const id of invoices) expect(show.stdout).toContain(id)
    for (const id of customers) expect(show.stdout).not.toContain(id)
  })
})

describe('replay and resolve', () => {
  it("replays one issue's events after the fix, dry run first, and processes just them", async () => {
    const crm = await issueOf('Error')
    crmDown = false
    const dry = await api('POST', `/issues/${crm.fingerprint}/replay`, { dryRun: true })
    expect(dry).toEqual({ status: 200, body: { dryRun: true, matched: 50, replayable: 50, enqueued: 0, byStatus: { dead: 50 } } })
    expect(await statuses(invoices)).toEqual({ dead: 50 })
    const real = await api('POST', `/issues/${crm.fingerprint}/replay`, { note: 'CRM is back' })
    expect(real.body).toMatchObject({ dryRun: false, matched: 50, enqueued: 50 })
    await waitFor(async () => (await statuses(invoices)).processed === 50, { what: 'the CRM issue replayed', timeoutMs: 30_000 })
    expect(await statuses(customers)).toEqual({ dead: 50 })
    expect(await h.count(`SELECT count(DISTINCT event_id)::int AS n FROM effects WHERE event_id = ANY($1::uuid[])`, invoices)).toBe(50)
    expect(await h.count(`SELECT count(*)::int AS n FROM effects`)).toBe(50)
    const [audit] = await h.prisma.$queryRawUnsafe<any[]>(`SELECT actor, filter, count, note FROM hookline.hookline_audit_log WHERE action = 'replay.bulk'`)
    expect(audit).toEqual({ actor: 'ana', filter: { issue: crm.fingerprint, force: false }, count: 50, note: 'CRM is back' })
    // A second replay finds nothing left to do.
    expect((await api('POST', `/issues/${crm.fingerprint}/replay`, { dryRun: true })).body).toMatchObject({ matched: 50, replayable: 0, byStatus: { processed: 50 } })
  })

  it('resolves an issue in the CLI, and a failure after that reopens it', async () => {
    const bug = await issueOf('TypeError')
    const resolved = await hookline(['issues', 'resolve', bug.fingerprint, '--note', 'mapping fixed'])
    expect(resolved).toMatchObject({ code: 0, stdout: `resolved ${bug.fingerprint}\n` })
    expect(await issueOf('TypeError')).toMatchObject({ status: 'resolved', resolvedAt: expect.any(String) })
    expect((await api('GET', '/issues?status=resolved')).body.issues.map((i: any) => i.fingerprint)).toEqual([bug.fingerprint])
    expect(await openIssuesGauge()).toBe(1)
    const [audit] = await h.prisma.$queryRawUnsafe<any[]>(`SELECT actor, filter, note FROM hookline.hookline_audit_log WHERE action = 'issue.resolve'`)
    expect(audit).toEqual({ actor: expect.stringMatching(/^ana \(cli:/), filter: { issue: bug.fingerprint }, note: 'mapping fixed' })

    // The fix was not the fix: replaying its events fails them again.
    const dry = await hookline(['issues', 'replay', bug.fingerprint, '--dry-run'])
    expect(dry.stdout).toMatch(/matched:\s+50 \(dead 50\)/)
    expect(dry.stdout).toMatch(/would replay:\s+50/)
    const declined = await hookline(['issues', 'replay', bug.fingerprint], 'n\n')
    expect(declined.code).not.toBe(0)
    expect(await statuses(customers)).toEqual({ dead: 50 })
    const replay = await hookline(['issues', 'replay', bug.fingerprint, '--yes'])
    expect(replay.stdout).toMatch(/replayed:\s+50/)
    await waitFor(async () => (await issueOf('TypeError')).count === 300 && (await statuses(customers)).dead === 50, { what: 'the replayed events dead again', timeoutMs: 30_000 })
    const reopened = await issueOf('TypeError')
    expect(reopened).toMatchObject({ status: 'open', resolvedAt: null, reopened: 1, count: 300, events: 50, reopenedAt: expect.any(String) })
    expect(notices.filter((n) => n.change === 'reopened').map((n) => n.fingerprint)).toEqual([bug.fingerprint])
    expect(await openIssuesGauge()).toBe(2)
  })
})

describe('bad input', () => {
  it('answers 4xx with a JSON error', async () => {
    const crm = await issueOf('Error')
    expect((await api('GET', '/issues?status=bogus')).status).toBe(400)
    expect((await api('GET', '/issues?limit=0')).status).toBe(400)
    const unknown = await api('GET', '/issues/0123456789abcdef')
    expect(unknown).toEqual({ status: 404, body: { error: { code: 'hookline.issue_not_found', message: 'no issue with fingerprint 0123456789abcdef' } } })
    expect((await api('GET', '/issues/not-a-fingerprint')).status).toBe(404)
    expect((await api('POST', '/issues/0123456789abcdef/replay', { dryRun: true })).status).toBe(404)
    expect((await api('POST', '/issues/0123456789abcdef/resolve', {})).status).toBe(404)
    expect((await api('POST', `/issues/${crm.fingerprint}/replay`, { force: true })).status).toBe(400)
    expect((await api('GET', `/events?issue=zz`)).status).toBe(400)
    expect((await api('POST', `/issues/${crm.fingerprint}/resolve`, {}, VIEWER)).status).toBe(403)
    expect((await api('GET', '/issues', undefined, VIEWER)).status).toBe(200)
    const cli = await hookline(['issues', 'show', '0123456789abcdef'])
    expect(cli.code).toBe(3)
    expect(cli.stderr).toContain('no issue with fingerprint 0123456789abcdef')
  })
})

/**
 * The support console in headless Chromium (Debian's `chromium`, driven by playwright-core; no
 * browser download), served by the service's own app against real Postgres and Redis: sign in,
 * the overview, filter to one tenant, open a dead event, replay it and see it processed; a
 * payload holding `<script>` renders as text; a DLQ bulk replay after a dry-run count; an issue
 * replayed after a dry-run count, then resolved.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Handler, PermanentError } from '@hookline/core'
import { stripeAdapter } from '@hookline/stripe'
import { type FakeStripeApi, listenOnFreePort, signedStripeDelivery, STRIPE_TEST_SECRET, startFakeStripeApi, stripeEvent, waitFor } from '@hookline/testkit'
import { type BrowserContext, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createApp } from '../apps/hookline/src/service.ts'
import { type Harness, startHarness } from './support/harness.ts'

const TOKEN = 'console-admin-token-0123456789abcdef'
const XSS = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
const broken = new Set<string>()

const handler: Handler = async (event) => {
  if (broken.has(event.eventKey)) throw new PermanentError('downstream refused')
}

let h: Harness
let stripeApi: FakeStripeApi
let server: { url: string; close(): Promise<void> }
let context: BrowserContext
let page: Page
let profile: string
const pageErrors: string[] = []

async function deliver(tenant: string, options: { fail?: boolean; object?: Record<string, unknown> } = {}): Promise<{ id: string; key: string }> {
  const event = stripeEvent({ account: tenant, type: 'invoice.payment_failed', ...(options.object ? { object: options.object } : {}) })
  if (options.fail) broken.add(event.id as string)
  const { body, headers } = signedStripeDelivery(event)
  const res = await h.post('stripe', body, headers)
  await h.waitForStatus(res.body.id, options.fail ? 'dead' : 'processed')
  return { id: res.body.id, key: event.id as string }
}

function cspViolations(): Promise<string[] | undefined> {
  return page.evaluate(() => (globalThis as unknown as { __cspViolations?: string[] }).__cspViolations)
}

beforeAll(async () => {
  stripeApi = await startFakeStripeApi()
  h = await startHarness({
    handlers: { '*': handler },
    replay: { ratePerSecond: 1000 },
    adapters: [stripeAdapter({ secrets: [STRIPE_TEST_SECRET], api: { apiKey: 'sk_test_fake', baseUrl: stripeApi.url, maxNetworkRetries: 0 } })],
  })
  server = await listenOnFreePort(createApp(h.hookline, { adminToken: TOKEN }))
  profile = mkdtempSync(join(tmpdir(), 'hookline-chromium-'))
  context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
  page = context.pages()[0] ?? (await context.newPage())
  // A step that waits on an element fails on its own, naming the element, well within the test's
  // timeout (Playwright's default is 30 s per action).
  page.setDefaultTimeout(10_000)
  page.on('pageerror', (err) => pageErrors.push(err.message))
  // The console must work under its own content security policy: record any violation.
  await page.addInitScript({
    content: "document.addEventListener('securitypolicyviolation', (e) => { (window.__cspViolations ??= []).push(e.violatedDirective + ' ' + e.blockedURI) })",
  })
})

afterAll(async () => {
  await context?.close()
  if (profile) rmSync(profile, { recursive: true, force: true })
  await server?.close()
  await h?.close()
  await stripeApi?.close()
})

it('signs in with the token, refusing a wrong one, and shows the overview', async () => {
  await deliver('acct_console_other')
  await page.goto(`${server.url}/admin`)
  await page.getByLabel('Admin token').fill('not-the-token')
  await page.getByLabel('Your name (for the audit log)').fill('ana')
  await page.getByRole('button', { name: 'Sign in' }).click()
  await expect.poll(() => page.getByRole('alert').textContent()).toBe('Wrong token.')

  await page.getByLabel('Admin token').fill(TOKEN)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByRole('heading', { name: 'Overview' }).waitFor()
  expect(await page.locator('#who').textContent()).toBe('signed in as ana')
  // One chart per provider with its four series.
  expect(await page.locator('figure.provider-chart figcaption').allTextContents()).toEqual(['stripe'])
  expect(await page.locator('figure.provider-chart polyline').count()).toBe(4)
  expect(await page.locator('#dlq-depth').textContent()).toBe('0')
  expect(await cspViolations()).toBeUndefined()
})

it('filters to one tenant, opens a dead event, replays it and shows it processed; the payload is text', async () => {
  const dead = await deliver('acct_console', { fail: true, object: { description: XSS } })
  const ok = await deliver('acct_console')
  await page.goto(`${server.url}/admin#/events`)
  await page.getByRole('heading', { name: 'Events' }).waitFor()
  await page.getByLabel('Tenant').fill('acct_console')
  await page.getByRole('button', { name: 'Apply filters' }).click()
  await expect.poll(() => page.locator('table.events tbody tr').count()).toBe(2)
  expect(await page.locator('table.events tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')))).toEqual([ok.id, dead.id])
  expect(page.url()).toContain('#/events?tenant=acct_console')

  await page.locator(`tr[data-id="${dead.id}"] a`).click()
  await page.getByRole('heading', { name: `Event ${dead.key} dead` }).waitFor()
  const payload = (await page.locator('#payload').textContent()) ?? ''
  expect(JSON.parse(payload).data.object.description).toBe(XSS)
  expect(await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned)).toBeUndefined()
  expect(await page.locator('main script, main img').count()).toBe(0)
  expect(await page.locator('#timeline').textContent()).toContain('PermanentError: downstream refused')

  broken.delete(dead.key)
  await page.getByRole('button', { name: 'Replay', exact: true }).click()
  await page.getByRole('heading', { name: `Event ${dead.key} processed` }).waitFor({ timeout: 20_000 })
  expect(await page.getByRole('status').first().textContent()).toBe('Replayed as generation 1.')
  const timeline = (await page.locator('#timeline li').allTextContents()).map((t) => t.split(' — ')[0])
  expect(timeline).toEqual(['Generation 1, attempt 1: dead', 'replay by ana', 'Generation 1, attempt 2: succeeded'])
  expect(await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned)).toBeUndefined()
  expect(await cspViolations()).toBeUndefined()
  expect(pageErrors).toEqual([])
})

it('replays the dead letters of a filter after a dry-run count', async () => {
  const a = await deliver('acct_console_dlq', { fail: true })
  const b = await deliver('acct_console_dlq', { fail: true })
  await page.goto(`${server.url}/admin#/dlq?tenant=acct_console_dlq`)
  await page.getByRole('heading', { name: /Dead letters/ }).waitFor()
  await expect.poll(() => page.locator('table.events tbody tr').count()).toBe(2)
  const replay = page.getByRole('button', { name: /^Replay/ })
  expect(await replay.isDisabled()).toBe(true)

  await page.getByRole('button', { name: 'Count matching (dry run)' }).click()
  await expect.poll(() => page.locator('.bulk-result').textContent()).toBe('2 dead event(s) match the applied filter.')
  expect((await h.prisma.event.findMany({ where: { id: { in: [a.id, b.id] } } })).map((e) => e.status)).toEqual(['dead', 'dead'])

  broken.delete(a.key)
  broken.delete(b.key)
  await page.getByLabel('Note').fill('handler fixed')
  await page.getByRole('button', { name: 'Replay 2 event(s)' }).click()
  await expect.poll(() => page.locator('.bulk-result').textContent()).toContain('Replayed 2 event(s)')
  await h.waitForStatus(a.id, 'processed')
  await h.waitForStatus(b.id, 'processed')
  await page.getByRole('button', { name: 'Refresh list' }).click()
  await expect.poll(() => page.locator('table.events tbody tr').count()).toBe(0)
  expect(pageErrors).toEqual([])
})

it('starts a reconciliation and follows the run to what it recovered; Refresh shows runs started elsewhere', async () => {
  stripeApi.events.push(stripeEvent({ account: undefined }))
  await page.goto(`${server.url}/admin#/reconcile`)
  await page.getByRole('heading', { name: 'Reconciliation' }).waitFor()
  await expect.poll(() => page.locator('main').textContent()).toContain('No reconciliation has run yet.')
  // Stripe answers the run's first call 429 with Retry-After 3: the run is still running (waiting)
  // when the page first shows it.
  stripeApi.rateLimitNext(1, 3)
  await page.getByLabel('Provider').fill('stripe')
  await page.getByRole('button', { name: 'Reconcile now' }).click()
  await expect.poll(() => page.locator('.bulk-result').textContent()).toContain('Started 1 run(s)')
  // No clicking: the table re-reads itself while a run is running.
  const newestStatus = () => page.locator('table.runs tbody tr td.status').first().textContent({ timeout: 1_000 }).catch(() => null)
  await expect.poll(newestStatus, { timeout: 30_000 }).toBe('succeeded')
  const cells = await page.locator('table.runs tbody tr').first().locator('td.num').allTextContents()
  expect(cells).toEqual(['1', '0', '1', '0'])

  // A run started elsewhere (the CLI, the schedule) shows up on Refresh, and is followed too.
  stripeApi.events.push(stripeEvent({ account: undefined }))
  stripeApi.rateLimitNext(1, 3)
  await h.hookline.reconcile({ provider: 'stripe', trigger: 'test' })
  await page.getByRole('button', { name: 'Refresh' }).click()
  await expect.poll(() => page.locator('table.runs tbody tr').count()).toBe(2)
  await expect.poll(newestStatus, { timeout: 30_000 }).toBe('succeeded')
  expect((await page.locator('table.runs tbody tr').first().locator('td.num').allTextContents())[2]).toBe('1')

  await page.goto(`${server.url}/admin#/`)
  await page.getByRole('heading', { name: /Last reconciliations/ }).waitFor()
  await expect.poll(() => page.locator('table.runs tbody tr').count()).toBe(2)
  expect(pageErrors).toEqual([])
  expect(await cspViolations()).toBeUndefined()
})

it('pauses a provider from the Holds page, shows a held event as paused, and resumes it', async () => {
  await page.goto(`${server.url}/admin#/holds`)
  await page.getByRole('heading', { name: 'Holds' }).waitFor()
  await expect.poll(() => page.locator('main').textContent()).toContain('Nothing is paused.')
  await page.getByLabel('Provider').fill('stripe')
  await page.getByLabel('Note').fill('crm migration')
  await page.getByRole('button', { name: 'Pause', exact: true }).click()
  await expect.poll(() => page.locator('main').textContent()).toContain('Paused stripe.')
  expect(await page.locator('table.pauses tbody tr td').allTextContents()).toEqual(expect.arrayContaining(['stripe', 'all', 'crm migration']))

  const event = stripeEvent({ account: 'acct_console_held', type: 'invoice.payment_failed' })
  const { body, headers } = signedStripeDelivery(event)
  const id = (await h.post('stripe', body, headers)).body.id as string
  await waitFor(async () => (await h.count(`SELECT count(*)::int AS n FROM hookline.hookline_due_events WHERE event_id = $1::uuid AND waits > 0`, id)) === 1, { what: 'the event held' })
  await page.goto(`${server.url}/admin#/events/${id}`)
  await expect.poll(() => page.locator('#details').textContent()).toMatch(/Heldpaused \(stripe\) since \d{4}-/)

  await page.goto(`${server.url}/admin#/holds`)
  await page.getByRole('button', { name: 'Resume stripe' }).click()
  await expect.poll(() => page.locator('main').textContent()).toContain('Resumed stripe: 1 held event(s) queued.')
  await h.waitForStatus(id, 'processed')
  expect(await h.hookline.pauses()).toEqual([])
  expect(pageErrors).toEqual([])
  expect(await cspViolations()).toBeUndefined()
})

it('lists issues, replays one issue after a dry-run count and resolves it', async () => {
  const a = await deliver('acct_console_issue', { fail: true })
  const b = await deliver('acct_console_issue', { fail: true })
  await page.goto(`${server.url}/admin#/issues`)
  await page.getByRole('heading', { name: 'Issues' }).waitFor()
  const row = page.locator('table.issues tbody tr', { hasText: 'PermanentError' })
  await expect.poll(() => row.locator('td.error-cell').textContent()).toBe('downstream refused')
  await row.locator('a').click()
  await page.getByRole('heading', { name: /^Issue/ }).waitFor()
  await expect.poll(() => page.locator('table.events tbody tr', { hasText: 'acct_console_issue' }).count()).toBe(2)

  await page.getByRole('button', { name: 'Count replayable (dry run)' }).click()
  await expect.poll(() => page.locator('.bulk-result').textContent()).toMatch(/^2 of this issue's \d+ event\(s\) are dead or failed and would be replayed\.$/)
  broken.delete(a.key)
  broken.delete(b.key)
  await page.getByRole('button', { name: 'Replay 2 event(s)' }).click()
  await expect.poll(() => page.locator('.bulk-result').textContent()).toContain('Replayed 2 event(s)')
  await h.waitForStatus(a.id, 'processed')
  await h.waitForStatus(b.id, 'processed')

  await page.getByLabel('Note').fill('downstream fixed')
  await page.getByRole('button', { name: 'Resolve' }).click()
  await expect.poll(() => page.locator('h1 .badge').textContent()).toBe('resolved')
  const [issue] = await h.prisma.issue.findMany({ where: { errorClass: 'PermanentError' } })
  expect(issue).toMatchObject({ status: 'resolved', message: 'downstream refused' })
  await page.goto(`${server.url}/admin#/issues?status=resolved`)
  await expect.poll(() => page.locator('table.issues tbody tr').count()).toBe(1)
  expect(pageErrors).toEqual([])
  expect(await cspViolations()).toBeUndefined()
})

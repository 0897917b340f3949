/**
 * The support console in headless Chromium (Debian's `chromium`, driven by playwright-core; no
 * browser download), served by the service's own app against real Postgres and Redis: sign in,
 * the overview, filter to one tenant, open a dead event, replay it and see it processed; a
 * payload holding `<script>` renders as text; a DLQ bulk replay after a dry-run count; an issue
 * replayed after a dry-run count, then resolved; event keys with copy buttons, highlighted JSON,
 * times with their zone, events opened by provider key (a chooser when ambiguous), provider
 * dashboard links, auto-refresh and its pause, replay / ignore of selected rows, a viewer's page
 * without actions, the chart's axis labels, every page at 400 px, and — on a second service
 * without reconciliation — no *Reconcile now*, why a failed event waits, folded stack traces and
 * a pruned payload. Screenshots go to `test-artifacts/console/` (or `HOOKLINE_ARTIFACTS_DIR`).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Handler, PermanentError } from '@hookline/core'
import { githubAdapter } from '@hookline/github'
import { stripeAdapter } from '@hookline/stripe'
import {
  type FakeStripeApi,
  GITHUB_TEST_APP_ID,
  GITHUB_TEST_HOOK_ID,
  GITHUB_TEST_SECRET,
  githubIssueOpened,
  listenOnFreePort,
  signedGithubDelivery,
  signedStripeDelivery,
  STRIPE_TEST_SECRET,
  startFakeStripeApi,
  stripeEvent,
  waitFor,
} from '@hookline/testkit'
import { type BrowserContext, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../apps/hookline/src/service.ts'
import { type Harness, startHarness } from './support/harness.ts'

const TOKEN = 'console-admin-token-0123456789abcdef'
const VIEWER_TOKEN = 'console-viewer-token-0123456789abcdef'
/** The browser's zone: times must show it (UTC+05:30), whatever the machine's zone is. */
const ZONE = 'Asia/Kolkata'
const ARTIFACTS = process.env.HOOKLINE_ARTIFACTS_DIR ?? join(import.meta.dirname, '..', 'test-artifacts', 'console')
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

function cspViolations(on: Page = page): Promise<string[] | undefined> {
  return on.evaluate(() => (globalThis as unknown as { __cspViolations?: string[] }).__cspViolations)
}

/** What the page copied (the test's browser may read the clipboard). */
function clipboard(): Promise<string> {
  return page.evaluate(() => (globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }).navigator.clipboard.readText())
}

/** Saves a full-page screenshot as an artefact of the run. */
async function shot(name: string, on: Page = page): Promise<void> {
  await on.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true })
}

/** A new tab signed in to the console at `url` with `token`. */
async function signedInTab(url: string, token: string): Promise<Page> {
  const tab = await context.newPage()
  tab.setDefaultTimeout(10_000)
  tab.on('pageerror', (err) => pageErrors.push(err.message))
  await tab.goto(`${url}/admin`)
  await tab.getByLabel('Admin token').fill(token)
  await tab.getByLabel('Your name (for the audit log)').fill('vic')
  await tab.getByRole('button', { name: 'Sign in' }).click()
  await tab.getByRole('heading', { name: 'Overview' }).waitFor()
  return tab
}

/** `at` as the console shows it in {@link ZONE}. */
function inZone(at: Date): string {
  const d = new Date(at.getTime() + 330 * 60_000)
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC+05:30`
}

const rows = () => page.locator('table.events tbody tr')

beforeAll(async () => {
  stripeApi = await startFakeStripeApi()
  h = await startHarness({
    handlers: { '*': handler },
    replay: { ratePerSecond: 1000 },
    adapters: [
      stripeAdapter({ secrets: [STRIPE_TEST_SECRET], api: { apiKey: 'sk_test_fake', baseUrl: stripeApi.url, maxNetworkRetries: 0 } }),
      // A second provider accepting the same events: one key, two events (the chooser).
      { ...stripeAdapter({ secrets: [STRIPE_TEST_SECRET] }), name: 'stripe_eu' },
      githubAdapter({ secrets: [GITHUB_TEST_SECRET] }),
    ],
  })
  server = await listenOnFreePort(createApp(h.hookline, { adminToken: TOKEN, adminTokens: [{ name: 'vic', role: 'viewer', token: VIEWER_TOKEN }] }))
  mkdirSync(ARTIFACTS, { recursive: true })
  profile = mkdtempSync(join(tmpdir(), 'hookline-chromium-'))
  context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    timezoneId: ZONE,
    viewport: { width: 1280, height: 800 },
  })
  await context.grantPermissions(['clipboard-read', 'clipboard-write'])
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
  await shot('overview')
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
  const replay = page.locator('section.bulk', { hasText: 'Bulk replay' }).getByRole('button', { name: /^Replay/ })
  expect(await replay.isDisabled()).toBe(true)

  await page.getByRole('button', { name: 'Count matching (dry run)' }).click()
  await expect.poll(() => page.locator('.bulk-result').textContent()).toBe('2 dead event(s) match the applied filter.')
  expect((await h.prisma.event.findMany({ where: { id: { in: [a.id, b.id] } } })).map((e) => e.status)).toEqual(['dead', 'dead'])

  broken.delete(a.key)
  broken.delete(b.key)
  await page.locator('#bulk-note').fill('handler fixed')
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

it('shows each event key with a copy button, and times in the browser zone with the exact instant as title', async () => {
  const ev = await deliver('acct_console_keys')
  await page.goto(`${server.url}/admin#/events?tenant=acct_console_keys`)
  const row = page.locator(`tr[data-id="${ev.id}"]`)
  await expect.poll(() => row.locator('td.key .key-text').textContent()).toBe(ev.key)
  await row.getByRole('button', { name: 'Copy event key' }).click()
  await expect.poll(() => clipboard()).toBe(ev.key)
  expect(await row.getByRole('button', { name: 'Copy event key' }).textContent()).toBe('Copied')

  const stored = await h.prisma.event.findUniqueOrThrow({ where: { id: ev.id } })
  const time = row.locator('time')
  expect(await time.getAttribute('title')).toBe(stored.receivedAt.toISOString())
  expect(await time.textContent()).toBe(inZone(stored.receivedAt))
  await shot('event-keys')
  expect(pageErrors).toEqual([])
})

it('opens an event by its Stripe key: highlighted JSON with a copy button, and a link to the Stripe dashboard', async () => {
  const ev = await deliver('acct_1ConsoleJson')
  await page.goto(`${server.url}/admin#/events/${ev.key}`)
  await page.getByRole('heading', { name: `Event ${ev.key} processed` }).waitFor()
  const detail = await h.hookline.events.get(ev.id)
  const pretty = JSON.stringify(detail.payload, null, 2)
  expect(await page.locator('#payload').textContent()).toBe(pretty)
  expect(await page.locator('#payload .j-key').allTextContents()).toEqual(expect.arrayContaining(['"id"', '"livemode"', '"account"']))
  expect(await page.locator('#payload .j-str').allTextContents()).toContain(`"${ev.key}"`)
  expect(await page.locator('#payload .j-bool').allTextContents()).toContain('false')
  await page.getByRole('button', { name: 'Copy JSON' }).click()
  await expect.poll(() => clipboard()).toBe(pretty)
  // A payload kept as text (too deeply nested to parse, say) is shown as that text, unhighlighted.
  // (A string, so that the test runner does not rewrite the browser's import().)
  const textView = await page.evaluate(`(async () => {
    const { jsonView } = await import('/admin/lib/json-view.js')
    const pre = jsonView('{"a": <b>not json</b>', 'text-payload').querySelector('pre')
    return { text: pre.textContent, spans: pre.querySelectorAll('span').length, elements: pre.children.length }
  })()`)
  expect(textView).toEqual({ text: '{"a": <b>not json</b>', spans: 0, elements: 0 })

  // livemode false and a Connect account: the test-mode page of the account's event.
  const link = page.getByRole('link', { name: 'Open in Stripe' })
  expect(await link.getAttribute('href')).toBe(`https://dashboard.stripe.com/test/connect/accounts/acct_1ConsoleJson/events/${ev.key}`)
  expect(await link.getAttribute('rel')).toBe('noopener noreferrer')
  expect(await page.locator('#details').textContent()).toContain(`Attempts (this run)1 of ${detail.maxAttempts}`)
  await shot('event-json')
  expect(await cspViolations()).toBeUndefined()
})

it('offers a chooser for a key two providers have, and opens the one picked by ?provider=', async () => {
  const event = stripeEvent({ account: 'acct_console_twice' })
  const { body, headers } = signedStripeDelivery(event)
  const first = (await h.post('stripe', body, headers)).body.id as string
  const second = (await h.post('stripe_eu', body, headers)).body.id as string
  await h.waitForStatus(first, 'processed')
  await h.waitForStatus(second, 'processed')
  await page.goto(`${server.url}/admin#/events/${event.id}`)
  await page.getByRole('heading', { name: `Which event ${event.id}?` }).waitFor()
  expect((await page.locator('#chooser a').allTextContents()).sort()).toEqual(['stripe', 'stripe_eu'])
  await shot('event-chooser')
  await page.getByRole('link', { name: 'stripe_eu', exact: true }).click()
  await page.getByRole('heading', { name: `Event ${event.id} processed` }).waitFor()
  expect(page.url()).toContain(`#/events/${event.id}?provider=stripe_eu`)
  expect(await page.locator('#details').textContent()).toContain(`Inbox id${second}`)
})

it("links a GitHub event to the deliveries of its repository's hook, or to the apps of an App's", async () => {
  const { body, headers } = await signedGithubDelivery(githubIssueOpened({ repository: 'octo-org/console-demo' }), { event: 'issues' })
  const id = (await h.post('github', body, headers)).body.id as string
  await h.waitForStatus(id, 'processed')
  await page.goto(`${server.url}/admin#/events/${id}`)
  const link = page.getByRole('link', { name: 'Deliveries on GitHub' })
  expect(await link.getAttribute('href')).toBe(`https://github.com/octo-org/console-demo/settings/hooks/${GITHUB_TEST_HOOK_ID}?tab=deliveries`)
  await shot('event-github')

  // A GitHub App's hook: its deliveries are on the app's Advanced page, reached from the apps list.
  const app = await signedGithubDelivery(githubIssueOpened({ repository: 'octo-org/console-demo' }), { event: 'issues', target: { type: 'integration', id: GITHUB_TEST_APP_ID } })
  const appId = (await h.post('github', app.body, app.headers)).body.id as string
  await h.waitForStatus(appId, 'processed')
  await page.goto(`${server.url}/admin#/events/${appId}`)
  expect(await page.getByRole('link', { name: 'GitHub App deliveries (app → Advanced)' }).getAttribute('href')).toBe('https://github.com/settings/apps')
})

it('refreshes lists and the overview every 5 s, keeping the selection and the scroll; the toggle pauses it', async () => {
  const tenant = 'acct_console_live'
  const first = await deliver(tenant)
  // A short window, so that the page scrolls.
  await page.setViewportSize({ width: 1000, height: 360 })
  await page.goto(`${server.url}/admin#/events?tenant=${tenant}`)
  await expect.poll(() => rows().count()).toBe(1)
  await page.getByLabel(`Select ${first.key}`).check()
  const scrolled = await page.evaluate(() => {
    const root = (globalThis as unknown as { document: { scrollingElement: { scrollTop: number; scrollHeight: number } } }).document.scrollingElement
    root.scrollTop = root.scrollHeight
    return root.scrollTop
  })
  expect(scrolled).toBeGreaterThan(0)

  await deliver(tenant)
  await expect.poll(() => rows().count(), { timeout: 15_000 }).toBe(2)
  expect(await page.getByLabel(`Select ${first.key}`).isChecked()).toBe(true)
  expect(await page.locator('#selected-count').textContent()).toBe('1 selected')
  expect(await page.evaluate(() => (globalThis as unknown as { scrollY: number }).scrollY)).toBeGreaterThanOrEqual(scrolled)

  const toggle = page.locator('#refresh-toggle')
  await toggle.click()
  expect(await toggle.textContent()).toBe('Auto-refresh paused')
  const refreshes = await toggle.getAttribute('data-refreshes')
  await deliver(tenant)
  // Longer than one refresh period: nothing re-reads while paused.
  await page.waitForTimeout(7_000)
  expect(await rows().count()).toBe(2)
  expect(await toggle.getAttribute('data-refreshes')).toBe(refreshes)
  await toggle.click()
  expect(await toggle.textContent()).toBe('Auto-refresh on')
  await expect.poll(() => rows().count(), { timeout: 15_000 }).toBe(3)

  await page.setViewportSize({ width: 1280, height: 800 })
  await page.goto(`${server.url}/admin#/`)
  await page.getByRole('heading', { name: 'Overview' }).waitFor()
  const depth = Number(await page.locator('#dlq-depth').textContent())
  const dead = await deliver('acct_console_live_dead', { fail: true })
  await expect.poll(() => page.locator('#dlq-depth').textContent(), { timeout: 15_000 }).toBe(String(depth + 1))
  broken.delete(dead.key)
  expect(pageErrors).toEqual([])
})

it('replays and ignores the selected rows after a confirmation, and sums up what was done', async () => {
  const tenant = 'acct_console_pick'
  const [a, b, c] = [await deliver(tenant, { fail: true }), await deliver(tenant, { fail: true }), await deliver(tenant, { fail: true })]
  await page.goto(`${server.url}/admin#/dlq?tenant=${tenant}`)
  await expect.poll(() => rows().count()).toBe(3)
  broken.delete(a.key)
  broken.delete(b.key)
  await page.getByLabel(`Select ${a.key}`).check()
  await page.getByLabel(`Select ${b.key}`).check()
  expect(await page.locator('#selected-count').textContent()).toBe('2 selected')
  await page.getByRole('button', { name: 'Replay selected' }).click()
  await shot('selection-confirm')
  await page.getByRole('button', { name: 'Yes, replay 2' }).click()
  await expect.poll(() => page.locator('#selection-result').textContent()).toBe('Replayed 2 of 2 event(s).')
  await h.waitForStatus(a.id, 'processed')
  await h.waitForStatus(b.id, 'processed')

  await page.goto(`${server.url}/admin#/events?tenant=${tenant}&status=dead`)
  await expect.poll(() => rows().count()).toBe(1)
  await page.getByLabel(`Select ${c.key}`).check()
  await page.getByRole('button', { name: 'Ignore selected' }).click()
  await expect.poll(() => page.locator('#selection-result').textContent()).toContain('Ignoring needs a note')
  await page.locator('#selection-note').fill('test account')
  await page.getByRole('button', { name: 'Ignore selected' }).click()
  await page.getByRole('button', { name: 'Yes, ignore 1' }).click()
  await expect.poll(() => page.locator('#selection-result').textContent()).toBe('Ignored 1 of 1 event(s).')
  expect(await h.prisma.event.findUniqueOrThrow({ where: { id: c.id } })).toMatchObject({ status: 'ignored', note: 'test account' })
  await shot('selection-result')
  expect(pageErrors).toEqual([])
})

it("shows a viewer's token no action it may not take", async () => {
  const tab = await signedInTab(server.url, VIEWER_TOKEN)
  const dead = await deliver('acct_console_viewer', { fail: true })
  await tab.goto(`${server.url}/admin#/dlq?tenant=acct_console_viewer`)
  await expect.poll(() => tab.locator('table.events tbody tr').count()).toBe(1)
  expect(await tab.locator('table.events input[type=checkbox]').count()).toBe(0)
  expect(await tab.locator('#selection-actions').count()).toBe(0)
  expect(await tab.getByRole('button', { name: 'Count matching (dry run)' }).count()).toBe(0)
  await tab.goto(`${server.url}/admin#/events/${dead.id}`)
  await tab.locator('#details').waitFor()
  expect(await tab.locator('section.actions').count()).toBe(0)
  await tab.goto(`${server.url}/admin#/reconcile`)
  await tab.getByRole('heading', { name: 'Reconciliation' }).waitFor()
  expect(await tab.getByRole('button', { name: 'Reconcile now' }).count()).toBe(0)
  await tab.goto(`${server.url}/admin#/holds`)
  await tab.getByRole('heading', { name: 'Holds' }).waitFor()
  expect(await tab.getByRole('button', { name: 'Pause', exact: true }).count()).toBe(0)
  await shot('viewer-holds', tab)
  broken.delete(dead.key)
  await tab.close()
})

it('labels the chart axes with distinct times that do not overlap, at full width and at 400 px', async () => {
  for (const width of [1280, 400]) {
    await page.setViewportSize({ width, height: 800 })
    await page.goto(`${server.url}/admin#/`)
    await page.locator('figure.provider-chart').first().waitFor()
    for (const figure of await page.locator('figure.provider-chart').all()) {
      // Labels hidden at this width (display: none) are not shown, so not counted.
      for (const axis of ['.x-ticks li:visible', '.y-ticks li:visible']) {
        const texts = await figure.locator(axis).allTextContents()
        expect(texts.length).toBeGreaterThan(1)
        expect(new Set(texts).size).toBe(texts.length)
      }
      const boxes = await figure.locator('.x-ticks li:visible').evaluateAll((labels) =>
        labels.map((l) => {
          const r = l.getBoundingClientRect()
          const style = (globalThis as unknown as { getComputedStyle(e: unknown): { fontSize: string } }).getComputedStyle(l)
          return { left: r.left, right: r.right, fontPx: Number.parseFloat(style.fontSize) }
        }),
      )
      const frame = await figure.boundingBox()
      for (const [i, box] of boxes.entries()) {
        expect(box.fontPx).toBeGreaterThanOrEqual(11)
        expect(box.left).toBeGreaterThanOrEqual(frame!.x)
        expect(box.right).toBeLessThanOrEqual(frame!.x + frame!.width)
        if (i > 0) expect(box.left).toBeGreaterThan(boxes[i - 1]!.right)
      }
    }
    await shot(`chart-${width}`)
  }
  await page.setViewportSize({ width: 1280, height: 800 })
})

it('fits every page in the window, 400 px wide as well as 1280', async () => {
  const dead = await deliver('acct_console_narrow', { fail: true, object: { description: 'x'.repeat(300) } })
  const [issue] = await h.prisma.issue.findMany({ take: 1 })
  const pages: [string, string, string | RegExp][] = [
    ['overview', '#/', 'Overview'],
    ['events', '#/events', 'Events'],
    ['event', `#/events/${dead.id}`, /^Event /],
    ['dlq', '#/dlq', /^Dead letters/],
    ['issues', '#/issues', 'Issues'],
    ['issue', `#/issues/${issue!.fingerprint}`, /^Issue /],
    ['reconcile', '#/reconcile', 'Reconciliation'],
    ['holds', '#/holds', 'Holds'],
  ]
  for (const width of [1280, 400]) {
    await page.setViewportSize({ width, height: 800 })
    for (const [name, route, heading] of pages) {
      await page.goto(`${server.url}/admin${route}`)
      await page.getByRole('heading', { name: heading, level: 1 }).waitFor()
      const scrollWidth = await page.evaluate(() => (globalThis as unknown as { document: { scrollingElement: { scrollWidth: number } } }).document.scrollingElement.scrollWidth)
      expect({ name, scrollWidth }).toEqual({ name, scrollWidth: width })
      if (width === 400) await shot(`narrow-${name}`)
    }
  }
  broken.delete(dead.key)
  await page.setViewportSize({ width: 1280, height: 800 })
  expect(pageErrors).toEqual([])
  expect(await cspViolations()).toBeUndefined()
})

describe('a service without reconciliation, with one-second payload retention and hour-long retries', () => {
  const flaky = new Set<string>()
  let h2: Harness
  let server2: { url: string; close(): Promise<void> }
  let tab: Page

  beforeAll(async () => {
    h2 = await startHarness({
      handlers: {
        '*': async (event) => {
          if (flaky.has(event.eventKey)) throw new Error('crm timed out')
        },
      },
      retry: { backoffMs: 3_600_000, maxAttempts: 3 },
      retention: { payloadsMs: 1000, intervalMs: 3_600_000 },
    })
    server2 = await listenOnFreePort(createApp(h2.hookline, { adminToken: TOKEN }))
    tab = await signedInTab(server2.url, TOKEN)
  })
  afterAll(async () => {
    await tab?.close()
    await server2?.close()
    await h2?.close()
  })

  it('hides Reconcile now and says why', async () => {
    await tab.goto(`${server2.url}/admin#/reconcile`)
    await tab.getByRole('heading', { name: 'Reconciliation' }).waitFor()
    expect(await tab.getByRole('button', { name: 'Reconcile now' }).count()).toBe(0)
    expect(await tab.locator('main').textContent()).toContain('No provider has reconciliation configured')
    await shot('reconcile-unconfigured', tab)
  })

  it('shows why a failed event waits, its attempts out of how many, and the stack trace folded', async () => {
    const event = stripeEvent({ account: 'acct_console_wait' })
    flaky.add(event.id as string)
    const { body, headers } = signedStripeDelivery(event)
    const id = (await h2.post('stripe', body, headers)).body.id as string
    await h2.waitForStatus(id, 'failed')
    const detail = await h2.hookline.events.get(id)
    await tab.goto(`${server2.url}/admin#/events/${id}`)
    const details = tab.locator('#details')
    await expect.poll(() => details.textContent()).toContain(`Waitingretry at ${inZone(detail.nextAttemptAt!)} (attempt 2 of 3)`)
    expect(await details.textContent()).toContain('Attempts (this run)1 of 3')
    expect(await details.locator('time').evaluateAll((times) => times.map((t) => t.getAttribute('title')))).toContain(detail.nextAttemptAt!.toISOString())
    const stack = tab.locator('#timeline details.stack')
    expect(await stack.evaluate((d) => (d as unknown as { open: boolean }).open)).toBe(false)
    expect(await stack.locator('pre').isVisible()).toBe(false)
    await stack.locator('summary').click()
    expect(await stack.locator('pre').isVisible()).toBe(true)
    expect(await stack.locator('pre').textContent()).toMatch(/^Error: crm timed out\n\s+at /)
    await shot('event-waiting', tab)
  })

  it('says the payload was removed by retention, and offers no replay', async () => {
    const id = await h2.sendStripeEvent({ account: 'acct_console_pruned' })
    await h2.waitForStatus(id, 'processed')
    // Retention keeps payloads for one second: a pass soon removes this one.
    await waitFor(async () => {
      await h2.hookline.prune()
      return (await h2.prisma.event.findUniqueOrThrow({ where: { id } })).payloadPrunedAt !== null
    }, { what: 'the payload pruned' })
    await tab.goto(`${server2.url}/admin#/events/${id}`)
    // Only the hash changes: wait for this event's page to replace the last one.
    await expect.poll(() => tab.locator('#details').textContent()).toContain(`Inbox id${id}`)
    expect(await tab.locator('main').textContent()).toContain('Payload removed by retention')
    expect(await tab.locator('#details').textContent()).toContain('Payloadremoved by retention')
    expect(await tab.locator('#payload').count()).toBe(0)
    expect(await tab.getByRole('button', { name: /replay/i }).count()).toBe(0)
    await shot('event-pruned', tab)
    expect(pageErrors).toEqual([])
    expect(await cspViolations(tab)).toBeUndefined()
  })
})

/**
 * @module GitHub reconciliation alone (no database), through the official client against the
 * testkit's fake deliveries API: the same event as the webhook path, hook tenants, the window,
 * cursor paging and resume, redelivery, App JWT auth, rate limits and configuration errors.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto'
import { ConfigError, type ParsedEvent, type ReconcileContext, type ReconcilePage, RetryAfterError } from '@hookline/core'
import {
  type FakeGithubApi,
  GITHUB_TEST_SECRET,
  githubCheckRunCompleted,
  githubIssueOpened,
  githubPush,
  signedGithubDelivery,
  startFakeGithubApi,
} from '@hookline/testkit'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type GithubAdapterOptions, githubAdapter } from './github-adapter.ts'
import type { GithubApiOptions } from './github-reconcile.ts'

const TOKEN = 'ghp_reconcile_test_token'
const APP_ID = 918_273
const APP_HOOK_ID = 5_500_001
const REPO_HOOK = 'repos/octo-org/hello-world/hooks/101'
const ORG_HOOK = 'orgs/octo-org/hooks/202'
const { privateKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  // PKCS#1 ("BEGIN RSA PRIVATE KEY"), the format GitHub hands out App keys in.
  privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
})
const HOUR = 3_600_000
const now = Date.now()

let api: FakeGithubApi

beforeAll(async () => {
  api = await startFakeGithubApi({ token: TOKEN, app: { id: APP_ID, key: privateKey, hookId: APP_HOOK_ID } })
})
afterAll(async () => api?.close())

function adapter(options: Partial<GithubApiOptions> = {}, adapterOptions: Partial<GithubAdapterOptions> = {}) {
  return githubAdapter({
    secrets: [GITHUB_TEST_SECRET],
    api: { token: TOKEN, baseUrl: api.url, hooks: [REPO_HOOK, ORG_HOOK, 'app'], appId: APP_ID, privateKey, maxRetries: 0, ...options },
    ...adapterOptions,
  })
}

/** A context over the last `hours`, with the inbox holding `known`. */
function context(tenant: string | null, options: { hours?: number; known?: Set<string>; resumeFrom?: string | null; until?: Date } = {}) {
  const warnings: string[] = []
  const ctx: ReconcileContext = {
    tenant,
    since: new Date(now - (options.hours ?? 24) * HOUR),
    until: options.until ?? new Date(now + 60_000),
    resumeFrom: options.resumeFrom ?? null,
    knownKeys: async (keys) => new Set(keys.filter((k) => options.known?.has(k))),
    warn: (message) => void warnings.push(message),
    signal: new AbortController().signal,
  }
  return { ctx, warnings }
}

async function collect(pages: AsyncIterable<ReconcilePage>): Promise<ReconcilePage[]> {
  const all: ReconcilePage[] = []
  for await (const page of pages) all.push(page)
  return all
}

const events = (pages: ReconcilePage[]): ParsedEvent[] => pages.flatMap((p) => p.events)
const requestsSince = (n: number) => api.requests.slice(n)

describe('a delivery the inbox lacks', () => {
  it('is fetched and becomes the same event the webhook would have stored, with its headers', async () => {
    const guid = randomUUID()
    const payload = githubIssueOpened({ number: 31, installationId: 77, at: new Date(now - HOUR) })
    api.addDelivery({ hook: REPO_HOOK, event: 'issues', payload, deliveredAt: new Date(now - HOUR), guid, statusCode: 0 })
    const [found] = events(await collect(adapter().reconcile!(context(REPO_HOOK).ctx))).filter((e) => e.eventKey.endsWith(guid))

    const github = adapter()
    const signed = await signedGithubDelivery(payload, { event: 'issues', hookId: 101, deliveryId: guid })
    const req = { body: Buffer.from(signed.body), headers: signed.headers, receivedAt: new Date() }
    const webhook = github.parse(await github.verify(req), req) as ParsedEvent
    expect(found).toMatchObject({ eventKey: `101:${guid}`, type: 'issues.opened', tenant: '77', entityKey: 'issue:octo-org/hello-world#31' })
    // The same event; only the webhook's payload is its request body (stored as the body's text).
    const { headers: _headers, ...reconciled } = found!
    const { payloadIsBody, ...delivered } = webhook
    expect(payloadIsBody).toBe(true)
    expect(reconciled).toEqual(delivered)
    expect(found!.headers).toMatchObject({ 'x-github-delivery': guid, 'x-github-event': 'issues', 'x-github-hook-id': '101', 'content-type': 'application/json' })
  })

  it('listed several times (redeliveries) is fetched once, from its newest delivery', async () => {
    const guid = randomUUID()
    const payload = githubPush({ ref: 'refs/heads/redelivered', at: new Date(now - 2 * HOUR) })
    api.addDelivery({ hook: ORG_HOOK, event: 'push', payload, deliveredAt: new Date(now - 2 * HOUR), guid, statusCode: 502 })
    const newest = api.addDelivery({ hook: ORG_HOOK, event: 'push', payload, deliveredAt: new Date(now - HOUR), guid, statusCode: 0, redelivery: true })
    const before = api.requests.length
    const found = events(await collect(adapter().reconcile!(context(ORG_HOOK).ctx))).filter((e) => e.eventKey === `202:${guid}`)
    expect(found).toHaveLength(1)
    expect(found[0]!.entityKey).toBe('ref:octo-org/hello-world:refs/heads/redelivered')
    expect(requestsSince(before).filter((r) => /\/deliveries\/\d+$/.test(r.path)).map((r) => r.path)).toEqual([`/orgs/octo-org/hooks/202/deliveries/${newest.id}`])
  })

  it('whose payload cannot be read is skipped with a warning in the run record, not a failed run', async () => {
    const broken = api.addDelivery({ hook: REPO_HOOK, event: 'issues', payload: githubIssueOpened(), deliveredAt: new Date(now - 3 * HOUR) })
    broken.request.payload = null
    const { ctx, warnings } = context(REPO_HOOK)
    const found = events(await collect(adapter().reconcile!(ctx)))
    expect(found.some((e) => e.eventKey.endsWith(broken.guid))).toBe(false)
    expect(warnings).toEqual([expect.stringMatching(new RegExp(`delivery ${broken.id} \\(${broken.guid}\\) cannot be ingested: not a GitHub webhook payload`))])
    api.deliveries.splice(api.deliveries.indexOf(broken), 1)
  })
})

describe('tenants', () => {
  it('are the configured hooks, as spelled (slashes trimmed); each run lists only its own hook', async () => {
    const github = adapter({ hooks: [`/${REPO_HOOK}/`, ORG_HOOK] })
    expect(github.reconcileTenants).toEqual([REPO_HOOK, ORG_HOOK])
    const before = api.requests.length
    await collect(github.reconcile!(context(ORG_HOOK).ctx))
    expect(new Set(requestsSince(before).map((r) => r.path.split('/deliveries')[0]))).toEqual(new Set(['/orgs/octo-org/hooks/202']))
  })

  it('a run without a tenant, or for a hook not configured, fails and names the configured hooks', async () => {
    await expect(collect(adapter().reconcile!(context(null).ctx))).rejects.toThrow(/needs a tenant: one of repos\/octo-org\/hello-world\/hooks\/101, orgs\/octo-org\/hooks\/202, app/)
    await expect(collect(adapter().reconcile!(context('repos/octo-org/other/hooks/9').ctx))).rejects.toThrow(ConfigError)
  })

  it('refuses malformed hooks, and hooks without the credentials they need, at construction', () => {
    expect(() => adapter({ hooks: ['repos/octo-org/hooks/1'] })).toThrow(/none of repos\/OWNER\/REPO\/hooks\/ID, orgs\/ORG\/hooks\/ID, app/)
    expect(() => adapter({ hooks: [REPO_HOOK], token: undefined })).toThrow(/needs a token/)
    expect(() => adapter({ hooks: ['app'], privateKey: undefined })).toThrow(/App id and private key/)
    expect(() => adapter({ hooks: [] })).toThrow(ConfigError)
  })
})

describe('the window and paging', () => {
  const HOOK = 'repos/octo-org/paged/hooks/303'
  const guids: string[] = []

  beforeAll(() => {
    // 250 deliveries, one a minute, the newest 10 minutes old; then one 30 hours old.
    for (let i = 0; i < 250; i++) {
      const guid = randomUUID()
      guids.push(guid)
      api.addDelivery({ hook: HOOK, event: 'issues', payload: githubIssueOpened({ repository: 'octo-org/paged', number: i }), deliveredAt: new Date(now - (260 - i) * 60_000), guid })
    }
    api.addDelivery({ hook: HOOK, event: 'issues', payload: githubIssueOpened({ repository: 'octo-org/paged' }), deliveredAt: new Date(now - 30 * HOUR) })
  })

  it('pages by GitHub\'s cursor, 100 at a time, and stops at the first delivery older than the window', async () => {
    const github = adapter({ hooks: [HOOK] })
    const before = api.requests.length
    const pages = await collect(github.reconcile!(context(HOOK, { hours: 24 }).ctx))
    expect(pages.map((p) => p.events.length)).toEqual([100, 100, 50])
    expect(pages.map((p) => p.cursor)).toEqual([expect.stringMatching(/^v1_\d+$/), expect.stringMatching(/^v1_\d+$/), null])
    const lists = requestsSince(before).filter((r) => r.path.endsWith('/deliveries'))
    expect(lists.map((r) => r.query)).toEqual([{ per_page: '100' }, { per_page: '100', cursor: pages[0]!.cursor }, { per_page: '100', cursor: pages[1]!.cursor }])
    expect(lists.every((r) => r.authorization === `token ${TOKEN}`)).toBe(true)
  })

  it('a resumed run continues after the last finished page', async () => {
    const github = adapter({ hooks: [HOOK] })
    const [first] = await collect(github.reconcile!(context(HOOK).ctx))
    const rest = await collect(github.reconcile!(context(HOOK, { resumeFrom: first!.cursor }).ctx))
    expect(events([first!, ...rest]).map((e) => e.eventKey.split(':')[1])).toEqual([...guids].reverse())
  })

  it('counts GUIDs the inbox holds as known, without fetching them', async () => {
    const known = new Set(guids.slice(0, 240).map((g) => `303:${g}`))
    const before = api.requests.length
    const pages = await collect(adapter({ hooks: [HOOK] }).reconcile!(context(HOOK, { known }).ctx))
    expect(pages.map((p) => p.skippedKnown)).toEqual([90, 100, 50])
    expect(events(pages)).toHaveLength(10)
    expect(requestsSince(before).filter((r) => /\/deliveries\/\d+$/.test(r.path))).toHaveLength(10)
  })

  it('leaves out deliveries made after the run\'s end', async () => {
    const pages = await collect(adapter({ hooks: [HOOK] }).reconcile!(context(HOOK, { until: new Date(now - 60.5 * 60_000) }).ctx))
    expect(events(pages)).toHaveLength(200)
  })

  it('warns when the window reaches past GitHub\'s 3-day retention', async () => {
    const { ctx, warnings } = context(HOOK, { hours: 80 })
    await collect(adapter({ hooks: [HOOK] }).reconcile!(ctx))
    expect(warnings).toEqual([expect.stringMatching(/3-day delivery retention/)])
  })
})

describe('redeliver mode', () => {
  it('asks GitHub to redeliver each missing GUID once and returns no event', async () => {
    const HOOK = 'orgs/redeliver-org/hooks/404'
    const guids = [randomUUID(), randomUUID(), randomUUID()]
    for (const [i, guid] of guids.entries()) {
      api.addDelivery({ hook: HOOK, event: 'push', payload: githubPush(), deliveredAt: new Date(now - (i + 2) * HOUR), guid, statusCode: 502 })
    }
    const latest = api.addDelivery({ hook: HOOK, event: 'push', payload: githubPush(), deliveredAt: new Date(now - HOUR), guid: guids[0]!, statusCode: 0, redelivery: true })
    const pages = await collect(adapter({ hooks: [HOOK], mode: 'redeliver' }).reconcile!(context(HOOK, { known: new Set([`404:${guids[2]}`]) }).ctx))
    expect(pages).toEqual([{ events: [], skippedKnown: 1, recoveredOutOfBand: 2, cursor: null }])
    expect(api.redeliveries.filter((r) => r.hook === HOOK)).toEqual([
      { hook: HOOK, deliveryId: latest.id, guid: guids[0] },
      { hook: HOOK, deliveryId: api.deliveries.find((d) => d.guid === guids[1])!.id, guid: guids[1] },
    ])
  })
})

describe('the App hook', () => {
  it('is read with an App JWT; the hook id for event keys comes from the deliveries\' headers', async () => {
    const guid = randomUUID()
    const payload = githubCheckRunCompleted({ installationId: 51, checkRunId: 9_001, at: new Date(now - HOUR) })
    api.addDelivery({ hook: 'app', event: 'check_run', payload, deliveredAt: new Date(now - HOUR), guid, statusCode: 500 })
    const before = api.requests.length
    const found = events(await collect(adapter().reconcile!(context('app').ctx)))
    expect(found).toEqual([expect.objectContaining({ eventKey: `${APP_HOOK_ID}:${guid}`, type: 'check_run.completed', tenant: '51', entityKey: 'check_run:9001' })])
    const used = requestsSince(before)
    expect(used.map((r) => r.path)).toEqual(['/app/hook/deliveries', expect.stringMatching(/^\/app\/hook\/deliveries\/\d+$/), expect.stringMatching(/^\/app\/hook\/deliveries\/\d+$/)])
    expect(used.every((r) => /^bearer eyJ/.test(r.authorization ?? ''))).toBe(true)
  })

  it('signed with another key is refused by GitHub, and the run fails', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } })
    await expect(collect(adapter({ privateKey: other.privateKey }).reconcile!(context('app').ctx))).rejects.toMatchObject({ status: 401 })
  })
})

describe('rate limits become waits for the engine', () => {
  async function firstError(): Promise<unknown> {
    return collect(adapter({ hooks: [REPO_HOOK] }).reconcile!(context(REPO_HOOK).ctx)).then(() => undefined, (err: unknown) => err)
  }

  it('429 or 403 with retry-after: that many seconds', async () => {
    api.rateLimitNext(1, { status: 429, retryAfterSeconds: 7 })
    expect(await firstError()).toMatchObject({ name: 'RetryAfterError', retryAfterMs: 7_000 })
    api.rateLimitNext(1, { status: 403, retryAfterSeconds: 3 })
    const err = await firstError()
    expect(err).toBeInstanceOf(RetryAfterError)
    expect(err).toMatchObject({ retryAfterMs: 3_000, message: expect.stringMatching(/^GitHub rate limit: You have exceeded a secondary rate limit/) })
  })

  it('an exhausted quota: until x-ratelimit-reset', async () => {
    api.rateLimitNext(1, { status: 403, resetInSeconds: 30 })
    const { retryAfterMs } = (await firstError()) as RetryAfterError
    expect(retryAfterMs).toBeGreaterThan(28_000)
    expect(retryAfterMs).toBeLessThanOrEqual(31_000)
  })

  it('a secondary limit without either header: a minute', async () => {
    api.rateLimitNext(1, { status: 403 })
    expect(await firstError()).toMatchObject({ retryAfterMs: 60_000 })
  })

  it('with maxRetries, the client retries a 5xx itself but leaves rate limits to the engine', async () => {
    const retrying = adapter({ hooks: [REPO_HOOK], maxRetries: 1 })
    api.failNext(1)
    await expect(collect(retrying.reconcile!(context(REPO_HOOK).ctx))).resolves.toBeDefined()
    const before = api.requests.length
    api.rateLimitNext(1, { retryAfterSeconds: 2 })
    await expect(collect(retrying.reconcile!(context(REPO_HOOK).ctx))).rejects.toMatchObject({ name: 'RetryAfterError', retryAfterMs: 2_000 })
    expect(api.requests.length - before).toBe(1)
  })

  it('other errors stay what they are', async () => {
    const refused = collect(adapter({ hooks: [REPO_HOOK], token: 'ghp_revoked' }).reconcile!(context(REPO_HOOK).ctx))
    await expect(refused).rejects.toMatchObject({ name: 'HttpError', status: 401, message: expect.stringMatching(/Bad credentials/) })
    api.failNext(1)
    expect(await firstError()).toMatchObject({ name: 'HttpError', status: 500 })
  })
})

/**
 * @module GitHub deliveries through the HTTP ingress, against real Postgres and Redis: a signed
 * delivery is stored and processed once, a redelivery is a duplicate, two hooks are two events,
 * `ping` is recorded without a handler, and forged or form-encoded deliveries store nothing.
 */
import { randomUUID } from 'node:crypto'
import { githubAdapter } from '@hookline/github'
import { GITHUB_TEST_SECRET, type GithubDeliveryOptions, githubIssueOpened, githubPing, githubPush, signedGithubDelivery } from '@hookline/testkit'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, startHarness } from './support/harness.ts'

const ROTATED_SECRET = 'github-rotated-secret-9876543210'
const HOOK = 40_001
let h: Harness

beforeAll(async () => {
  h = await startHarness({ adapters: [githubAdapter({ secrets: [ROTATED_SECRET, GITHUB_TEST_SECRET] })] })
})
afterAll(async () => h?.close())

async function deliver(payload: unknown, options: Partial<GithubDeliveryOptions> & { event: string }) {
  const { body, headers } = await signedGithubDelivery(payload, { hookId: HOOK, ...options })
  return h.post('github', body, headers)
}

async function rowsFor(deliveryId: string): Promise<number> {
  const rows = await h.prisma.$queryRawUnsafe<{ n: number }[]>(
    `SELECT count(*)::int AS n FROM hookline.hookline_events WHERE provider = 'github' AND split_part(event_key, ':', 2) = $1`,
    deliveryId,
  )
  return rows[0]!.n
}

async function effectsOf(id: string): Promise<number> {
  const rows = await h.prisma.$queryRawUnsafe<{ n: number }[]>(`SELECT count(*)::int AS n FROM effects WHERE event_id = $1::uuid`, id)
  return rows[0]!.n
}

/** Lets a wrongly enqueued extra run show up before effects are counted. */
const settle = () => new Promise((r) => setTimeout(r, 300))

describe('a signed GitHub delivery', () => {
  const deliveryId = randomUUID()
  const issue = githubIssueOpened({ number: 11, installationId: 5_150, at: new Date('2026-11-23T12:00:00Z') })

  it('is acknowledged once durable, stored with its identity and processed once', async () => {
    const { body, headers } = await signedGithubDelivery(issue, { event: 'issues', hookId: HOOK, deliveryId })
    const res = await h.post('github', body, headers)
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ id: expect.any(String), duplicate: false })
    const row = await h.waitForStatus(res.body.id, 'processed')
    expect(row.attempts).toBe(1)
    expect(await effectsOf(res.body.id)).toBe(1)
    const stored = await h.prisma.event.findUniqueOrThrow({ where: { id: res.body.id } })
    expect(stored).toMatchObject({
      provider: 'github',
      eventKey: `${HOOK}:${deliveryId}`,
      type: 'issues.opened',
      tenant: '5150',
      entityKey: 'issue:octo-org/hello-world#11',
      source: 'webhook',
      deliveries: 1,
    })
    expect(stored.occurredAt?.toISOString()).toBe('2026-11-23T12:00:00.000Z')
    expect(Buffer.from(stored.rawBody!).toString()).toBe(body)
    expect(stored.headers).toMatchObject({ 'x-github-delivery': deliveryId, 'x-github-event': 'issues' })
  })

  it('redelivered (same GUID, same hook, re-signed after a secret rotation) is a duplicate: one row, handler once', async () => {
    const [first] = await h.prisma.event.findMany({ where: { provider: 'github', eventKey: `${HOOK}:${deliveryId}` } })
    const res = await deliver(issue, { event: 'issues', deliveryId, secret: ROTATED_SECRET })
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ id: first!.id, duplicate: true })
    expect(await rowsFor(deliveryId)).toBe(1)
    await settle()
    expect(await effectsOf(first!.id)).toBe(1)
    expect((await h.prisma.event.findUniqueOrThrow({ where: { id: first!.id } })).deliveries).toBe(2)
  })

  it('received by two hooks (same GUID, different X-GitHub-Hook-ID) is two events, each processed once', async () => {
    const shared = randomUUID()
    const push = githubPush({ ref: 'refs/heads/two-hooks' })
    const repoHook = await deliver(push, { event: 'push', deliveryId: shared, hookId: 40_002 })
    const orgHook = await deliver(push, { event: 'push', deliveryId: shared, hookId: 40_003 })
    expect([repoHook.status, orgHook.status]).toEqual([200, 200])
    expect(repoHook.body.id).not.toBe(orgHook.body.id)
    expect(await rowsFor(shared)).toBe(2)
    for (const id of [repoHook.body.id, orgHook.body.id]) {
      await h.waitForStatus(id, 'processed')
      expect(await effectsOf(id)).toBe(1)
    }
  })

  it('up to the 25 MiB default limit is accepted (GitHub payloads outgrow 1 MiB)', async () => {
    const big = { ...githubPush(), commits: Array.from({ length: 2_000 }, (_, i) => ({ id: String(i), message: 'x'.repeat(1_000) })) }
    const res = await deliver(big, { event: 'push' })
    expect(res.status).toBe(200)
  })
})

describe('ordering by entity and source time', () => {
  it('an older push to the same ref, arriving after a newer one, is stale and runs no handler', async () => {
    const ref = `refs/heads/ordered-${randomUUID()}`
    const newer = await deliver(githubPush({ ref, at: new Date('2026-11-23T12:00:10Z') }), { event: 'push' })
    await h.waitForStatus(newer.body.id, 'processed')
    const older = await deliver(githubPush({ ref, at: new Date('2026-11-23T12:00:00Z') }), { event: 'push' })
    const row = await h.waitForStatus(older.body.id, 'skipped_stale')
    expect(row.stale).toBe(true)
    expect(await effectsOf(older.body.id)).toBe(0)
    expect(await effectsOf(newer.body.id)).toBe(1)
  })
})

describe('ping', () => {
  it('is acknowledged and stored as processed without running a handler', async () => {
    const deliveryId = randomUUID()
    const res = await deliver(githubPing({ hookId: HOOK }), { event: 'ping', deliveryId })
    expect(res.status).toBe(200)
    expect(res.body.duplicate).toBe(false)
    const stored = await h.prisma.event.findUniqueOrThrow({ where: { id: res.body.id } })
    expect(stored).toMatchObject({ status: 'processed', type: 'ping', attempts: 0, entityKey: `hook:${HOOK}` })
    await settle()
    expect(await effectsOf(res.body.id)).toBe(0)
    expect((await h.prisma.event.findUniqueOrThrow({ where: { id: res.body.id } })).attempts).toBe(0)
  })
})

describe('refused deliveries store nothing', () => {
  it('signed with a secret we do not hold → 401', async () => {
    const deliveryId = randomUUID()
    const res = await deliver(githubIssueOpened(), { event: 'issues', deliveryId, secret: 'forged-by-someone' })
    expect(res.status).toBe(401)
    expect(res.body.error.code).toBe('hookline.signature_invalid')
    expect(await rowsFor(deliveryId)).toBe(0)
  })

  it('with a body altered after signing → 401', async () => {
    const deliveryId = randomUUID()
    const { body, headers } = await signedGithubDelivery(githubIssueOpened({ number: 77 }), { event: 'issues', hookId: HOOK, deliveryId })
    const res = await h.post('github', body.replace('"number":77', '"number":78'), headers)
    expect(res.status).toBe(401)
    expect(await rowsFor(deliveryId)).toBe(0)
  })

  it('from a hook set to form encoding, correctly signed → 415 that says to switch to JSON', async () => {
    const deliveryId = randomUUID()
    const res = await deliver(githubIssueOpened(), { event: 'issues', deliveryId, contentType: 'form' })
    expect(res.status).toBe(415)
    expect(res.body.error.code).toBe('hookline.unsupported_media_type')
    expect(res.body.error.message).toMatch(/application\/json/)
    expect(await rowsFor(deliveryId)).toBe(0)
  })

  it('form-encoded and forged → 401 (the content type is only judged once the signature holds)', async () => {
    const res = await deliver(githubIssueOpened(), { event: 'issues', contentType: 'form', secret: 'forged-by-someone' })
    expect(res.status).toBe(401)
  })

  it('signed but without X-GitHub-Delivery → 400', async () => {
    const res = await deliver(githubIssueOpened(), { event: 'issues', deliveryId: '' })
    expect(res.status).toBe(400)
    expect(res.body.error.code).toBe('hookline.payload_malformed')
  })
})

/**
 * @module The GitHub adapter alone (no database): what the shared conformance suite cannot know —
 * rotation over three secrets, the content-type check after the signature, the event key per hook
 * and delivery, and the type, tenant, entity and time rules.
 */
import { ConfigError, MalformedPayloadError, type ParsedEvent, type RawRequest, SignatureError, UnsupportedMediaTypeError } from '@hookline/core'
import {
  githubCheckRunCompleted,
  githubIssueOpened,
  githubPing,
  githubPullRequestSynchronize,
  githubPush,
  type GithubDeliveryOptions,
  signedGithubDelivery,
} from '@hookline/testkit'
import { describe, expect, it } from 'vitest'
import { githubAdapter } from './github-adapter.ts'

const CURRENT = 'gh-secret-current'
const PREVIOUS = 'gh-secret-previous'
const OLDEST = 'gh-secret-oldest'
const adapter = githubAdapter({ secrets: [CURRENT, PREVIOUS, OLDEST] })
const AT = new Date('2026-11-23T12:00:00Z')

async function request(payload: unknown, options: Partial<GithubDeliveryOptions> = {}): Promise<RawRequest> {
  const { body, headers } = await signedGithubDelivery(payload, { event: 'issues', secret: CURRENT, ...options })
  return { body: Buffer.from(body), headers, receivedAt: AT }
}

async function parsed(payload: unknown, options: Partial<GithubDeliveryOptions> = {}): Promise<ParsedEvent> {
  const req = await request(payload, options)
  const result = adapter.parse(await adapter.verify(req), req)
  if (result.kind !== 'event') throw new Error(`expected an event, got ${JSON.stringify(result)}`)
  return result
}

describe('githubAdapter.verify', () => {
  it('accepts any configured secret (rotation through verifyWithFallback)', async () => {
    for (const secret of [CURRENT, PREVIOUS, OLDEST]) {
      await expect(adapter.verify(await request(githubIssueOpened(), { secret }))).resolves.toMatchObject({ action: 'opened' })
    }
    await expect(adapter.verify(await request(githubIssueOpened(), { secret: 'retired' }))).rejects.toThrow(/does not match the body for any configured secret/)
  })

  it('answers a missing or SHA-1-only signature with SignatureError, never a TypeError', async () => {
    const { 'x-hub-signature-256': sha256, ...unsigned } = (await request(githubIssueOpened())).headers
    const req = await request(githubIssueOpened())
    await expect(adapter.verify({ ...req, headers: unsigned })).rejects.toThrow(SignatureError)
    await expect(adapter.verify({ ...req, headers: { ...unsigned, 'x-hub-signature': 'sha1=0123' } })).rejects.toThrow(/SHA-1 X-Hub-Signature is not accepted/)
    await expect(adapter.verify({ ...req, body: Buffer.alloc(0), headers: { ...unsigned, 'x-hub-signature-256': sha256 } })).rejects.toThrow(/empty body/)
    await expect(adapter.verify({ ...req, headers: { ...req.headers, 'x-hub-signature-256': 'sha256=zz' } })).rejects.toThrow(SignatureError)
  })

  it('refuses bytes that are not UTF-8 instead of verifying a lossy decoding of them', async () => {
    const req = await request(githubIssueOpened())
    const body = Buffer.concat([req.body.subarray(0, -1), Buffer.from([0xff]), req.body.subarray(-1)])
    await expect(adapter.verify({ ...req, body })).rejects.toThrow(/not valid UTF-8/)
  })

  it('checks the content type only after the signature: a signed form hook gets 415, a forged one 401', async () => {
    const form = await request(githubIssueOpened(), { contentType: 'form' })
    expect(form.body.toString()).toMatch(/^payload=%7B/)
    const refused = adapter.verify(form)
    await expect(refused).rejects.toThrow(UnsupportedMediaTypeError)
    await expect(refused).rejects.toThrow(/set the hook's "Content type" to application\/json/)
    await expect(adapter.verify(await request(githubIssueOpened(), { contentType: 'form', secret: 'forged' }))).rejects.toThrow(SignatureError)
  })

  it('accepts application/json with or without a charset, refuses other or missing types', async () => {
    const req = await request(githubIssueOpened())
    await expect(adapter.verify({ ...req, headers: { ...req.headers, 'content-type': 'application/json; charset=utf-8' } })).resolves.toBeDefined()
    await expect(adapter.verify({ ...req, headers: { ...req.headers, 'content-type': 'text/plain' } })).rejects.toThrow(/must be application\/json, got "text\/plain"/)
    const { 'content-type': _type, ...untyped } = req.headers
    await expect(adapter.verify({ ...req, headers: untyped })).rejects.toThrow(UnsupportedMediaTypeError)
  })

  it('reports a signed body that is not JSON as malformed', async () => {
    await expect(adapter.verify(await request(undefined, { body: '{"action":' }))).rejects.toThrow(MalformedPayloadError)
  })

  it('needs a non-empty secret', () => {
    expect(() => githubAdapter({ secrets: ['', ''] })).toThrow(ConfigError)
  })
})

describe('githubAdapter.parse: identity', () => {
  it('keys an event by hook id and delivery GUID', async () => {
    const event = await parsed(githubIssueOpened(), { hookId: 12, deliveryId: '72d3162e-cc78-11e3-81ab-4c9367dc0958' })
    expect(event.eventKey).toBe('12:72d3162e-cc78-11e3-81ab-4c9367dc0958')
  })

  it('gives a redelivery the same key, even when re-signed with the new secret after a rotation', async () => {
    const payload = githubIssueOpened()
    const first = await parsed(payload, { deliveryId: 'guid-1', secret: PREVIOUS })
    const redelivery = await parsed(payload, { deliveryId: 'guid-1', secret: CURRENT })
    expect(redelivery.eventKey).toBe(first.eventKey)
  })

  it('gives two hooks that receive the same event (same GUID) two different keys', async () => {
    const payload = githubIssueOpened()
    const repoHook = await parsed(payload, { hookId: 100, deliveryId: 'shared-guid' })
    const orgHook = await parsed(payload, { hookId: 200, deliveryId: 'shared-guid' })
    expect(repoHook.eventKey).not.toBe(orgHook.eventKey)
  })

  it('refuses deliveries without the identity headers or with a non-numeric hook id', async () => {
    await expect(parsed(githubIssueOpened(), { event: '' })).rejects.toThrow(/missing x-github-event/)
    await expect(parsed(githubIssueOpened(), { deliveryId: '' })).rejects.toThrow(/missing x-github-delivery/)
    await expect(parsed(githubIssueOpened(), { hookId: '' })).rejects.toThrow(/missing x-github-hook-id/)
    await expect(parsed(githubIssueOpened(), { hookId: '12:34' })).rejects.toThrow(MalformedPayloadError)
  })

  it('stores ping as record-only; other events run handlers', async () => {
    expect(await parsed(githubPing(), { event: 'ping' })).toMatchObject({ type: 'ping', recordOnly: true })
    expect(await parsed(githubIssueOpened())).not.toHaveProperty('recordOnly')
  })

  it('appends the payload action to the event name when there is one', async () => {
    expect((await parsed(githubIssueOpened())).type).toBe('issues.opened')
    expect((await parsed(githubPullRequestSynchronize(), { event: 'pull_request' })).type).toBe('pull_request.synchronize')
    expect((await parsed(githubPush(), { event: 'push' })).type).toBe('push')
  })
})

describe('githubAdapter.parse: tenant', () => {
  it('is the App installation id, else the repository owner, else the organization, else null', async () => {
    expect((await parsed(githubIssueOpened({ installationId: 51 }))).tenant).toBe('51')
    expect((await parsed(githubIssueOpened({ repository: 'mona/dotfiles' }))).tenant).toBe('mona')
    expect((await parsed({ action: 'member_added', organization: { login: 'octo-org', id: 1 } }, { event: 'organization' })).tenant).toBe('octo-org')
    expect((await parsed({ action: 'created', sponsorship: { node_id: 'S_1' } }, { event: 'sponsorship' })).tenant).toBeNull()
  })
})

describe('githubAdapter.parse: tenant of payloads without repository or organization', () => {
  it('is the sponsored account, the marketplace buyer, the installation target account', async () => {
    expect((await parsed({ action: 'created', sponsorship: { id: 7, sponsorable: { login: 'octocat' }, sponsor: { login: 'mona' } } }, { event: 'sponsorship' })).tenant).toBe('octocat')
    expect((await parsed({ action: 'purchased', marketplace_purchase: { account: { login: 'acme-corp', id: 9 } } }, { event: 'marketplace_purchase' })).tenant).toBe('acme-corp')
    expect((await parsed({ action: 'renamed', account: { login: 'new-name', id: 3 } }, { event: 'installation_target' })).tenant).toBe('new-name')
  })

  it('a field of another shape leaves the tenant null instead of refusing the event', async () => {
    expect((await parsed({ action: 'created', sponsorship: { sponsorable: 'octocat' } }, { event: 'sponsorship' })).tenant).toBeNull()
  })
})

describe('githubAdapter.parse: organisation-level entities', () => {
  it.each([
    ['membership', { action: 'added', team: { id: 11, slug: 'core' }, member: { login: 'mona' }, organization: { login: 'octo-org', id: 1 } }, 'team:11'],
    ['team', { action: 'edited', team: { id: 11 }, organization: { login: 'octo-org', id: 1 } }, 'team:11'],
    ['organization', { action: 'member_added', organization: { login: 'octo-org', id: 1 } }, 'organization:1'],
    ['installation_repositories', { action: 'added', installation: { id: 51 }, repositories_added: [] }, 'installation:51'],
    ['sponsorship', { action: 'created', sponsorship: { id: 7, sponsorable: { login: 'octocat' } } }, 'sponsorship:7'],
  ])('%s: %s', async (event, payload, entityKey) => {
    const parsedEvent = await parsed(payload, { event })
    expect(parsedEvent).toMatchObject({ entityKey, occurredAt: null })
  })

  it('projects_v2_item: the item, dated by its updated_at', async () => {
    const event = await parsed({ action: 'edited', projects_v2_item: { id: 99, updated_at: '2026-11-23T11:00:00Z' }, organization: { login: 'octo-org', id: 1 } }, { event: 'projects_v2_item' })
    expect(event).toMatchObject({ entityKey: 'projects_v2_item:99', tenant: 'octo-org', occurredAt: new Date('2026-11-23T11:00:00Z') })
  })
})

describe('githubAdapter.parse: entity and source time', () => {
  it('push: the ref, dated by repository.pushed_at (Unix seconds in push payloads)', async () => {
    const event = await parsed(githubPush({ ref: 'refs/heads/release', at: AT }), { event: 'push' })
    expect(event).toMatchObject({ entityKey: 'ref:octo-org/hello-world:refs/heads/release', occurredAt: AT })
  })

  it('issues and pull requests: repository and number, dated by updated_at', async () => {
    expect(await parsed(githubIssueOpened({ number: 3, at: AT }))).toMatchObject({ entityKey: 'issue:octo-org/hello-world#3', occurredAt: AT })
    expect(await parsed(githubPullRequestSynchronize({ number: 4, at: AT }), { event: 'pull_request' })).toMatchObject({
      entityKey: 'pull_request:octo-org/hello-world#4',
      occurredAt: AT,
    })
  })

  it('check runs: the run id, dated by completed_at, else started_at', async () => {
    const completed = githubCheckRunCompleted({ checkRunId: 77, at: AT })
    expect(await parsed(completed, { event: 'check_run' })).toMatchObject({ entityKey: 'check_run:77', occurredAt: AT })
    const created = { ...completed, action: 'created', check_run: { ...(completed.check_run as object), completed_at: null, started_at: '2026-11-23T11:58:00Z' } }
    expect((await parsed(created, { event: 'check_run' })).occurredAt).toEqual(new Date('2026-11-23T11:58:00Z'))
  })

  it('ping: the hook, dated by hook.updated_at', async () => {
    expect(await parsed(githubPing({ hookId: 9, at: AT }), { event: 'ping' })).toMatchObject({ entityKey: 'hook:9', occurredAt: AT })
  })

  it('other events: the repository, undated (its snapshot times do not date the event)', async () => {
    const star = { action: 'created', starred_at: '2026-11-23T12:00:00Z', repository: githubIssueOpened().repository, sender: { login: 'mona' } }
    expect(await parsed(star, { event: 'star' })).toMatchObject({ entityKey: 'repository:octo-org/hello-world', occurredAt: null })
    expect(await parsed({ action: 'created', sponsorship: {} }, { event: 'sponsorship' })).toMatchObject({ entityKey: null, occurredAt: null })
  })

  it('falls back to the repository when the subject object is missing, and ignores unreadable times', async () => {
    const { issue: _issue, ...withoutIssue } = githubIssueOpened()
    expect(await parsed(withoutIssue)).toMatchObject({ entityKey: 'repository:octo-org/hello-world', occurredAt: null })
    const issue = githubIssueOpened({ number: 2 })
    const undated = { ...issue, issue: { ...(issue.issue as object), updated_at: 'yesterday' } }
    expect(await parsed(undated)).toMatchObject({ entityKey: 'issue:octo-org/hello-world#2', occurredAt: null })
  })

  it('hands the payload over exactly as signed', async () => {
    const payload = githubIssueOpened()
    expect((await parsed(payload)).payload).toEqual(payload)
  })
})

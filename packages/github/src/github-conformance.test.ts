/**
 * @module The GitHub adapter against the shared adapter conformance suite, with deliveries signed
 * by `@octokit/webhooks-methods`' own `sign`.
 *
 * The suite builds requests synchronously, but the SDK's `sign` returns a Promise. So every
 * request is signed in `beforeAll`, for each secret the suite handed to `createAdapter` (it does so
 * while registering its tests, before any hook runs). The one secret it makes up later — the
 * "unknown secret" case — is by construction held by no adapter the suite built; that request is
 * answered with one signed by {@link FOREIGN_SECRET}, which no adapter holds either.
 */
import {
  type ConformanceRequest,
  describeAdapterConformance,
  githubCheckRunCompleted,
  githubIssueOpened,
  githubPing,
  githubPullRequestSynchronize,
  githubPush,
  type GithubDeliveryOptions,
  signedGithubDelivery,
} from '@hookline/testkit'
import { beforeAll } from 'vitest'
import { githubAdapter } from './github-adapter.ts'

const AT = new Date('2026-11-23T12:00:00Z')
const HOOK = 7_001
const FOREIGN_SECRET = 'a-secret-no-adapter-of-this-suite-holds'

const secretsGiven = new Set<string>()
const builders = new Map<string, (secret: string) => Promise<ConformanceRequest>>()
const signed = new Map<string, ConformanceRequest>()

beforeAll(async () => {
  for (const [name, build] of builders) {
    for (const secret of [...secretsGiven, FOREIGN_SECRET]) signed.set(`${name}\n${secret}`, await build(secret))
  }
})

/** Registers a delivery to pre-sign and returns the synchronous builder the suite calls. */
function delivery(name: string, payload: unknown, options: GithubDeliveryOptions): (secret: string) => ConformanceRequest {
  builders.set(name, (secret) => signedGithubDelivery(payload, { hookId: HOOK, deliveryId: `${name}-guid`, ...options, secret }))
  return (secret) => {
    const request = signed.get(`${name}\n${secretsGiven.has(secret) ? secret : FOREIGN_SECRET}`)
    if (!request) throw new Error(`"${name}" was not signed in beforeAll`)
    return request
  }
}

const repo = 'octo-org/hello-world'
const redelivered = githubIssueOpened({ number: 8, at: AT })

describeAdapterConformance({
  createAdapter: (secrets) => {
    for (const secret of secrets) secretsGiven.add(secret)
    return githubAdapter({ secrets })
  },
  signatureHeaders: ['x-hub-signature-256'],
  fixtures: [
    {
      name: 'ping',
      request: delivery('ping', githubPing({ hookId: HOOK, at: AT }), { event: 'ping' }),
      expect: { kind: 'event', eventKey: `${HOOK}:ping-guid`, type: 'ping', recordOnly: true, entityKey: `hook:${HOOK}`, occurredAt: AT },
    },
    {
      name: 'push',
      request: delivery('push', githubPush({ at: AT }), { event: 'push' }),
      expect: { kind: 'event', eventKey: `${HOOK}:push-guid`, type: 'push', tenant: 'octo-org', entityKey: `ref:${repo}:refs/heads/main`, occurredAt: AT },
    },
    {
      name: 'issues.opened',
      request: delivery('issues', githubIssueOpened({ number: 5, at: AT }), { event: 'issues' }),
      expect: { kind: 'event', eventKey: `${HOOK}:issues-guid`, type: 'issues.opened', tenant: 'octo-org', entityKey: `issue:${repo}#5`, occurredAt: AT },
    },
    {
      name: 'pull_request.synchronize',
      request: delivery('pull_request', githubPullRequestSynchronize({ number: 6, at: AT }), { event: 'pull_request' }),
      expect: { kind: 'event', type: 'pull_request.synchronize', entityKey: `pull_request:${repo}#6`, occurredAt: AT },
    },
    {
      name: 'check_run.completed for an App installation',
      request: delivery('check_run', githubCheckRunCompleted({ installationId: 42, checkRunId: 9, at: AT }), { event: 'check_run' }),
      expect: { kind: 'event', type: 'check_run.completed', tenant: '42', entityKey: 'check_run:9', occurredAt: AT },
    },
  ],
  malformed: [
    { name: 'truncated JSON', request: delivery('truncated', undefined, { event: 'issues', body: '{"action":"opened",' }) },
    { name: 'a JSON array', request: delivery('array', [githubIssueOpened()], { event: 'issues' }) },
    { name: 'installation.id that is not a number', request: delivery('bad-installation', { ...githubIssueOpened(), installation: { id: 'abc' } }, { event: 'issues' }) },
    { name: 'a form-encoded hook (415)', request: delivery('form', githubIssueOpened(), { event: 'issues', contentType: 'form' }) },
    { name: 'no X-GitHub-Event', request: delivery('no-event', githubIssueOpened(), { event: '' }) },
    { name: 'no X-GitHub-Delivery', request: delivery('no-delivery', githubIssueOpened(), { event: 'issues', deliveryId: '' }) },
    { name: 'no X-GitHub-Hook-ID', request: delivery('no-hook', githubIssueOpened(), { event: 'issues', hookId: '' }) },
  ],
  // A redelivery (UI or API) re-sends the same GUID from the same hook.
  redelivery: {
    first: delivery('original', redelivered, { event: 'issues', deliveryId: 'redelivered-guid' }),
    second: delivery('redelivery', redelivered, { event: 'issues', deliveryId: 'redelivered-guid' }),
  },
})

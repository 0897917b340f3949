/**
 * @module The GitHub adapter against the shared adapter conformance suite, with deliveries signed
 * on demand by `@octokit/webhooks-methods`' own (async) `sign`.
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
import { githubAdapter } from './github-adapter.ts'

const AT = new Date('2026-11-23T12:00:00Z')
const HOOK = 7_001

/** A builder the suite calls with the secret to sign with. */
function delivery(name: string, payload: unknown, options: GithubDeliveryOptions): (secret: string) => Promise<ConformanceRequest> {
  return (secret) => signedGithubDelivery(payload, { hookId: HOOK, deliveryId: `${name}-guid`, ...options, secret })
}

const repo = 'octo-org/hello-world'
const redelivered = githubIssueOpened({ number: 8, at: AT })

describeAdapterConformance({
  createAdapter: (secrets) => githubAdapter({ secrets }),
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

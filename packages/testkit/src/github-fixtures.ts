/**
 * @module Realistic GitHub webhook payloads for tests, and deliveries of them signed with
 * `@octokit/webhooks-methods`' `sign`, carrying the headers GitHub sends.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { sign } from '@octokit/webhooks-methods'
import type { SignedRequest } from './stripe-fixtures.ts'
import { GITHUB_TEST_SECRET } from './secrets.ts'

/** The hook id (`X-GitHub-Hook-ID`) deliveries come from unless told otherwise. */
export const GITHUB_TEST_HOOK_ID = 471_102_938
/** The GitHub App whose hook delivers installation events (`X-GitHub-Hook-Installation-Target-ID`). */
export const GITHUB_TEST_APP_ID = 918_273
/** The App installation of {@link githubCheckRunCompleted} unless told otherwise. */
export const GITHUB_TEST_INSTALLATION_ID = 51_234_567

/** Options shared by the payload builders. */
export interface GithubPayloadOptions {
  /**
   * Full name (`owner/name`) of the repository the event happened in.
   * @defaultValue 'octo-org/hello-world'
   */
  repository?: string
  /** The App installation the event is delivered for (adds `installation`); none for plain hooks. */
  installationId?: number
  /**
   * When the event's object changed: its `updated_at` (`pushed_at` for a push), in whole seconds
   * as GitHub writes them.
   * @defaultValue now
   */
  at?: Date
}

/**
 * The `ping` GitHub sends when a hook is created.
 *
 * @example
 * const ping = githubPing({ hookId: 42 })
 */
export function githubPing(options: GithubPayloadOptions & { hookId?: number } = {}): Record<string, unknown> {
  const hookId = options.hookId ?? GITHUB_TEST_HOOK_ID
  const repo = repository(options)
  const at = iso(options.at)
  return {
    zen: 'Design for failure.',
    hook_id: hookId,
    hook: {
      type: 'Repository',
      id: hookId,
      name: 'web',
      active: true,
      events: ['issues', 'pull_request', 'push'],
      config: { content_type: 'json', insecure_ssl: '0', url: 'https://hookline.example.com/webhooks/github' },
      updated_at: at,
      created_at: at,
      url: `${repo.url}/hooks/${hookId}`,
      test_url: `${repo.url}/hooks/${hookId}/test`,
      ping_url: `${repo.url}/hooks/${hookId}/pings`,
      deliveries_url: `${repo.url}/hooks/${hookId}/deliveries`,
      last_response: { code: null, status: 'unused', message: null },
    },
    repository: repo,
    sender: user('octocat', 583231),
  }
}

/**
 * A `push` to a branch. As in real push payloads, `repository.created_at` and `pushed_at` are Unix
 * seconds (numbers), unlike every other timestamp.
 *
 * @example
 * const push = githubPush({ ref: 'refs/heads/main', at: new Date('2026-11-23T12:00:00Z') })
 */
export function githubPush(options: GithubPayloadOptions & { ref?: string } = {}): Record<string, unknown> {
  const ref = options.ref ?? 'refs/heads/main'
  const pushedAt = Math.floor((options.at ?? new Date()).getTime() / 1000)
  const repo = { ...repository(options), created_at: 1_704_103_200, pushed_at: pushedAt, master_branch: 'main', stargazers: 12 }
  const before = sha()
  const after = sha()
  const commit = {
    id: after,
    tree_id: sha(),
    distinct: true,
    message: 'Handle redeliveries idempotently',
    timestamp: iso(new Date(pushedAt * 1000 - 60_000)).replace('Z', '+00:00'),
    url: `${repo.html_url}/commit/${after}`,
    author: { name: 'Mona Octocat', email: 'mona@example.com', username: 'mona' },
    committer: { name: 'GitHub', email: 'noreply@github.com', username: 'web-flow' },
    added: [],
    removed: [],
    modified: ['src/inbox.ts'],
  }
  return {
    ref,
    before,
    after,
    repository: repo,
    pusher: { name: 'mona', email: 'mona@example.com' },
    ...orgAndInstallation(options),
    sender: user('mona', 9_919_001),
    created: false,
    deleted: false,
    forced: false,
    base_ref: null,
    compare: `${repo.html_url}/compare/${before.slice(0, 12)}...${after.slice(0, 12)}`,
    commits: [commit],
    head_commit: commit,
  }
}

/**
 * An `issues` event with action `opened`.
 *
 * @example
 * const opened = githubIssueOpened({ number: 7 })
 */
export function githubIssueOpened(options: GithubPayloadOptions & { number?: number } = {}): Record<string, unknown> {
  const repo = repository(options)
  const number = options.number ?? 1347
  const at = iso(options.at)
  return {
    action: 'opened',
    issue: {
      url: `${repo.url}/issues/${number}`,
      html_url: `${repo.html_url}/issues/${number}`,
      id: 1_000_000 + number,
      node_id: 'I_kwDOAbCdEf6abcde',
      number,
      title: 'Deliveries time out after 10 s',
      user: user('mona', 9_919_001),
      labels: [],
      state: 'open',
      locked: false,
      assignee: null,
      assignees: [],
      milestone: null,
      comments: 0,
      created_at: at,
      updated_at: at,
      closed_at: null,
      author_association: 'MEMBER',
      body: 'GitHub gives up after 10 seconds and does not retry.',
      reactions: { url: `${repo.url}/issues/${number}/reactions`, total_count: 0 },
      state_reason: null,
    },
    repository: repo,
    ...orgAndInstallation(options),
    sender: user('mona', 9_919_001),
  }
}

/**
 * A `pull_request` event with action `synchronize` (new commits pushed to the head branch).
 *
 * @example
 * const sync = githubPullRequestSynchronize({ number: 12 })
 */
export function githubPullRequestSynchronize(options: GithubPayloadOptions & { number?: number } = {}): Record<string, unknown> {
  const repo = repository(options)
  const number = options.number ?? 42
  const at = iso(options.at)
  const before = sha()
  const after = sha()
  return {
    action: 'synchronize',
    number,
    before,
    after,
    pull_request: {
      url: `${repo.url}/pulls/${number}`,
      id: 2_000_000 + number,
      node_id: 'PR_kwDOAbCdEf5abcdef',
      html_url: `${repo.html_url}/pull/${number}`,
      number,
      state: 'open',
      locked: false,
      title: 'Dedupe GitHub deliveries per hook',
      user: user('mona', 9_919_001),
      body: 'Key the inbox on hook id and delivery GUID.',
      created_at: '2026-11-20T09:30:00Z',
      updated_at: at,
      closed_at: null,
      merged_at: null,
      merge_commit_sha: null,
      draft: false,
      head: { label: `${owner(options)}:dedupe`, ref: 'dedupe', sha: after, user: user(owner(options), 6_789_012, 'Organization'), repo },
      base: { label: `${owner(options)}:main`, ref: 'main', sha: sha(), user: user(owner(options), 6_789_012, 'Organization'), repo },
      author_association: 'MEMBER',
      merged: false,
      mergeable: null,
      commits: 3,
      additions: 120,
      deletions: 14,
      changed_files: 4,
    },
    repository: repo,
    ...orgAndInstallation(options),
    sender: user('mona', 9_919_001),
  }
}

/**
 * A `check_run` event with action `completed`, delivered to a GitHub App for one of its
 * installations (check runs belong to Apps): the payload carries `installation`.
 *
 * @example
 * const run = githubCheckRunCompleted({ installationId: 77, checkRunId: 9 })
 */
export function githubCheckRunCompleted(options: GithubPayloadOptions & { checkRunId?: number } = {}): Record<string, unknown> {
  const repo = repository(options)
  const id = options.checkRunId ?? 22_130_551_947
  const completedAt = iso(options.at)
  const headSha = sha()
  return {
    action: 'completed',
    check_run: {
      id,
      name: 'hookline / test',
      node_id: 'CR_kwDOAbCdEf8AAAAFJ0c',
      head_sha: headSha,
      external_id: '',
      url: `${repo.url}/check-runs/${id}`,
      html_url: `${repo.html_url}/runs/${id}`,
      details_url: `${repo.html_url}/runs/${id}`,
      status: 'completed',
      conclusion: 'success',
      started_at: iso(new Date(new Date(completedAt).getTime() - 95_000)),
      completed_at: completedAt,
      output: { title: 'All tests passed', summary: '312 tests', text: null, annotations_count: 0 },
      check_suite: { id: 31_001_002_003, head_branch: 'main', head_sha: headSha, status: 'completed', conclusion: 'success' },
      app: { id: GITHUB_TEST_APP_ID, slug: 'hookline-ci', name: 'Hookline CI', owner: user(owner(options), 6_789_012, 'Organization') },
      pull_requests: [],
    },
    repository: repo,
    ...orgAndInstallation({ ...options, installationId: options.installationId ?? GITHUB_TEST_INSTALLATION_ID }),
    sender: user('hookline-ci[bot]', 180_000_001, 'Bot'),
  }
}

/** Options of {@link signedGithubDelivery}. */
export interface GithubDeliveryOptions {
  /** `X-GitHub-Event`, e.g. `issues` (the action travels in the payload). */
  event: string
  /** @defaultValue {@link GITHUB_TEST_SECRET} */
  secret?: string
  /** `X-GitHub-Hook-ID`. @defaultValue {@link GITHUB_TEST_HOOK_ID} */
  hookId?: number | string
  /**
   * `X-GitHub-Delivery`: the event's GUID, the same for every hook subscribed to the event and
   * for redeliveries. GitHub marks a redelivery nowhere in the request (only in its deliveries
   * API), so a redelivery is this call again with the same `deliveryId` and `hookId`, signed
   * with the hook's secret of that moment.
   * @defaultValue a random UUID
   */
  deliveryId?: string
  /**
   * `X-GitHub-Hook-Installation-Target-Type` and `-ID`: what the hook is installed on. For an App
   * this is the App id, not the installation.
   * @defaultValue an App ({@link GITHUB_TEST_APP_ID}) when the payload has `installation`, else its
   * repository, else its organization; headers omitted when none applies
   */
  target?: { type: string; id: number | string }
  /**
   * The hook's content type setting: `json` sends the JSON as the body, `form` sends
   * `payload=<url-encoded JSON>` as GitHub does for `application/x-www-form-urlencoded` hooks.
   * @defaultValue 'json'
   */
  contentType?: 'json' | 'form'
  /** Exact body to sign and send instead of the encoded payload (e.g. broken JSON). Not empty. */
  body?: string
}

/**
 * Signs a delivery of `payload` with the SDK's `sign` (which is async, hence the Promise) and
 * returns the exact body with the headers GitHub sends: `x-github-event`, `x-github-delivery`,
 * `x-github-hook-id`, the installation target pair, `x-hub-signature-256`, `content-type` and
 * `user-agent`. The legacy SHA-1 `x-hub-signature` is not sent.
 *
 * @example
 * const { body, headers } = await signedGithubDelivery(githubIssueOpened(), { event: 'issues' })
 * await fetch(`${url}/webhooks/github`, { method: 'POST', body, headers })
 */
export async function signedGithubDelivery(payload: unknown, options: GithubDeliveryOptions): Promise<SignedRequest> {
  const json = JSON.stringify(payload)
  const form = options.contentType === 'form'
  const body = options.body ?? (form ? new URLSearchParams({ payload: json }).toString() : json)
  const target = options.target ?? defaultTarget(payload)
  return {
    body,
    headers: {
      'content-type': form ? 'application/x-www-form-urlencoded' : 'application/json',
      'user-agent': 'GitHub-Hookshot/5a4a1b0',
      'x-github-delivery': options.deliveryId ?? randomUUID(),
      'x-github-event': options.event,
      'x-github-hook-id': String(options.hookId ?? GITHUB_TEST_HOOK_ID),
      ...(target
        ? { 'x-github-hook-installation-target-id': String(target.id), 'x-github-hook-installation-target-type': target.type }
        : {}),
      'x-hub-signature-256': await sign(options.secret ?? GITHUB_TEST_SECRET, body),
    },
  }
}

function defaultTarget(payload: unknown): { type: string; id: number } | undefined {
  const p = (typeof payload === 'object' && payload !== null ? payload : {}) as Record<string, { id?: unknown } | undefined>
  if (p.installation) return { type: 'integration', id: GITHUB_TEST_APP_ID }
  if (typeof p.repository?.id === 'number') return { type: 'repository', id: p.repository.id }
  if (typeof p.organization?.id === 'number') return { type: 'organization', id: p.organization.id }
  return undefined
}

function owner(options: GithubPayloadOptions): string {
  return (options.repository ?? 'octo-org/hello-world').split('/')[0] ?? 'octo-org'
}

function repository(options: GithubPayloadOptions) {
  const fullName = options.repository ?? 'octo-org/hello-world'
  const [login = 'octo-org', name = 'hello-world'] = fullName.split('/')
  return {
    id: 700_000_000 + (hash(fullName) % 100_000_000),
    node_id: 'R_kgDOKbCdEf',
    name,
    full_name: fullName,
    private: false,
    owner: user(login, 6_789_012, 'Organization'),
    html_url: `https://github.com/${fullName}`,
    description: 'A repository Hookline receives webhooks from',
    fork: false,
    url: `https://api.github.com/repos/${fullName}`,
    created_at: '2024-01-01T10:00:00Z',
    updated_at: '2026-11-01T08:15:00Z',
    pushed_at: '2026-11-22T17:45:00Z',
    default_branch: 'main',
    visibility: 'public',
    archived: false,
    disabled: false,
    open_issues_count: 3,
    topics: ['webhooks'],
  }
}

function orgAndInstallation(options: GithubPayloadOptions): Record<string, unknown> {
  const login = owner(options)
  return {
    organization: { login, id: 6_789_012, node_id: 'O_kgDOAGeX1A', url: `https://api.github.com/orgs/${login}`, description: null },
    ...(options.installationId === undefined ? {} : { installation: { id: options.installationId, node_id: 'MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNTEyMzQ1Njc=' } }),
  }
}

function user(login: string, id: number, type: 'User' | 'Organization' | 'Bot' = 'User') {
  return {
    login,
    id,
    node_id: 'MDQ6VXNlcjU4MzIzMQ==',
    avatar_url: `https://avatars.githubusercontent.com/u/${id}?v=4`,
    url: `https://api.github.com/users/${login}`,
    html_url: `https://github.com/${login}`,
    type,
    site_admin: false,
  }
}

/** ISO time in whole seconds, the way GitHub writes `updated_at`. */
function iso(at: Date = new Date()): string {
  return new Date(Math.floor(at.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z')
}

function sha(): string {
  return randomBytes(20).toString('hex')
}

/** A stable number per repository name, so that one repository keeps one id across fixtures. */
function hash(text: string): number {
  let h = 0
  for (const char of text) h = (h * 31 + char.charCodeAt(0)) >>> 0
  return h
}

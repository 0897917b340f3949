/**
 * @module `ctx.fetchCurrent()` for GitHub: re-reads the primary object of a delivery (the issue,
 * the pull request, the check run…) from the REST API with the adapter's credentials.
 */
import { type HooklineEvent, PermanentError, providerApiError, RetryAfterError } from '@hookline/core'
import { createAppAuth } from '@octokit/auth-app'
import { type GithubApiOptions, githubClientOptions, rateLimitWaitMs, RetryingOctokit } from './github-reconcile.ts'

type Client = InstanceType<typeof RetryingOctokit>
type Json = Record<string, unknown>

/**
 * The payload field holding each event's primary object, whose API `url` is re-read. Events not
 * listed here (`push`, `star`, `create`…) re-read their repository, the object they change.
 */
const PRIMARY_OBJECT: Record<string, string> = {
  issues: 'issue',
  issue_comment: 'comment',
  pull_request: 'pull_request',
  // A review has no API `url` of its own: its pull request is what it changes.
  pull_request_review: 'pull_request',
  pull_request_review_comment: 'comment',
  commit_comment: 'comment',
  check_run: 'check_run',
  check_suite: 'check_suite',
  workflow_run: 'workflow_run',
  workflow_job: 'workflow_job',
  release: 'release',
  deployment: 'deployment',
  deployment_status: 'deployment_status',
  milestone: 'milestone',
  label: 'label',
  discussion: 'discussion',
  discussion_comment: 'comment',
}

/**
 * The `fetchCurrent` of a GitHub adapter: with `api.token`, one token client; with only the App's
 * credentials, a client per installation (the event's `installation.id`), authenticated as it.
 * Without `api`, a PermanentError says what to configure.
 */
export function githubFetchCurrent(api: GithubApiOptions | undefined): (event: HooklineEvent) => Promise<unknown> {
  const options = api ? githubClientOptions(api, 'hookline-fetch') : undefined
  const tokenClient = api?.token ? new RetryingOctokit({ ...options, auth: api.token }) : undefined
  const installationClients = new Map<number, Client>()
  const clientFor = (payload: Json): Client => {
    if (tokenClient) return tokenClient
    const installationId = (payload.installation as { id?: unknown } | undefined)?.id
    if (api?.appId !== undefined && api.privateKey && typeof installationId === 'number') {
      let client = installationClients.get(installationId)
      if (!client) {
        client = new RetryingOctokit({ ...options, authStrategy: createAppAuth, auth: { appId: api.appId, privateKey: api.privateKey, installationId } })
        installationClients.set(installationId, client)
      }
      return client
    }
    throw new PermanentError('ctx.fetchCurrent() needs the GitHub adapter\'s API access: configure `api.token` (service: GITHUB_TOKEN), or the App\'s id and private key for events of an installation')
  }
  return async (event) => {
    const payload = (event.payload ?? {}) as Json
    const path = apiPathOf(event, payload)
    const client = clientFor(payload)
    try {
      const res = await client.request(`GET ${path}`)
      return res.data
    } catch (err) {
      throw failure(`GitHub GET ${path}`, err)
    }
  }
}

/** The API path of the event's primary object, else of its repository; PermanentError when it has neither. */
function apiPathOf(event: HooklineEvent, payload: Json): string {
  const name = event.type.split('.')[0]!
  const field = PRIMARY_OBJECT[name]
  const url = field ? (payload[field] as { url?: unknown } | undefined)?.url : undefined
  if (typeof url === 'string') {
    const path = apiPath(url)
    if (path) return path
  }
  // Push payloads' `repository.url` is the web page: the full name always names the API resource.
  const fullName = (payload.repository as { full_name?: unknown } | undefined)?.full_name
  if (typeof fullName === 'string' && fullName.includes('/')) return `/repos/${fullName.split('/').map(encodeURIComponent).join('/')}`
  throw new PermanentError(`GitHub event ${event.type} carries no object or repository to re-read`)
}

/**
 * The path of an API `url` below the API root (`https://api.github.com/…` or GHES's
 * `https://HOST/api/v3/…`), requested on the configured base URL: the credentials never go to a
 * host a payload names.
 */
function apiPath(url: string): string | undefined {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return undefined
  }
  if (parsed.hostname === 'api.github.com') return parsed.pathname
  const ghes = /^\/api\/v3(\/.+)$/.exec(parsed.pathname)
  return ghes?.[1]
}

/** A GitHub rate limit (429, or 403 with its headers) waits as asked; any other status maps by core's table. */
function failure(what: string, err: unknown): unknown {
  if (!(err instanceof Error) || err.name !== 'HttpError') return err
  const waitMs = rateLimitWaitMs(err)
  if (waitMs !== undefined) return new RetryAfterError(`${what}: rate limited`, waitMs, { cause: err })
  const { status, response } = err as Error & { status?: number; response?: { headers?: Record<string, unknown> } }
  const retryAfter = response?.headers?.['retry-after']
  return providerApiError(what, status, retryAfter === undefined ? undefined : String(retryAfter), err)
}

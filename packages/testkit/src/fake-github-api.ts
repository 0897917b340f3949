/**
 * @module A local stand-in for GitHub's webhook deliveries API (list, get, redeliver) of repository,
 * organization and App hooks, and for any REST resource by its path (issues, pull requests…, as
 * `ctx.fetchCurrent()` re-reads them), for the official client pointed at it. Cursor paging by `Link`
 * header, token and App JWT authentication behave like the real API; rate limits, 5xx and hanging
 * pages can be injected.
 */
import { createPublicKey, randomUUID, verify as verifySignature, type KeyObject } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { listenFake, NextRequests, PageGate } from './fake-server.ts'

/** A recorded delivery, with every field GitHub's "get a delivery" answers. */
export interface FakeGithubDelivery {
  /** The hook it belongs to: `repos/OWNER/REPO/hooks/ID`, `orgs/ORG/hooks/ID` or `app`. */
  hook: string
  id: number
  guid: string
  delivered_at: string
  redelivery: boolean
  duration: number
  status: string
  status_code: number
  event: string
  action: string | null
  installation_id: number | null
  repository_id: number | null
  throttled_at: string | null
  url: string
  request: { headers: Record<string, string>; payload: unknown }
  response: { headers: Record<string, string>; payload: string | null }
}

/** What {@link FakeGithubApi.addDelivery} needs to record a delivery. */
export interface FakeGithubDeliveryInput {
  /** The hook, as in {@link FakeGithubDelivery.hook}. */
  hook: string
  /** `X-GitHub-Event`, e.g. `issues`. */
  event: string
  payload: Record<string, unknown>
  deliveredAt: Date
  /** @defaultValue a random UUID */
  guid?: string
  /** The receiver's answer; 0 for a timeout (GitHub gives up after 10 s). @defaultValue 200 */
  statusCode?: number
  /** @defaultValue false */
  redelivery?: boolean
}

/** A rate-limit answer: GitHub's 429, or 403 for secondary limits and an exhausted quota. */
export interface FakeRateLimit {
  /** @defaultValue 429 */
  status?: 403 | 429
  /** Sends `retry-after: <seconds>`. */
  retryAfterSeconds?: number
  /** Sends `x-ratelimit-remaining: 0` and `x-ratelimit-reset` this many seconds from now. */
  resetInSeconds?: number
}

/** Options of {@link startFakeGithubApi}. */
export interface FakeGithubApiOptions {
  /** The token repository and organization hook requests must carry; any when unset. */
  token?: string
  /** The GitHub App whose JWTs (RS256, `iss` = id) the `/app/hook` endpoints accept. */
  app?: {
    id: string | number
    /** The App's public key (PEM or key object), or its private key, from which it is derived. */
    key: string | KeyObject
    /** `X-GitHub-Hook-ID` of the App's hook. */
    hookId: number
  }
}

/** A running fake. */
export interface FakeGithubApi {
  /** Base URL to give the client (`api.baseUrl` / GITHUB_API_URL). */
  url: string
  /** The recorded deliveries of every hook (add with {@link FakeGithubApi.addDelivery}, or remove freely). */
  deliveries: FakeGithubDelivery[]
  /** Current REST resources by path, e.g. `/repos/octo-org/hello-world/issues/11`; others are 404. */
  resources: Map<string, unknown>
  /** Every redelivery asked for (`POST …/deliveries/{id}/attempts`), in order. */
  redeliveries: { hook: string; deliveryId: number; guid: string }[]
  /** Every request received. */
  requests: { method: string; path: string; query: Record<string, string>; authorization: string | null }[]
  /** Records a delivery the way GitHub does, with the request headers GitHub sent; returns it. */
  addDelivery(input: FakeGithubDeliveryInput): FakeGithubDelivery
  /** The next `count` requests answer a rate limit. */
  rateLimitNext(count: number, limit: FakeRateLimit): void
  /**
   * The next `count` requests (Infinity: all) fail: with HTTP 500, or `status`, with a
   * `Retry-After` header when `retryAfterSeconds` is given.
   */
  failNext(count: number, options?: { status?: number; retryAfterSeconds?: number }): void
  /**
   * How list requests for any page but the first (those with a `cursor`) are answered: `serve`
   * (normal), `hold` (never: a stuck connection, until {@link FakeGithubApi.dropHeld}) or `fail` (500).
   */
  followingPages(mode: 'serve' | 'hold' | 'fail'): void
  /** Cuts the connections of held requests. */
  dropHeld(): void
  close(): Promise<void>
}

const PAGE_MAX = 100

/**
 * Starts the fake on a free port.
 *
 * @example
 * const api = await startFakeGithubApi({ token: 'ghp_test' })
 * api.addDelivery({ hook: 'repos/octo-org/hello-world/hooks/12', event: 'issues', payload, deliveredAt: new Date() })
 * githubAdapter({ secrets, api: { token: 'ghp_test', baseUrl: api.url, hooks: ['repos/octo-org/hello-world/hooks/12'], maxRetries: 0 } })
 */
export async function startFakeGithubApi(options: FakeGithubApiOptions = {}): Promise<FakeGithubApi> {
  let url = ''
  let nextId = 1
  const rateLimits = new NextRequests<FakeRateLimit>()
  const failures = new NextRequests<{ status: number; retryAfterSeconds: number | undefined }>()
  const gate = new PageGate()
  const appKey = options.app ? createPublicKey(options.app.key) : undefined

  const api: Omit<FakeGithubApi, 'url' | 'close'> = {
    deliveries: [],
    resources: new Map(),
    redeliveries: [],
    requests: [],
    addDelivery(input) {
      const id = nextId++
      const guid = input.guid ?? randomUUID()
      const statusCode = input.statusCode ?? 200
      const payload = input.payload
      const action = typeof payload.action === 'string' ? payload.action : null
      const installationId = idOf(payload.installation)
      const target = input.hook === 'app'
        ? { type: 'integration', id: String(options.app?.id ?? 0) }
        : input.hook.startsWith('orgs/')
          ? { type: 'organization', id: String(idOf(payload.organization) ?? 0) }
          : { type: 'repository', id: String(idOf(payload.repository) ?? 0) }
      const delivery: FakeGithubDelivery = {
        hook: input.hook,
        id,
        guid,
        delivered_at: input.deliveredAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
        redelivery: input.redelivery ?? false,
        duration: statusCode === 0 ? 10 : 0.27,
        status: statusCode === 0 ? 'timed out' : statusCode < 300 ? 'OK' : `Invalid HTTP Response: ${statusCode}`,
        status_code: statusCode,
        event: input.event,
        action,
        installation_id: installationId,
        repository_id: idOf(payload.repository),
        throttled_at: null,
        url: `${url}/${input.hook === 'app' ? 'app/hook' : input.hook}/deliveries/${id}`,
        request: {
          headers: {
            Accept: '*/*',
            'Content-Type': 'application/json',
            'User-Agent': 'GitHub-Hookshot/5a4a1b0',
            'X-GitHub-Delivery': guid,
            'X-GitHub-Event': input.event,
            'X-GitHub-Hook-ID': String(hookIdOf(input.hook)),
            'X-GitHub-Hook-Installation-Target-ID': target.id,
            'X-GitHub-Hook-Installation-Target-Type': target.type,
          },
          payload,
        },
        response: { headers: statusCode === 0 ? {} : { 'Content-Type': 'application/json' }, payload: statusCode === 0 ? null : '{}' },
      }
      api.deliveries.push(delivery)
      return delivery
    },
    rateLimitNext(count, limit) {
      rateLimits.arm(count, limit)
    },
    failNext(count, options = {}) {
      failures.arm(count, { status: options.status ?? 500, retryAfterSeconds: options.retryAfterSeconds })
    },
    followingPages(mode) {
      gate.mode = mode
    },
    dropHeld() {
      gate.dropHeld()
    },
  }

  function hookIdOf(hook: string): number {
    if (hook === 'app') {
      if (!options.app) throw new Error('the fake has no App: give startFakeGithubApi an `app`')
      return options.app.hookId
    }
    return Number(hook.split('/').at(-1))
  }

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'x-github-request-id': randomUUID(), ...headers })
    res.end(body === undefined ? undefined : JSON.stringify(body))
  }
  const serverError = (res: ServerResponse) => send(res, 500, { message: 'Server Error' })
  const armedFailure = (res: ServerResponse): boolean => {
    const failure = failures.take()
    if (!failure) return false
    send(res, failure.status, { message: failure.status === 503 ? 'Service Unavailable' : 'Server Error' }, failure.retryAfterSeconds === undefined ? {} : { 'retry-after': String(failure.retryAfterSeconds) })
    return true
  }

  /** GitHub's own check of an App JWT: RS256 by the App's key, issued by the App, not expired. */
  function validJwt(token: string): boolean {
    if (!appKey || !options.app) return false
    const [header, claims, signature] = token.split('.')
    if (!header || !claims || !signature) return false
    if (!verifySignature('RSA-SHA256', Buffer.from(`${header}.${claims}`), appKey, Buffer.from(signature, 'base64url'))) return false
    try {
      const { alg } = JSON.parse(Buffer.from(header, 'base64url').toString()) as { alg?: unknown }
      const { iss, exp, iat } = JSON.parse(Buffer.from(claims, 'base64url').toString()) as { iss?: unknown; exp?: unknown; iat?: unknown }
      const now = Date.now() / 1000
      return alg === 'RS256' && String(iss) === String(options.app.id) && typeof exp === 'number' && typeof iat === 'number' &&
        exp > now && iat <= now + 60 && exp - iat <= 600
    } catch {
      return false
    }
  }

  function authorized(hook: string, authorization: string | null): boolean {
    const [scheme, credential = ''] = (authorization ?? '').split(' ')
    if (hook === 'app') return scheme?.toLowerCase() === 'bearer' && validJwt(credential)
    if (options.token === undefined) return true
    return (scheme?.toLowerCase() === 'token' || scheme?.toLowerCase() === 'bearer') && credential === options.token
  }

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const requestUrl = new URL(req.url ?? '/', 'http://localhost')
    const query = Object.fromEntries(requestUrl.searchParams)
    const authorization = req.headers.authorization ?? null
    const method = req.method ?? 'GET'
    api.requests.push({ method, path: requestUrl.pathname, query, authorization })
    const route = routeOf(requestUrl.pathname)
    if (!route) return resource(req, res, requestUrl.pathname, authorization)
    if (!authorized(route.hook, authorization)) {
      return send(res, 401, { message: route.hook === 'app' ? 'A JSON web token could not be decoded' : 'Bad credentials' })
    }
    const rateLimit = rateLimits.take()
    if (rateLimit) {
      const headers: Record<string, string> = {}
      if (rateLimit.retryAfterSeconds !== undefined) headers['retry-after'] = String(rateLimit.retryAfterSeconds)
      if (rateLimit.resetInSeconds !== undefined) {
        headers['x-ratelimit-remaining'] = '0'
        headers['x-ratelimit-reset'] = String(Math.ceil(Date.now() / 1000 + rateLimit.resetInSeconds))
      }
      return send(res, rateLimit.status ?? 429, { message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.' }, headers)
    }
    if (armedFailure(res)) return
    const ofHook = api.deliveries.filter((d) => d.hook === route.hook)
    if (route.deliveryId === undefined) {
      if (method !== 'GET') return send(res, 404, { message: 'Not Found' })
      if (query.cursor && gate.hold(res)) return
      if (query.cursor && gate.mode === 'fail') return serverError(res)
      return list(res, requestUrl, ofHook, query)
    }
    const delivery = ofHook.find((d) => d.id === route.deliveryId)
    if (!delivery) return send(res, 404, { message: 'Not Found' })
    if (route.attempts && method === 'POST') {
      api.redeliveries.push({ hook: route.hook, deliveryId: delivery.id, guid: delivery.guid })
      return send(res, 202, {})
    }
    if (route.attempts || method !== 'GET') return send(res, 404, { message: 'Not Found' })
    const { hook: _hook, ...detail } = delivery
    send(res, 200, detail)
  }

  /** A REST resource by its path, read with the token (an App installation's token is not checked). */
  function resource(req: IncomingMessage, res: ServerResponse, path: string, authorization: string | null) {
    const notFound = () => send(res, 404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' })
    if (req.method !== 'GET' || !api.resources.has(path)) {
      if (armedFailure(res)) return
      return notFound()
    }
    if (!authorized('', authorization)) return send(res, 401, { message: 'Bad credentials' })
    if (armedFailure(res)) return
    send(res, 200, api.resources.get(path))
  }

  /** Newest first; the cursor is the position after a delivery id, so new deliveries do not shift pages. */
  function list(res: ServerResponse, requestUrl: URL, deliveries: FakeGithubDelivery[], query: Record<string, string>) {
    const perPage = Math.min(Number(query.per_page ?? 30), PAGE_MAX)
    const sorted = [...deliveries].sort((a, b) => b.delivered_at.localeCompare(a.delivered_at) || b.id - a.id)
    const start = query.cursor ? sorted.findIndex((d) => d.id === cursorId(query.cursor!)) + 1 : 0
    const page = sorted.slice(start, start + perPage)
    const last = page.at(-1)
    const headers: Record<string, string> = {}
    if (last && start + perPage < sorted.length) {
      const next = new URL(`${url}${requestUrl.pathname}`)
      next.searchParams.set('per_page', String(perPage))
      next.searchParams.set('cursor', `v1_${last.id}`)
      headers.link = `<${next.href}>; rel="next"`
    }
    send(res, 200, page.map(({ hook: _hook, url: _url, request: _request, response: _response, ...summary }) => summary), headers)
  }

  const server = await listenFake(handle)
  url = `http://127.0.0.1:${server.port}`
  return { ...api, url, close: server.close }
}

/** The hook and delivery a deliveries API path names, or undefined for any other path. */
function routeOf(path: string): { hook: string; deliveryId?: number; attempts: boolean } | undefined {
  const match = /^\/(repos\/[^/]+\/[^/]+\/hooks\/\d+|orgs\/[^/]+\/hooks\/\d+|app\/hook)\/deliveries(?:\/(\d+)(\/attempts)?)?$/.exec(path)
  if (!match) return undefined
  const hook = match[1] === 'app/hook' ? 'app' : decodeURIComponent(match[1]!)
  return { hook, ...(match[2] ? { deliveryId: Number(match[2]) } : {}), attempts: match[3] !== undefined }
}

function cursorId(cursor: string): number {
  return Number(cursor.replace(/^v1_/, ''))
}

function idOf(value: unknown): number | null {
  const id = typeof value === 'object' && value !== null ? (value as { id?: unknown }).id : undefined
  return typeof id === 'number' ? id : null
}

/**
 * @module Reconciliation for GitHub: pages a hook's webhook deliveries (newest first, by GitHub's
 * `cursor`) through `@octokit/core`, and for each delivery GUID the inbox lacks either fetches the
 * delivery to ingest it, or asks GitHub to redeliver it.
 */
import { ConfigError, type ParsedEvent, type ReconcileContext, type ReconcilePage, RetryAfterError } from '@hookline/core'
import { createAppAuth } from '@octokit/auth-app'
import { Octokit } from '@octokit/core'
import { retry } from '@octokit/plugin-retry'
import { z } from 'zod'
import { githubEventKey, parseGithubDelivery } from './github-event.ts'

/** How to reach GitHub's webhook deliveries API for reconciliation. */
export interface GithubApiOptions {
  /**
   * The hooks whose deliveries are reconciled, each one reconcile tenant under exactly this name:
   * `repos/OWNER/REPO/hooks/ID`, `orgs/ORG/hooks/ID`, or `app` (the GitHub App's own hook).
   */
  hooks: readonly string[]
  /**
   * Token for repository and organization hooks. Classic: `admin:repo_hook` / `admin:org_hook`;
   * fine-grained: the repository or organization "Webhooks" permission (read; write to redeliver).
   */
  token?: string
  /**
   * REST API base URL: GitHub Enterprise Server's `https://HOST/api/v3`, or a local fake in tests.
   * @defaultValue 'https://api.github.com'
   */
  baseUrl?: string
  /** The GitHub App's id, for the `app` hook (whose deliveries API takes an App JWT). */
  appId?: string | number
  /** The GitHub App's private key (PEM, as GitHub issues it), for the `app` hook. */
  privateKey?: string
  /**
   * What to do with a delivery the inbox lacks: `ingest` fetches its headers and payload and
   * stores the event (source `reconcile`); `redeliver` asks GitHub to send it to the webhook
   * endpoint again, where it arrives as a normal, signed delivery.
   * @defaultValue 'ingest'
   */
  mode?: 'ingest' | 'redeliver'
  /**
   * Retries of the client itself on 5xx and network errors. Rate limits are never retried by the
   * client: the reconcile engine waits them out for as long as GitHub asks.
   * @defaultValue 2
   */
  maxRetries?: number
}

/** The deliveries API of the hooks of one {@link GithubApiOptions}. */
export interface GithubDeliveryReconciler {
  /** The reconcile tenants: one per configured hook, as spelled in `hooks` (slashes trimmed). */
  readonly tenants: readonly string[]
  /** The pages of one run for `ctx.tenant`, which must be one of {@link tenants}. */
  pages(ctx: ReconcileContext): AsyncGenerator<ReconcilePage>
}

/** GitHub keeps webhook deliveries for 3 days; older ones are neither listed nor redeliverable. */
const RETENTION_MS = 3 * 24 * 3_600_000

/** The most deliveries GitHub lists per page. */
const PAGE_SIZE = 100

// 429 and 403 are not retried by the client either: they are how GitHub signals rate limits,
// which the engine waits out from their headers instead of the client's fixed backoff.
const DO_NOT_RETRY = [400, 401, 403, 404, 410, 422, 429, 451]

/** The client class of GitHub API calls: `@octokit/core` with the retry plugin. */
export const RetryingOctokit = Octokit.plugin(retry)
type Client = InstanceType<typeof RetryingOctokit>

/** One configured hook. */
interface Hook {
  tenant: string
  /** Base path of its deliveries endpoints, e.g. `/repos/octo-org/hello-world/hooks/12`. */
  path: string
  /** Its `X-GitHub-Hook-ID`; for the App hook, learnt from its first delivery fetched. */
  hookId: string | null
  client: Client
}

const deliveryItemSchema = z.object({
  id: z.number().int(),
  guid: z.string().min(1),
  delivered_at: z.coerce.date(),
  event: z.string().min(1),
}).loose()

type DeliveryItem = z.infer<typeof deliveryItemSchema>

const deliveryDetailSchema = z.object({
  request: z.object({ headers: z.record(z.string(), z.unknown()).nullish(), payload: z.unknown() }).loose(),
}).loose()

/** The options of a {@link RetryingOctokit} for `options`' API, identified by `userAgent`. */
export function githubClientOptions(options: Pick<GithubApiOptions, 'baseUrl' | 'maxRetries'>, userAgent: string) {
  const retries = options.maxRetries ?? 2
  return {
    ...(options.baseUrl ? { baseUrl: options.baseUrl.replace(/\/+$/, '') } : {}),
    userAgent,
    // Disabled outright at 0: the plugin's scheduler (Bottleneck) costs every request a few milliseconds.
    retry: { enabled: retries > 0, retries, doNotRetry: DO_NOT_RETRY },
  }
}

/**
 * Validates `options` (throws {@link ConfigError}) and builds the clients: a token client for
 * repository and organization hooks, an App JWT client (`@octokit/auth-app`) for the `app` hook.
 *
 * For every delivery GUID in the run's window that is new to the run, the inbox key
 * `<hook id>:<GUID>` is checked; known GUIDs are counted as known, missing ones are fetched (one
 * request at a time, as GitHub asks of integrations) and parsed by the same rules as webhooks, or
 * redelivered. A GUID listed again (a redelivery) is handled once per run; a run resumed by
 * another process may look at a GUID it already handled before the crash once more, which the
 * inbox turns into a known key (or, when redelivering, a duplicate delivery).
 *
 * @example
 * const deliveries = githubDeliveryReconciler({ token, hooks: ['repos/octo-org/hello-world/hooks/12'] })
 * for await (const page of deliveries.pages(ctx)) console.log(page.events.length, page.skippedKnown)
 */
export function githubDeliveryReconciler(options: GithubApiOptions): GithubDeliveryReconciler {
  const hooks = new Map<string, Hook>()
  const clientOptions = githubClientOptions(options, 'hookline-reconcile')
  let tokenClient: Client | undefined
  let appClient: Client | undefined
  for (const spec of options.hooks) {
    const { tenant, path, hookId } = parseHookSpec(spec)
    let client: Client
    if (tenant === 'app') {
      if (options.appId === undefined || !options.privateKey) throw new ConfigError('the GitHub "app" hook needs the App id and private key')
      appClient ??= new RetryingOctokit({ ...clientOptions, authStrategy: createAppAuth, auth: { appId: options.appId, privateKey: options.privateKey } })
      client = appClient
    } else {
      if (!options.token) throw new ConfigError(`the GitHub hook "${tenant}" needs a token`)
      tokenClient ??= new RetryingOctokit({ ...clientOptions, auth: options.token })
      client = tokenClient
    }
    hooks.set(tenant, { tenant, path, hookId, client })
  }
  if (hooks.size === 0) throw new ConfigError('GitHub reconciliation needs at least one hook')
  const mode = options.mode ?? 'ingest'
  const tenants = [...hooks.keys()]

  return {
    tenants,
    async *pages(ctx) {
      const hook = hooks.get(ctx.tenant ?? '')
      if (!hook) {
        throw new ConfigError(
          `${ctx.tenant === null ? 'GitHub reconciliation needs a tenant' : `"${ctx.tenant}" is not a configured GitHub hook`}: one of ${tenants.join(', ')}`,
        )
      }
      if (ctx.since.getTime() < Date.now() - RETENTION_MS) {
        ctx.warn('the window reaches past GitHub\'s 3-day delivery retention: older deliveries cannot be recovered')
      }
      const handled = new Set<string>()
      let cursor = ctx.resumeFrom
      for (;;) {
        const listing = await call(() => hook.client.request(`GET ${hook.path}/deliveries`, {
          per_page: PAGE_SIZE,
          ...(cursor ? { cursor } : {}),
          request: { signal: ctx.signal },
        }))
        const items = z.array(deliveryItemSchema).parse(listing.data)
        // Newest first: once one delivery predates the window, every following one does too.
        const reachedStart = items.some((d) => d.delivered_at < ctx.since)
        const fresh = new Map<string, DeliveryItem>()
        for (const d of items) {
          if (d.delivered_at < ctx.since || d.delivered_at > ctx.until || handled.has(d.guid)) continue
          handled.add(d.guid)
          fresh.set(d.guid, d)
        }
        const next = reachedStart ? null : nextCursor(listing.headers.link)
        yield { ...(await recover(hook, [...fresh.values()], mode, ctx)), cursor: next }
        if (next === null) return
        cursor = next
      }
    },
  }
}

/** Checks the inbox for the page's GUIDs and ingests or redelivers the missing ones. */
async function recover(hook: Hook, deliveries: DeliveryItem[], mode: 'ingest' | 'redeliver', ctx: ReconcileContext): Promise<Omit<ReconcilePage, 'cursor'>> {
  const first = deliveries[0]
  if (!first) return { events: [] }
  hook.hookId ??= await learnHookId(hook, first, ctx)
  const hookId = hook.hookId
  const keys = deliveries.map((d) => githubEventKey(hookId, d.guid))
  const known = await ctx.knownKeys(keys)
  const missing = deliveries.filter((_, i) => !known.has(keys[i]!))
  const events: ParsedEvent[] = []
  let redelivered = 0
  // One request at a time: GitHub answers concurrent bursts with secondary rate limits.
  for (const d of missing) {
    if (mode === 'redeliver') {
      await call(() => hook.client.request(`POST ${hook.path}/deliveries/{delivery_id}/attempts`, { delivery_id: d.id, request: { signal: ctx.signal } }))
      redelivered += 1
    } else {
      const event = await fetchEvent(hook, hookId, d, ctx)
      if (event) events.push(event)
    }
  }
  return { events, skippedKnown: known.size, recoveredOutOfBand: redelivered }
}

/** The delivery as an event, parsed by the webhook's rules; undefined (and a warning) if it cannot be. */
async function fetchEvent(hook: Hook, hookId: string, delivery: DeliveryItem, ctx: ReconcileContext): Promise<ParsedEvent | undefined> {
  const { headers, payload } = await fetchRequest(hook, delivery, ctx)
  // GitHub records the identity headers with every delivery; should one be missing, the listing
  // knows the same facts, and a key that matches the one checked above keeps the next run quiet.
  const withIdentity = { 'x-github-delivery': delivery.guid, 'x-github-event': delivery.event, 'x-github-hook-id': hookId, ...headers }
  try {
    return { ...parseGithubDelivery(withIdentity, payload), headers: withIdentity }
  } catch (err) {
    if (!(err instanceof Error) || err.name !== 'MalformedPayloadError') throw err
    ctx.warn(`GitHub delivery ${delivery.id} (${delivery.guid}) cannot be ingested: ${err.message}`)
    return undefined
  }
}

/** The recorded request of a delivery: lower-cased headers (as webhooks are stored) and the payload. */
async function fetchRequest(hook: Hook, delivery: DeliveryItem, ctx: ReconcileContext): Promise<{ headers: Record<string, string>; payload: unknown }> {
  const res = await call(() => hook.client.request(`GET ${hook.path}/deliveries/{delivery_id}`, { delivery_id: delivery.id, request: { signal: ctx.signal } }))
  const { request } = deliveryDetailSchema.parse(res.data)
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(request.headers ?? {})) {
    if (typeof value === 'string') headers[name.toLowerCase()] = value
  }
  return { headers, payload: request.payload }
}

/** The App hook's id is in no listing, only in the headers of its deliveries. */
async function learnHookId(hook: Hook, delivery: DeliveryItem, ctx: ReconcileContext): Promise<string> {
  const hookId = (await fetchRequest(hook, delivery, ctx)).headers['x-github-hook-id']
  if (!hookId || !/^\d+$/.test(hookId)) throw new Error(`GitHub delivery ${delivery.id} of the "${hook.tenant}" hook records no X-GitHub-Hook-ID`)
  return hookId
}

/**
 * The tenant name and API path of a configured hook. Slashes around the spec are trimmed; owner,
 * repository and organization names are URL-encoded into the path.
 */
function parseHookSpec(spec: string): Pick<Hook, 'tenant' | 'path' | 'hookId'> {
  const tenant = spec.trim().replace(/^\/+|\/+$/g, '')
  if (tenant === 'app') return { tenant, path: '/app/hook', hookId: null }
  const repo = /^repos\/([^/]+)\/([^/]+)\/hooks\/(\d+)$/.exec(tenant)
  if (repo) return { tenant, path: `/repos/${encodeURIComponent(repo[1]!)}/${encodeURIComponent(repo[2]!)}/hooks/${repo[3]}`, hookId: repo[3]! }
  const org = /^orgs\/([^/]+)\/hooks\/(\d+)$/.exec(tenant)
  if (org) return { tenant, path: `/orgs/${encodeURIComponent(org[1]!)}/hooks/${org[2]}`, hookId: org[2]! }
  throw new ConfigError(`GitHub hook "${spec}" is none of repos/OWNER/REPO/hooks/ID, orgs/ORG/hooks/ID, app`)
}

/** The `cursor` of the `rel="next"` link (GitHub pages deliveries by cursor, not by page number). */
function nextCursor(link: string | undefined): string | null {
  const next = link?.split(',').find((part) => /;\s*rel="next"/.test(part))
  const url = next ? /<([^>]+)>/.exec(next)?.[1] : undefined
  return url ? new URL(url).searchParams.get('cursor') : null
}

/** Runs one API call; a rate limit becomes a RetryAfterError, which the reconcile engine waits out. */
async function call<T>(request: () => Promise<T>): Promise<T> {
  try {
    return await request()
  } catch (err) {
    const waitMs = rateLimitWaitMs(err)
    if (waitMs === undefined) throw err
    throw new RetryAfterError(`GitHub rate limit: ${(err as Error).message.split('\n')[0]}`, waitMs, { cause: err })
  }
}

/**
 * How long GitHub asks to wait, or undefined when `err` is no rate limit. GitHub answers 429, or
 * 403 (secondary limits, and an exhausted primary quota), with `retry-after` in seconds or
 * `x-ratelimit-remaining: 0` plus `x-ratelimit-reset` (Unix seconds); a secondary limit with
 * neither means "at least a minute". A 403 without any of these is a permission error.
 */
export function rateLimitWaitMs(err: unknown): number | undefined {
  if (!(err instanceof Error) || err.name !== 'HttpError') return undefined
  const { status, response } = err as Error & { status?: number; response?: { headers?: Record<string, unknown> } }
  if (status !== 403 && status !== 429) return undefined
  const headers = response?.headers ?? {}
  const retryAfter = String(headers['retry-after'] ?? '')
  if (/^\d+$/.test(retryAfter)) return Number(retryAfter) * 1000
  const reset = String(headers['x-ratelimit-reset'] ?? '')
  if (String(headers['x-ratelimit-remaining']) === '0' && /^\d+$/.test(reset)) return Math.max(0, Number(reset) * 1000 - Date.now())
  if (status === 429 || /secondary rate limit/i.test(err.message)) return 60_000
  return undefined
}

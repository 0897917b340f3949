/**
 * @module The GitHub adapter: verifies `X-Hub-Signature-256` over the raw body with
 * `@octokit/webhooks-methods` (every configured secret, for rotation), accepts JSON hooks only,
 * extracts the event identity from the delivery headers and the payload, and — given API access —
 * reconciles hooks through GitHub's webhook deliveries API.
 */
import {
  ConfigError,
  MalformedPayloadError,
  type ParsedEvent,
  type ProviderAdapter,
  type RawRequest,
  SignatureError,
  UnsupportedMediaTypeError,
} from '@hookline/core'
import { verifyWithFallback } from '@octokit/webhooks-methods'
import { parseGithubDelivery } from './github-event.ts'
import { githubFetchCurrent } from './github-fetch.ts'
import { type GithubApiOptions, githubDeliveryReconciler } from './github-reconcile.ts'

/** Options of {@link githubAdapter}. */
export interface GithubAdapterOptions {
  /** Webhook secrets; several during a rotation, tried in order (the first is the current one). */
  secrets: readonly string[]
  /**
   * Largest accepted body. GitHub caps webhook payloads at 25 MB.
   * @defaultValue 25 MiB
   */
  maxBodyBytes?: number
  /**
   * GitHub's REST API: to reconcile the hooks it lists (one reconcile tenant per hook, named as
   * listed), and for `ctx.fetchCurrent()`; without it the adapter does not reconcile, and
   * `ctx.fetchCurrent()` throws a PermanentError.
   */
  api?: GithubApiOptions
}

/** A delivery's JSON body, parsed only after its signature verified; `parse` checks its shape. */
export type VerifiedGithubPayload = unknown

// Strict UTF-8: the SDK signs and verifies strings, so bytes that do not decode losslessly cannot
// be checked as sent. Keep a BOM, so that the string is exactly the bytes that were signed.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/**
 * Creates the GitHub adapter.
 *
 * - **Signature**: `X-Hub-Signature-256` only (the SHA-1 `X-Hub-Signature` is ignored), checked by
 *   `verifyWithFallback` over the body decoded as UTF-8 — never re-serialised. GitHub signs no
 *   timestamp and none of the headers, so deduplication is the only replay defence.
 * - **Content type**: checked *after* the signature, so an unauthenticated caller learns nothing;
 *   a correctly signed form-encoded hook gets a 415 that says to switch the hook to JSON.
 * - **Identity** (event key `<X-GitHub-Hook-ID>:<X-GitHub-Delivery>`, type, tenant, entity, time,
 *   record-only `ping`): see {@link parseGithubDelivery}, which reconciliation uses too.
 * - **Reconciliation** (with `api`): see {@link githubDeliveryReconciler}.
 * - **`ctx.fetchCurrent()`** (with `api`): see {@link githubFetchCurrent}.
 *
 * @example
 * const github = githubAdapter({
 *   secrets: process.env.GITHUB_WEBHOOK_SECRET!.split(','),
 *   api: { token: process.env.GITHUB_TOKEN, hooks: ['repos/octo-org/hello-world/hooks/12'] },
 * })
 * createHookline({ …, adapters: [github] })
 */
export function githubAdapter(options: GithubAdapterOptions): ProviderAdapter<VerifiedGithubPayload> {
  const [primary, ...additional] = options.secrets.filter((s) => s.length > 0)
  if (primary === undefined) throw new ConfigError('githubAdapter needs at least one webhook secret')
  const adapter: ProviderAdapter<VerifiedGithubPayload> = {
    name: 'github',
    maxBodyBytes: options.maxBodyBytes ?? 25 * 1024 * 1024,
    async verify(req: RawRequest): Promise<VerifiedGithubPayload> {
      const signature = req.headers['x-hub-signature-256']
      if (!signature) {
        throw new SignatureError(
          req.headers['x-hub-signature']
            ? 'missing X-Hub-Signature-256 header (the SHA-1 X-Hub-Signature is not accepted)'
            : 'missing X-Hub-Signature-256 header',
        )
      }
      let payload: string
      try {
        payload = utf8.decode(req.body)
      } catch (err) {
        throw new SignatureError('body is not valid UTF-8, so it cannot carry a GitHub signature', { cause: err })
      }
      // The SDK throws a TypeError on an empty payload; GitHub never signs one.
      if (payload.length === 0) throw new SignatureError('empty body: GitHub signs a non-empty payload')
      if ((await verifyWithFallback(primary, payload, signature, additional)) !== true) {
        throw new SignatureError('X-Hub-Signature-256 does not match the body for any configured secret')
      }
      assertJsonContentType(req.headers['content-type'])
      try {
        return JSON.parse(payload) as unknown
      } catch (err) {
        throw new MalformedPayloadError('signed body is not valid JSON', { cause: err })
      }
    },
    parse(verified: VerifiedGithubPayload, req: RawRequest): ParsedEvent {
      return { ...parseGithubDelivery(req.headers, verified), payloadIsBody: true }
    },
    fetchCurrent: githubFetchCurrent(options.api),
  }
  if (!options.api) return adapter
  const deliveries = githubDeliveryReconciler(options.api)
  return { ...adapter, reconcileTenants: deliveries.tenants, reconcile: (ctx) => deliveries.pages(ctx) }
}

function assertJsonContentType(header: string | undefined): void {
  const mediaType = header?.split(';')[0]?.trim().toLowerCase()
  if (mediaType === 'application/json') return
  if (mediaType === 'application/x-www-form-urlencoded') {
    throw new UnsupportedMediaTypeError(
      'this GitHub hook sends application/x-www-form-urlencoded; set the hook\'s "Content type" to application/json in its settings',
    )
  }
  throw new UnsupportedMediaTypeError(`GitHub deliveries must be application/json, got ${mediaType ? `"${mediaType}"` : 'no content type'}`)
}

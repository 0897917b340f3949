/**
 * @module The GitHub adapter: verifies `X-Hub-Signature-256` over the raw body with
 * `@octokit/webhooks-methods` (every configured secret, for rotation), accepts JSON hooks only, and
 * extracts the event identity from the delivery headers and the payload.
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
import { z } from 'zod'

/** Options of {@link githubAdapter}. */
export interface GithubAdapterOptions {
  /** Webhook secrets; several during a rotation, tried in order (the first is the current one). */
  secrets: readonly string[]
  /**
   * Largest accepted body. GitHub caps webhook payloads at 25 MB.
   * @defaultValue 25 MiB
   */
  maxBodyBytes?: number
}

/** A delivery's JSON body, parsed only after its signature verified; `parse` checks its shape. */
export type VerifiedGithubPayload = unknown

// Only the fields the identity is read from. A signed body whose fields have other types is not
// something GitHub sends; absent fields are normal (not every event has a repository).
const payloadSchema = z.object({
  action: z.string().min(1).optional(),
  installation: z.object({ id: z.number().int() }).loose().optional(),
  repository: z.object({ full_name: z.string().min(1), owner: z.object({ login: z.string().min(1) }).loose().nullish() }).loose().optional(),
  organization: z.object({ login: z.string().min(1) }).loose().optional(),
}).loose()

type Payload = z.infer<typeof payloadSchema>

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
 * - **Event key**: `<X-GitHub-Hook-ID>:<X-GitHub-Delivery>` — the GUID is shared by every hook
 *   subscribed to the event and kept by redeliveries, so two hooks give two events and a
 *   redelivery is a duplicate.
 * - **Type**: `X-GitHub-Event`, plus `.<action>` when the payload has one (`issues.opened`).
 * - **Tenant**: `installation.id` (GitHub Apps), else the repository owner's login, else the
 *   organization's login, else null.
 * - **Entity and time**: see {@link subjectOf}.
 * - **`ping`** (sent when a hook is created) is stored with `recordOnly`: no handler runs.
 *
 * @example
 * const github = githubAdapter({ secrets: process.env.GITHUB_WEBHOOK_SECRET!.split(',') })
 * createHookline({ …, adapters: [github] })
 */
export function githubAdapter(options: GithubAdapterOptions): ProviderAdapter<VerifiedGithubPayload> {
  const [primary, ...additional] = options.secrets.filter((s) => s.length > 0)
  if (primary === undefined) throw new ConfigError('githubAdapter needs at least one webhook secret')
  return {
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
      const event = requiredHeader(req, 'x-github-event')
      const deliveryId = requiredHeader(req, 'x-github-delivery')
      const hookId = requiredHeader(req, 'x-github-hook-id')
      // Digits only, so that the first ':' of the event key always separates hook and delivery.
      if (!/^\d+$/.test(hookId)) throw new MalformedPayloadError('X-GitHub-Hook-ID is not a numeric hook id')
      const result = payloadSchema.safeParse(verified)
      if (!result.success) {
        const issue = result.error.issues[0]
        throw new MalformedPayloadError(`not a GitHub webhook payload: ${issue?.path.join('.') || 'body'} ${issue?.message ?? ''}`.trim())
      }
      const payload = result.data
      const subject = subjectOf(event, payload)
      return {
        kind: 'event',
        eventKey: `${hookId}:${deliveryId}`,
        type: payload.action ? `${event}.${payload.action}` : event,
        tenant: tenantOf(payload),
        entityKey: subject.entityKey,
        occurredAt: subject.occurredAt,
        payload: verified,
        ...(event === 'ping' ? { recordOnly: true } : {}),
      }
    },
  }
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

function requiredHeader(req: RawRequest, name: string): string {
  const value = req.headers[name]
  if (!value) throw new MalformedPayloadError(`missing ${name} header (GitHub sends it with every delivery)`)
  return value
}

function tenantOf(payload: Payload): string | null {
  if (payload.installation) return String(payload.installation.id)
  return payload.repository?.owner?.login ?? payload.organization?.login ?? null
}

/** The entity an event is about and the time of the version it carries. */
interface Subject {
  entityKey: string | null
  occurredAt: Date | null
}

type Json = Record<string, unknown>

/**
 * Where each event's entity key and source time come from. A time is only used when it dates the
 * version of the entity *this* event produced: the worker skips an event older than the newest one
 * applied to its entity, so a time that merely describes an unrelated snapshot would drop events.
 */
const SUBJECT_RULES: Record<string, (payload: Json, repo: string | undefined) => Subject | undefined> = {
  // Pushes to one ref supersede each other. `repository.pushed_at` is the push time (Unix seconds
  // in push payloads); `head_commit.timestamp` is author-controlled and can be years old.
  push: (p, repo) => (repo && typeof p.ref === 'string' ? { entityKey: `ref:${repo}:${p.ref}`, occurredAt: timeOf(field(p.repository, 'pushed_at')) } : undefined),
  issues: (p, repo) => numbered('issue', p.issue, repo),
  pull_request: (p, repo) => numbered('pull_request', p.pull_request, repo),
  issue_comment: (p) => byId('issue_comment', p.comment, 'updated_at'),
  pull_request_review_comment: (p) => byId('pull_request_review_comment', p.comment, 'updated_at'),
  // `submitted_at` never moves after submission (edits and dismissals keep it): ties, never stale.
  pull_request_review: (p) => byId('pull_request_review', p.review, 'submitted_at'),
  check_suite: (p) => byId('check_suite', p.check_suite, 'updated_at'),
  workflow_run: (p) => byId('workflow_run', p.workflow_run, 'updated_at'),
  // Runs and jobs have no `updated_at`: `started_at` while queued or running, then `completed_at`.
  check_run: (p) => byId('check_run', p.check_run, 'completed_at', 'started_at'),
  workflow_job: (p) => byId('workflow_job', p.workflow_job, 'completed_at', 'started_at'),
  installation: (p) => byId('installation', p.installation, 'updated_at'),
  ping: (p) => byId('hook', p.hook, 'updated_at'),
}

/**
 * The entity key and source time of an event:
 *
 * | event | entity key | source time |
 * |---|---|---|
 * | `push` | `ref:<owner/repo>:<ref>` | `repository.pushed_at` |
 * | `issues`, `pull_request` | `issue:<owner/repo>#<number>`, `pull_request:<owner/repo>#<number>` | the object's `updated_at` |
 * | `issue_comment`, `pull_request_review_comment`, `check_suite`, `workflow_run`, `installation` | `<event>:<id>` | the object's `updated_at` |
 * | `pull_request_review` | `pull_request_review:<id>` | `review.submitted_at` |
 * | `check_run`, `workflow_job` | `<event>:<id>` | `completed_at`, else `started_at` |
 * | `ping` | `hook:<id>` | `hook.updated_at` |
 * | any other event, or the object is missing | `repository:<owner/repo>` | null |
 * | no repository either | null | null |
 *
 * Times given as Unix seconds (numbers) or ISO strings are both read; an unreadable time is null.
 * The catch-all repository entity still serialises the repository's events but never marks one
 * stale: the repository snapshot's own times do not date the event.
 */
function subjectOf(event: string, payload: Payload): Subject {
  const repo = payload.repository?.full_name
  return SUBJECT_RULES[event]?.(payload, repo) ?? { entityKey: repo ? `repository:${repo}` : null, occurredAt: null }
}

function numbered(kind: string, object: unknown, repo: string | undefined): Subject | undefined {
  const number = field(object, 'number')
  if (!repo || typeof number !== 'number') return undefined
  return { entityKey: `${kind}:${repo}#${number}`, occurredAt: timeOf(field(object, 'updated_at')) }
}

function byId(kind: string, object: unknown, ...timeFields: string[]): Subject | undefined {
  const id = field(object, 'id')
  if (typeof id !== 'number' && typeof id !== 'string') return undefined
  const time = timeFields.map((name) => field(object, name)).find((value) => value !== null && value !== undefined)
  return { entityKey: `${kind}:${id}`, occurredAt: timeOf(time) }
}

function field(object: unknown, name: string): unknown {
  return typeof object === 'object' && object !== null ? (object as Json)[name] : undefined
}

function timeOf(value: unknown): Date | null {
  const date = typeof value === 'number' ? new Date(value * 1000) : typeof value === 'string' ? new Date(value) : null
  return date && Number.isFinite(date.getTime()) ? date : null
}

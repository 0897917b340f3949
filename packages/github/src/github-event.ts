/**
 * @module The identity of a GitHub delivery — event key, type, tenant, entity and source time —
 * read from its headers and parsed payload. One set of rules for both paths: a webhook and a
 * delivery fetched by reconciliation yield the same event.
 */
import { MalformedPayloadError, type ParsedEvent } from '@hookline/core'
import { z } from 'zod'

// Only the fields the identity is read from. A signed body whose fields have other types is not
// something GitHub sends; absent fields are normal (not every event has a repository). Objects are
// not `.loose()`: the subject rules read the payload itself, and copying the ~90 other keys of
// `repository` into the result cost every delivery for nothing.
const payloadSchema = z.object({
  action: z.string().min(1).optional(),
  installation: z.object({ id: z.number().int() }).optional(),
  repository: z.object({ full_name: z.string().min(1), owner: z.object({ login: z.string().min(1) }).nullish() }).optional(),
  organization: z.object({ login: z.string().min(1) }).optional(),
})

type Payload = z.infer<typeof payloadSchema>

/**
 * The event a delivery carries, from its lower-cased request headers and its JSON payload.
 *
 * - **Event key**: `<X-GitHub-Hook-ID>:<X-GitHub-Delivery>` — the GUID is shared by every hook
 *   subscribed to the event and kept by redeliveries, so two hooks give two events and a
 *   redelivery is a duplicate.
 * - **Type**: `X-GitHub-Event`, plus `.<action>` when the payload has one (`issues.opened`).
 * - **Tenant**: `installation.id` (GitHub Apps), else the login of the account the event belongs
 *   to: the repository's owner, the organization, the sponsored account (`sponsorship`), the
 *   buyer (`marketplace_purchase`), the account of an `installation_target`; else null.
 * - **Entity and time**: see {@link subjectOf}.
 * - **`ping`** (sent when a hook is created) is marked `recordOnly`: no handler runs.
 *
 * Throws {@link MalformedPayloadError} when an identity header is missing or the payload has the
 * wrong shape.
 *
 * @example
 * const event = parseGithubDelivery({ 'x-github-event': 'issues', 'x-github-delivery': guid, 'x-github-hook-id': '12' }, payload)
 * event.eventKey // '12:<guid>'
 */
export function parseGithubDelivery(headers: Readonly<Record<string, string | undefined>>, payload: unknown): ParsedEvent {
  const event = requiredHeader(headers, 'x-github-event')
  const deliveryId = requiredHeader(headers, 'x-github-delivery')
  const hookId = requiredHeader(headers, 'x-github-hook-id')
  // Digits only, so that the first ':' of the event key always separates hook and delivery.
  if (!/^\d+$/.test(hookId)) throw new MalformedPayloadError('X-GitHub-Hook-ID is not a numeric hook id')
  const result = payloadSchema.safeParse(payload)
  if (!result.success) {
    const issue = result.error.issues[0]
    throw new MalformedPayloadError(`not a GitHub webhook payload: ${issue?.path.join('.') || 'body'} ${issue?.message ?? ''}`.trim())
  }
  const subject = subjectOf(event, payload as Json, result.data.repository?.full_name)
  return {
    kind: 'event',
    eventKey: githubEventKey(hookId, deliveryId),
    type: result.data.action ? `${event}.${result.data.action}` : event,
    tenant: tenantOf(result.data, payload as Json),
    entityKey: subject.entityKey,
    occurredAt: subject.occurredAt,
    payload,
    ...(event === 'ping' ? { recordOnly: true } : {}),
  }
}

/** The inbox key of the delivery `guid` received by hook `hookId`. */
export function githubEventKey(hookId: string | number, guid: string): string {
  return `${hookId}:${guid}`
}

function requiredHeader(headers: Readonly<Record<string, string | undefined>>, name: string): string {
  const value = headers[name]
  if (!value) throw new MalformedPayloadError(`missing ${name} header (GitHub sends it with every delivery)`)
  return value
}
function tenantOf(payload: Payload, json: Json): string | null {
  if (payload.installation) return String(payload.installation.id)
  // Read without a schema: a field of another shape only leaves the tenant to the next candidate.
  const owner = [field(json.sponsorship, 'sponsorable'), field(json.marketplace_purchase, 'account'), json.account].map((account) => field(account, 'login'))
  const login = owner.find((value): value is string => typeof value === 'string' && value.length > 0)
  return payload.repository?.owner?.login ?? payload.organization?.login ?? login ?? null
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
  // Organisation-level events, undated: their objects carry no time of this change.
  installation_repositories: (p) => byId('installation', p.installation),
  membership: (p) => byId('team', p.team),
  team: (p) => byId('team', p.team),
  organization: (p) => byId('organization', p.organization),
  sponsorship: (p) => byId('sponsorship', p.sponsorship),
  projects_v2_item: (p) => byId('projects_v2_item', p.projects_v2_item, 'updated_at'),
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
 * | `installation_repositories` | `installation:<id>` | null |
 * | `membership`, `team` | `team:<id>` | null |
 * | `organization`, `sponsorship` | `<event>:<id>` (the organization's, the sponsorship's) | null |
 * | `projects_v2_item` | `projects_v2_item:<id>` | the item's `updated_at` |
 * | `ping` | `hook:<id>` | `hook.updated_at` |
 * | any other event, or the object is missing | `repository:<owner/repo>` | null |
 * | no repository either | null | null |
 *
 * Times given as Unix seconds (numbers) or ISO strings are both read; an unreadable time is null.
 * The catch-all repository entity still serialises the repository's events but never marks one
 * stale: the repository snapshot's own times do not date the event.
 */
function subjectOf(event: string, payload: Json, repo: string | undefined): Subject {
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

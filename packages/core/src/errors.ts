/**
 * @module Typed errors of Hookline's core. Every class has an explicit `name` (so checks survive
 * duplicate package copies) and a namespaced string `code`; {@link httpStatusFor} is the one table
 * that maps codes to HTTP statuses.
 */

/** Base class of every error Hookline raises on purpose. */
export class HooklineError extends Error {
  /** Namespaced, stable identifier of the failure, e.g. `hookline.signature_invalid`. */
  readonly code: string

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = 'HooklineError'
  }
}

/** The request's signature is missing, malformed, wrong, stale or from the future (HTTP 401). */
export class SignatureError extends HooklineError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('hookline.signature_invalid', message, options)
    this.name = 'SignatureError'
  }
}

/** The signed body is not a payload the provider could have sent (HTTP 400). */
export class MalformedPayloadError extends HooklineError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('hookline.payload_malformed', message, options)
    this.name = 'MalformedPayloadError'
  }
}

/** The body exceeds the provider's configured size limit (HTTP 413). */
export class PayloadTooLargeError extends HooklineError {
  constructor(limitBytes: number, options?: { cause?: unknown }) {
    super('hookline.payload_too_large', `body exceeds the limit of ${limitBytes} bytes`, options)
    this.name = 'PayloadTooLargeError'
  }
}

/** The body's content type is one the provider adapter does not accept (HTTP 415). */
export class UnsupportedMediaTypeError extends HooklineError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('hookline.unsupported_media_type', message, options)
    this.name = 'UnsupportedMediaTypeError'
  }
}

/** No adapter is configured under this provider name (HTTP 404). */
export class UnknownProviderError extends HooklineError {
  constructor(provider: string) {
    super('hookline.unknown_provider', `no provider adapter is enabled for "${provider}"`)
    this.name = 'UnknownProviderError'
  }
}

/** A request to a path no webhook route serves (HTTP 404): a binding that cannot pass it on refuses it. */
export class RouteNotFoundError extends HooklineError {
  constructor(message: string) {
    super('hookline.route_not_found', message)
    this.name = 'RouteNotFoundError'
  }
}

/** A webhook path asked with another method than POST (HTTP 405). */
export class MethodNotAllowedError extends HooklineError {
  constructor(message: string) {
    super('hookline.method_not_allowed', message)
    this.name = 'MethodNotAllowedError'
  }
}

/** The inbox could not make the event durable; the provider should retry (HTTP 503). */
export class StoreUnavailableError extends HooklineError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('hookline.store_unavailable', message, options)
    this.name = 'StoreUnavailableError'
  }
}

/** Invalid configuration given to Hookline; raised at start-up, never per request. */
export class ConfigError extends HooklineError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('hookline.config_invalid', message, options)
    this.name = 'ConfigError'
  }
}

/** A reconciliation of this provider and tenant is already running (HTTP 409). */
export class ReconcileBusyError extends HooklineError {
  /** The run in progress. */
  readonly runId: string

  constructor(runId: string) {
    super('hookline.reconcile_busy', `a reconciliation is already running (run ${runId})`)
    this.name = 'ReconcileBusyError'
    this.runId = runId
  }
}

/** No reconciliation run has this id (HTTP 404). */
export class ReconcileRunNotFoundError extends HooklineError {
  constructor(id: string) {
    super('hookline.reconcile_run_not_found', `no reconcile run ${id}`)
    this.name = 'ReconcileRunNotFoundError'
  }
}

/** The provider is not enabled, or its adapter cannot reconcile (HTTP 400). */
export class ReconcileUnsupportedError extends HooklineError {
  constructor(provider: string) {
    super('hookline.reconcile_unsupported', `provider "${provider}" is not enabled or cannot be reconciled`)
    this.name = 'ReconcileUnsupportedError'
  }
}

/** An admin request named an event the inbox does not hold (HTTP 404). */
export class EventNotFoundError extends HooklineError {
  constructor(id: string) {
    super('hookline.event_not_found', `no event with id ${id}`)
    this.name = 'EventNotFoundError'
  }
}

/** An admin request named an issue (a failure fingerprint) that was never recorded (HTTP 404). */
export class IssueNotFoundError extends HooklineError {
  constructor(fingerprint: string) {
    super('hookline.issue_not_found', `no issue with fingerprint ${fingerprint}`)
    this.name = 'IssueNotFoundError'
  }
}

/**
 * A provider's event key names events of several providers (HTTP 409): the caller must say which
 * provider; the message lists the candidates.
 */
export class EventKeyAmbiguousError extends HooklineError {
  /** The events the key names, as `provider` and inbox `id`. */
  readonly candidates: { provider: string; id: string }[]

  constructor(key: string, candidates: { provider: string; id: string }[]) {
    super('hookline.event_key_ambiguous', `event key ${key} names ${candidates.length} events: ${candidates.map((c) => `${c.provider} ${c.id}`).join(', ')}; say which provider (?provider= or --provider)`)
    this.name = 'EventKeyAmbiguousError'
    this.candidates = candidates
  }
}

/** A support action does not apply to the event in its current status (HTTP 409). */
export class EventStateError extends HooklineError {
  /** The event's status when the action was refused. */
  readonly status: string

  constructor(message: string, status: string) {
    super('hookline.event_state_conflict', message)
    this.name = 'EventStateError'
    this.status = status
  }
}

/** An admin request's query or body failed validation (HTTP 400). */
export class InvalidRequestError extends HooklineError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('hookline.request_invalid', message, options)
    this.name = 'InvalidRequestError'
  }
}

/** An event given to `emit` that the outbox cannot store: no type, or an empty id or key. */
export class OutboxEventError extends HooklineError {
  constructor(message: string) {
    super('hookline.outbox_event_invalid', message)
    this.name = 'OutboxEventError'
  }
}

/** A resume of a provider (and type) that is not paused (HTTP 404). */
export class PauseNotFoundError extends HooklineError {
  constructor(provider: string, type: string | undefined) {
    super('hookline.pause_not_found', `${provider}${type ? ` ${type}` : ''} is not paused`)
    this.name = 'PauseNotFoundError'
  }
}

/** An admin request whose token may not do what it asks: a viewer's write (HTTP 403). */
export class AdminForbiddenError extends HooklineError {
  constructor(message: string) {
    super('hookline.admin_forbidden', message)
    this.name = 'AdminForbiddenError'
  }
}

/** An admin request without the right bearer token (HTTP 401). */
export class AdminUnauthorizedError extends HooklineError {
  constructor(message = 'a valid admin bearer token is required') {
    super('hookline.admin_unauthorized', message)
    this.name = 'AdminUnauthorizedError'
  }
}

/**
 * Thrown by a handler for a failure that can never succeed: the event is dead-lettered at once.
 * Recognised by `name`, so a handler module that does not import Hookline can throw
 * `Object.assign(new Error(m), { name: 'PermanentError' })`.
 *
 * @example
 * if (!order) throw new PermanentError(`order ${id} does not exist`)
 */
export class PermanentError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'PermanentError'
  }
}

/**
 * Thrown by a handler when a downstream asked it to wait (a rate limit): the retry is delayed by
 * at least `retryAfterMs`, and still counts as an attempt.
 *
 * @example
 * if (res.status === 429) throw new RetryAfterError('rate limited', Number(res.headers.get('retry-after')) * 1000)
 */
export class RetryAfterError extends Error {
  /** Minimum wait before the next attempt, in milliseconds. */
  readonly retryAfterMs: number

  constructor(message: string, retryAfterMs: number, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'RetryAfterError'
    this.retryAfterMs = retryAfterMs
  }
}

/** An alert sink refused an alert or did not answer; the delivery is retried with backoff. */
export class AlertDeliveryError extends HooklineError {
  /** The sink's name (`slack#0`, `webhook#1`, `onAlert`, …). */
  readonly sink: string

  constructor(sink: string, message: string, options?: { cause?: unknown }) {
    super('hookline.alert_delivery_failed', `alert sink ${sink}: ${message}`, options)
    this.name = 'AlertDeliveryError'
    this.sink = sink
  }
}

/**
 * A provider API call made for a handler (`ctx.fetch()`, `ctx.fetchCurrent()`) failed in a way a
 * later attempt may not: a 4xx other than 404/410, or a 429/5xx without `Retry-After`. Not
 * permanent, so the event is retried with the usual backoff.
 */
export class ProviderApiError extends HooklineError {
  /** HTTP status of the provider's answer; undefined when none came (network error). */
  readonly status: number | undefined

  constructor(message: string, status: number | undefined, options?: { cause?: unknown }) {
    super('hookline.provider_api_failed', message, options)
    this.name = 'ProviderApiError'
    this.status = status
  }
}

/**
 * The error a handler's provider API call becomes, by HTTP status: 404/410 → {@link PermanentError}
 * (the object is gone: retrying cannot bring it back); 429/5xx with `Retry-After` →
 * {@link RetryAfterError} (the provider said when to come back); anything else →
 * {@link ProviderApiError}, retried with backoff. One table, so every adapter maps alike.
 *
 * @example
 * throw providerApiError('Stripe customers.retrieve(cus_1)', err.statusCode, err.headers?.['retry-after'], err)
 */
export function providerApiError(what: string, status: number | undefined, retryAfter: string | undefined, cause: unknown): Error {
  const detail = cause instanceof Error ? `: ${cause.message.split('\n')[0]}` : ''
  const message = `${what} failed${status === undefined ? '' : ` with HTTP ${status}`}${detail}`
  if (status === 404 || status === 410) return new PermanentError(message, { cause })
  const waitMs = status === 429 || (status !== undefined && status >= 500) ? retryAfterMs(retryAfter) : undefined
  if (waitMs !== undefined) return new RetryAfterError(message, waitMs, { cause })
  return new ProviderApiError(message, status, { cause })
}

/** `Retry-After` as milliseconds: delay-seconds or an HTTP date; undefined when absent or unreadable. */
function retryAfterMs(header: string | undefined): number | undefined {
  if (header === undefined || header.trim() === '') return undefined
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000
  const at = Date.parse(header)
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined
}

/**
 * Thrown by a handler when a named downstream (a CRM, an email API) failed: the failure counts
 * against that downstream's circuit breaker instead of the handler's route, so that every route
 * calling it stops together while it is down. Retried like any other failure.
 *
 * @example
 * try { await crm.upsert(contact) } catch (err) { throw new DownstreamError('crm', err) }
 */
export class DownstreamError extends Error {
  /** The downstream's name: its breaker's route. */
  readonly downstream: string

  constructor(downstream: string, cause?: unknown) {
    super(`${downstream} failed${cause instanceof Error ? `: ${cause.message}` : ''}`, { cause })
    this.name = 'DownstreamError'
    this.downstream = downstream
  }
}

/** The downstream a handler named through {@link DownstreamError} (by name), else undefined. */
export function downstreamOf(err: unknown): string | undefined {
  if (!(err instanceof Error) || err.name !== 'DownstreamError') return undefined
  const name = (err as { downstream?: unknown }).downstream
  return typeof name === 'string' && name.length > 0 ? name : undefined
}

/** Names of errors that mean "retrying cannot help": the event goes to the dead-letter queue. */
const PERMANENT_NAMES = new Set(['PermanentError', 'ZodError', 'PayloadValidationError', 'UnrecoverableError'])

/** True when `err` should dead-letter its event at once instead of being retried. */
export function isPermanentError(err: unknown): boolean {
  return err instanceof Error && PERMANENT_NAMES.has(err.name)
}

/** The wait a handler asked for through {@link RetryAfterError} (by name), else undefined. */
export function retryAfterMsOf(err: unknown): number | undefined {
  if (!(err instanceof Error) || err.name !== 'RetryAfterError') return undefined
  const ms = (err as { retryAfterMs?: unknown }).retryAfterMs
  return typeof ms === 'number' && Number.isFinite(ms) && ms >= 0 ? ms : undefined
}

const STATUS_BY_CODE: Record<string, number> = {
  'hookline.signature_invalid': 401,
  'hookline.payload_malformed': 400,
  'hookline.unknown_provider': 404,
  'hookline.route_not_found': 404,
  'hookline.method_not_allowed': 405,
  'hookline.payload_too_large': 413,
  'hookline.unsupported_media_type': 415,
  'hookline.store_unavailable': 503,
  'hookline.event_not_found': 404,
  'hookline.issue_not_found': 404,
  'hookline.reconcile_run_not_found': 404,
  'hookline.event_state_conflict': 409,
  'hookline.event_key_ambiguous': 409,
  'hookline.request_invalid': 400,
  'hookline.pause_not_found': 404,
  'hookline.admin_unauthorized': 401,
  'hookline.admin_forbidden': 403,
  'hookline.reconcile_busy': 409,
  'hookline.reconcile_unsupported': 400,
}

/** HTTP status for an error raised while receiving a webhook or serving the admin API; anything unexpected is a 500. */
export function httpStatusFor(err: unknown): number {
  return err instanceof HooklineError ? (STATUS_BY_CODE[err.code] ?? 500) : 500
}

/** The stable code of an error for metrics labels and JSON bodies (`hookline.internal` if untyped). */
export function errorCodeOf(err: unknown): string {
  return err instanceof HooklineError ? err.code : 'hookline.internal'
}

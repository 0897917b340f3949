/**
 * @module The one reply path of the ingress: what every HTTP binding sends for a delivery, accepted
 * or refused (status mapping, `Retry-After`, error JSON), so that a binding only reads the body and
 * writes this reply.
 */
import { errorCodeOf, httpStatusFor } from '../errors.ts'

/** An HTTP reply, ready to write: a binding sends `status`, `headers` and `body` as they are. */
export interface WebhookReply {
  status: number
  /** Lower-case header names; `content-type` and `content-length` whenever there is a body. */
  headers: Record<string, string>
  /** JSON text, or undefined for an empty body. */
  body: string | undefined
}

/** Options of a reply to a refused delivery. */
export interface ReplyOptions {
  /**
   * Seconds a provider is told to wait (`Retry-After`) when the inbox database is unavailable.
   * @defaultValue 10
   */
  retryAfterSeconds?: number
}

/** The defaults of {@link ReplyOptions}. */
export const DEFAULT_REPLY_OPTIONS: Required<ReplyOptions> = { retryAfterSeconds: 10 }

/**
 * A JSON reply (no body when `body` is undefined).
 *
 * @example
 * jsonReply(200, { id, duplicate: false })
 */
export function jsonReply(status: number, body: unknown): WebhookReply {
  if (body === undefined) return { status, headers: {}, body: undefined }
  const json = JSON.stringify(body)
  return { status, headers: { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(json)) }, body: json }
}

/**
 * The reply to a refused delivery: the status of the error's code, `{"error":{"code","message"}}`
 * (never more than the error's own message, and `internal error` for anything untyped), and
 * `Retry-After` on a 503.
 *
 * @example
 * errorReply(new SignatureError('no valid signature')) // { status: 401, … }
 */
export function errorReply(err: unknown, options: ReplyOptions = {}): WebhookReply {
  const status = httpStatusFor(err)
  const message = status === 500 ? 'internal error' : (err as Error).message
  const reply = jsonReply(status, { error: { code: errorCodeOf(err), message } })
  if (status === 503) reply.headers['retry-after'] = String(options.retryAfterSeconds ?? DEFAULT_REPLY_OPTIONS.retryAfterSeconds)
  return reply
}

/**
 * @module The Standard Webhooks adapter: verifies `webhook-signature` (or Svix's `svix-signature`)
 * with the `standardwebhooks` library (one `Webhook` per secret, for rotation), judges the
 * timestamp against the request's arrival time in both directions, and extracts the event identity
 * with configurable extractors.
 */
import {
  ConfigError,
  HooklineError,
  MalformedPayloadError,
  type ParsedEvent,
  type ProviderAdapter,
  type RawRequest,
  SignatureError,
} from '@hookline/core'
import { Webhook, WebhookVerificationError } from 'standardwebhooks'

/** A verified Standard Webhooks message: its signed identity and time, and the decoded body. */
export interface VerifiedStandardWebhook {
  /** `webhook-id`: the sender's message id, kept across retries of the same message. */
  id: string
  /** `webhook-timestamp`: when the sender signed this attempt. */
  signedAt: Date
  /** The body, parsed as JSON. */
  payload: unknown
}

/** Reads one field of the event identity from a verified message. */
export type StandardWebhookExtractor<T> = (message: VerifiedStandardWebhook) => T

/** Options of {@link standardWebhooksAdapter}. */
export interface StandardWebhooksAdapterOptions {
  /**
   * URL segment (`/webhooks/<name>`) and inbox `provider` value; give each sender its own name.
   * @defaultValue 'standard'
   */
  name?: string
  /** Signing secrets (`whsec_` + base64); several during a rotation, tried in order. */
  secrets: readonly string[]
  /**
   * Largest accepted age of `webhook-timestamp`, and distance into the future, in seconds. At most
   * 300: the library also enforces its own fixed 5-minute window, so a larger value could not hold.
   * @defaultValue 300
   */
  toleranceSeconds?: number
  /**
   * Largest accepted body.
   * @defaultValue 1 MiB
   */
  maxBodyBytes?: number
  /**
   * The dedupe key.
   * @defaultValue the `webhook-id` header
   */
  eventKey?: StandardWebhookExtractor<string>
  /**
   * The event type.
   * @defaultValue the payload's `type` (a message without one is refused)
   */
  type?: StandardWebhookExtractor<string>
  /**
   * The tenant the event belongs to.
   * @defaultValue null
   */
  tenant?: StandardWebhookExtractor<string | null>
  /**
   * The entity the event is about (events of one entity are processed in order).
   * @defaultValue the payload's `data.id` when it is a string or a number, else null
   */
  entity?: StandardWebhookExtractor<string | null>
  /**
   * When the event happened.
   * @defaultValue the payload's `timestamp` (ISO 8601, or a number of Unix seconds or
   * milliseconds), else `webhook-timestamp`
   */
  occurredAt?: StandardWebhookExtractor<Date | null>
}

/** The library refuses anything older or newer than this, whatever we configure. */
const LIBRARY_TOLERANCE_SECONDS = 5 * 60

/** The extractors, all set. */
type Extractors = Required<Pick<StandardWebhooksAdapterOptions, 'eventKey' | 'type' | 'tenant' | 'entity' | 'occurredAt'>>

/** The payload's object, or an empty one: the recommended fields are each read on their own. */
function fieldsOf(message: VerifiedStandardWebhook): { type?: unknown; timestamp?: unknown; data?: unknown } {
  const { payload } = message
  return typeof payload === 'object' && payload !== null && !Array.isArray(payload) ? payload : {}
}

/**
 * The payload's `timestamp`: the spec's ISO 8601 text, or a number as some senders send it (Unix
 * seconds, or milliseconds when it is that large); undefined when it is neither.
 */
function payloadTime(timestamp: unknown): Date | undefined {
  const ms = typeof timestamp === 'string' ? Date.parse(timestamp)
    : typeof timestamp === 'number' && Number.isFinite(timestamp) ? (timestamp < 1e11 ? timestamp * 1000 : timestamp)
    : Number.NaN
  return Number.isNaN(ms) ? undefined : new Date(ms)
}

const defaults: Extractors = {
  eventKey: (m) => m.id,
  type: (m) => {
    const { type } = fieldsOf(m)
    if (typeof type !== 'string' || type.length === 0) throw new MalformedPayloadError('payload has no non-empty string "type"')
    return type
  },
  tenant: () => null,
  entity: (m) => {
    const { data } = fieldsOf(m)
    const id = typeof data === 'object' && data !== null ? (data as { id?: unknown }).id : undefined
    if (typeof id === 'number' && Number.isFinite(id)) return String(id)
    return typeof id === 'string' && id.length > 0 ? id : null
  },
  occurredAt: (m) => payloadTime(fieldsOf(m).timestamp) ?? m.signedAt,
}

/**
 * Creates an adapter for a sender that follows the Standard Webhooks spec
 * (https://www.standardwebhooks.com): headers `webhook-id`, `webhook-timestamp`, `webhook-signature`
 * (`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, space-separated when several) — or their
 * `svix-*` twins, as senders built on Svix (Clerk, Resend, …) send them. Each of the payload's
 * recommended fields is read on its own: an odd `timestamp` or `data` drops only itself.
 *
 * @example
 * const resend = standardWebhooksAdapter({
 *   name: 'resend',
 *   secrets: env.RESEND_WEBHOOK_SECRET.split(','),
 *   entity: (m) => (m.payload as { data?: { email_id?: string } }).data?.email_id ?? null,
 * })
 */
export function standardWebhooksAdapter(options: StandardWebhooksAdapterOptions): ProviderAdapter<VerifiedStandardWebhook> {
  const name = options.name ?? 'standard'
  if (!/^[a-z0-9-]+$/.test(name)) throw new ConfigError(`standardWebhooksAdapter name "${name}" must match /^[a-z0-9-]+$/`)
  const tolerance = options.toleranceSeconds ?? LIBRARY_TOLERANCE_SECONDS
  if (!(tolerance > 0 && tolerance <= LIBRARY_TOLERANCE_SECONDS)) {
    throw new ConfigError(`standardWebhooksAdapter toleranceSeconds must be in (0, ${LIBRARY_TOLERANCE_SECONDS}]: the standardwebhooks library enforces a fixed 5-minute window`)
  }
  const webhooks = options.secrets.flatMap((secret, i) => {
    if (secret.length === 0) return []
    try {
      return [new Webhook(secret)]
    } catch (err) {
      // Never echo the secret itself: it ends up in start-up logs.
      throw new ConfigError(`standardWebhooksAdapter secret #${i + 1} is not "whsec_" + base64`, { cause: err })
    }
  })
  if (webhooks.length === 0) throw new ConfigError('standardWebhooksAdapter needs at least one secret')
  const extract: Extractors = {
    eventKey: options.eventKey ?? defaults.eventKey,
    type: options.type ?? defaults.type,
    tenant: options.tenant ?? defaults.tenant,
    entity: options.entity ?? defaults.entity,
    occurredAt: options.occurredAt ?? defaults.occurredAt,
  }

  return {
    name,
    maxBodyBytes: options.maxBodyBytes ?? 1024 * 1024,
    async verify(req: RawRequest): Promise<VerifiedStandardWebhook> {
      // The spec's `webhook-*` headers, or the `svix-*` ones of senders built on Svix (its
      // reference implementation): one set or the other, never mixed.
      const prefix = req.headers['webhook-id'] === undefined && req.headers['svix-id'] !== undefined ? 'svix' : 'webhook'
      const id = req.headers[`${prefix}-id`]
      const timestamp = req.headers[`${prefix}-timestamp`]
      const signature = req.headers[`${prefix}-signature`]
      if (!id || !timestamp || !signature) throw new SignatureError('missing webhook-id, webhook-timestamp or webhook-signature header (or their svix-* twins)')
      if (!/^\d{1,12}$/.test(timestamp)) throw new SignatureError('webhook-timestamp is not Unix seconds')
      // Judged against the arrival time (the injectable clock), in both directions; the library
      // repeats the check against the wall clock, which agrees while verify runs on arrival.
      const signedAt = new Date(Number(timestamp) * 1000)
      const skewSeconds = (req.receivedAt.getTime() - signedAt.getTime()) / 1000
      if (skewSeconds > tolerance) throw new SignatureError('webhook-timestamp is older than the tolerance')
      if (-skewSeconds > tolerance) throw new SignatureError('webhook-timestamp is in the future beyond the tolerance')

      const headers = { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signature }
      let lastError: unknown
      const matched = webhooks.some((webhook) => {
        try {
          // jsonParse off: a bad body must be told apart from a bad signature (400, not 401).
          webhook.verify(req.body, headers, { jsonParse: false })
          return true
        } catch (err) {
          // Only the library's own error means "not signed with this secret".
          if (!(err instanceof WebhookVerificationError)) throw err
          lastError = err
          return false
        }
      })
      if (!matched) throw new SignatureError(`Standard Webhooks signature verification failed: ${(lastError as Error).message}`, { cause: lastError })
      return { id, signedAt, payload: decodeJson(req.body) }
    },
    parse(message: VerifiedStandardWebhook): ParsedEvent {
      const eventKey = field('eventKey', () => extract.eventKey(message))
      const type = field('type', () => extract.type(message))
      if (typeof eventKey !== 'string' || eventKey.length === 0) throw new MalformedPayloadError('event key is not a non-empty string')
      if (typeof type !== 'string' || type.length === 0) throw new MalformedPayloadError('event type is not a non-empty string')
      const occurredAt = field('occurredAt', () => extract.occurredAt(message))
      return {
        kind: 'event',
        eventKey,
        type,
        tenant: field('tenant', () => extract.tenant(message)),
        entityKey: field('entity', () => extract.entity(message)),
        occurredAt: occurredAt === null || Number.isNaN(occurredAt.getTime()) ? null : occurredAt,
        payload: message.payload,
        payloadIsBody: true,
      }
    },
  }
}

/** The body as JSON; Standard Webhooks payloads are JSON objects (or arrays). */
function decodeJson(body: Buffer): unknown {
  let payload: unknown
  try {
    payload = JSON.parse(body.toString('utf8'))
  } catch (err) {
    throw new MalformedPayloadError('signed body is not valid JSON', { cause: err })
  }
  if (typeof payload !== 'object' || payload === null) throw new MalformedPayloadError('signed body is not a JSON object or array')
  return payload
}

/**
 * Runs one extractor. Whatever it throws is about a body it cannot read, so it becomes a 400
 * (MalformedPayloadError) rather than a 500 that the sender would retry for days.
 */
function field<T>(what: string, read: () => T): T {
  try {
    return read()
  } catch (err) {
    if (err instanceof HooklineError) throw err
    throw new MalformedPayloadError(`cannot read the event ${what}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`, { cause: err })
  }
}

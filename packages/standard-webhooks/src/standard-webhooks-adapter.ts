/**
 * @module The Standard Webhooks adapter: verifies `webhook-signature` with the `standardwebhooks`
 * library (one `Webhook` per secret, for rotation), judges `webhook-timestamp` against the request's
 * arrival time in both directions, and extracts the event identity with configurable extractors.
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
import { z } from 'zod'

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
   * @defaultValue the payload's `type`
   */
  type?: StandardWebhookExtractor<string>
  /**
   * The tenant the event belongs to.
   * @defaultValue null
   */
  tenant?: StandardWebhookExtractor<string | null>
  /**
   * The entity the event is about (events of one entity are processed in order).
   * @defaultValue the payload's `data.id` when it is a string, else null
   */
  entity?: StandardWebhookExtractor<string | null>
  /**
   * When the event happened.
   * @defaultValue the payload's ISO 8601 `timestamp`, else `webhook-timestamp`
   */
  occurredAt?: StandardWebhookExtractor<Date | null>
}

/** The library refuses anything older or newer than this, whatever we configure. */
const LIBRARY_TOLERANCE_SECONDS = 5 * 60

/** The extractors, all set. */
type Extractors = Required<Pick<StandardWebhooksAdapterOptions, 'eventKey' | 'type' | 'tenant' | 'entity' | 'occurredAt'>>

/**
 * The spec's recommended payload shape, `{ type, timestamp, data }`; every field optional here.
 * Stripped, not `.loose()`: only these fields are read, so no other key of `data` is copied.
 */
const recommendedPayload = z.object({
  type: z.string().min(1).optional(),
  timestamp: z.string().optional(),
  data: z.object({ id: z.unknown() }).optional(),
})

/** Each message's recommended fields, checked once however many default extractors read them. */
const recommendedOf = new WeakMap<VerifiedStandardWebhook, z.infer<typeof recommendedPayload>>()

function recommended(message: VerifiedStandardWebhook): z.infer<typeof recommendedPayload> {
  let fields = recommendedOf.get(message)
  if (fields === undefined) {
    const result = recommendedPayload.safeParse(message.payload)
    fields = result.success ? result.data : {}
    recommendedOf.set(message, fields)
  }
  return fields
}

const defaults: Extractors = {
  eventKey: (m) => m.id,
  type: (m) => {
    const { type } = recommended(m)
    if (type === undefined) throw new MalformedPayloadError('payload has no non-empty string "type"')
    return type
  },
  tenant: () => null,
  entity: (m) => {
    const id = recommended(m).data?.id
    return typeof id === 'string' && id.length > 0 ? id : null
  },
  occurredAt: (m) => {
    const { timestamp } = recommended(m)
    const at = timestamp === undefined ? Number.NaN : Date.parse(timestamp)
    return Number.isNaN(at) ? m.signedAt : new Date(at)
  },
}

/**
 * Creates an adapter for a sender that follows the Standard Webhooks spec
 * (https://www.standardwebhooks.com): headers `webhook-id`, `webhook-timestamp`, `webhook-signature`
 * (`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, space-separated when several).
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
      const id = req.headers['webhook-id']
      const timestamp = req.headers['webhook-timestamp']
      const signature = req.headers['webhook-signature']
      if (!id || !timestamp || !signature) throw new SignatureError('missing webhook-id, webhook-timestamp or webhook-signature header')
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

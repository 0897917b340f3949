/**
 * @module `fetchHandler`: the web-standard binding of Hookline's ingress (`Request` → `Response`, for
 * Hono, Next.js route handlers, Bun and Deno). Like the Express binding it only reads the raw body
 * (the provider's size limit, enforced while streaming) and the headers, and sends core's reply.
 */
import { Duplex } from 'node:stream'
import zlib from 'node:zlib'
import { MalformedPayloadError, MethodNotAllowedError, PayloadTooLargeError, RouteNotFoundError, UnsupportedMediaTypeError } from '../errors.ts'
import type { Hookline } from '../hookline.ts'
import { DEFAULT_REPLY_OPTIONS, errorReply, type ReplyOptions, type WebhookReply } from './webhook-reply.ts'

/** Options of {@link fetchHandler}: those of core's reply, and a fixed provider. */
export interface FetchHandlerOptions extends ReplyOptions {
  /**
   * The provider of every request, for a route whose path does not end in `/webhooks/<provider>`
   * (e.g. `app.post('/stripe-events', …)`); unset, it is read from the path.
   * @defaultValue undefined
   */
  provider?: string
}

/** The defaults of {@link FetchHandlerOptions}. */
export const DEFAULT_FETCH_HANDLER_OPTIONS: Readonly<Required<ReplyOptions> & { provider: string | undefined }> = { ...DEFAULT_REPLY_OPTIONS, provider: undefined }

/**
 * The handler that answers `POST …/webhooks/<provider>`. A fetch handler does not know where it is
 * mounted, so it matches the path's *last* `/webhooks/<provider>` pair (any prefix, any case, an
 * optional trailing slash, a percent-encoded name), as the Express router does below its mount
 * path; given `provider`, every request is that provider's. It has no next handler to pass other
 * requests to: another path gets a JSON 404, another method a 405. Give it the request before
 * anything reads its body: the signature is verified over the raw bytes.
 *
 * @example
 * // Hono (the same function is Bun's and Deno's `fetch`)
 * const webhooks = fetchHandler(hookline)
 * app.all('/webhooks/:provider', (c) => webhooks(c.req.raw))
 *
 * @example
 * // Next.js: app/webhooks/[provider]/route.ts
 * export const runtime = 'nodejs' // Postgres and Redis clients need Node
 * export const POST = fetchHandler(hookline)
 */
export function fetchHandler(hookline: Hookline, options: FetchHandlerOptions = {}): (request: Request) => Promise<Response> {
  const { provider: fixedProvider, ...replyOptions } = { ...DEFAULT_FETCH_HANDLER_OPTIONS, ...options }
  return async function hooklineFetchHandler(request) {
    const receivedAt = new Date()
    const provider = fixedProvider ?? webhookProviderOf(request.url)
    // Not a delivery of any provider: refused, but not counted as a rejection.
    if (provider === undefined) return send(errorReply(new RouteNotFoundError('webhooks are delivered to POST /webhooks/<provider>')))
    if (request.method !== 'POST') {
      const reply = errorReply(new MethodNotAllowedError('webhooks are delivered with POST'))
      reply.headers.allow = 'POST'
      return send(reply)
    }
    const adapter = hookline.adapters.get(provider)
    // An unknown provider: core refuses it (404) without a body to read.
    if (!adapter) return send(await hookline.handleWebhook(provider, { body: NO_BODY, headers: {}, receivedAt }, replyOptions))
    let body: Buffer
    try {
      body = await readBody(request, adapter.maxBodyBytes)
    } catch (err) {
      return send(hookline.rejectWebhook(provider, err, replyOptions))
    }
    return send(await hookline.handleWebhook(provider, { body, headers: Object.fromEntries(request.headers), receivedAt }, replyOptions))
  }
}

/** The path's last `/webhooks/<provider>`, optionally with a trailing slash. */
const WEBHOOK_PATH = /\/webhooks\/([^/]+)\/?$/i
const NO_BODY = Buffer.alloc(0)

/** The content encodings body-parser inflates, with its decoders (but zstd: Node 20 has none). */
const DECODERS = new Map<string, () => Duplex>([['gzip', () => zlib.createGunzip()], ['deflate', () => zlib.createInflate()], ['br', () => zlib.createBrotliDecompress()]])

/** The percent-decoded provider of a webhook URL (as Express decodes a route parameter), else undefined. */
function webhookProviderOf(url: string): string | undefined {
  const segment = WEBHOOK_PATH.exec(new URL(url).pathname)?.[1]
  if (segment === undefined) return undefined
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment // not a provider's name either: answered as an unknown provider
  }
}

/**
 * The decoded body, refused with a typed error as body-parser refuses it: an unknown encoding
 * (415), more than `limit` bytes declared or read (413: reading stops there, so a body is never
 * held beyond the limit), a stream or decoder failure (400).
 */
async function readBody(request: Request, limit: number): Promise<Buffer> {
  const encoding = (request.headers.get('content-encoding') ?? 'identity').toLowerCase()
  const decoder = DECODERS.get(encoding)
  if (!decoder && encoding !== 'identity') throw new UnsupportedMediaTypeError('unsupported content encoding')
  // The declared length bounds the body only when it is not encoded (as in body-parser).
  if (!decoder && Number(request.headers.get('content-length')) > limit) throw new PayloadTooLargeError(limit)
  if (!request.body) return NO_BODY
  const reader = (decoder ? request.body.pipeThrough(Duplex.toWeb(decoder())) : request.body).getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  try {
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      size += read.value.byteLength
      if (size > limit) throw new PayloadTooLargeError(limit)
      chunks.push(read.value)
    }
  } catch (err) {
    void reader.cancel().catch(() => {}) // the rest of the body is not wanted
    throw err instanceof PayloadTooLargeError ? err : new MalformedPayloadError('the request body could not be read', { cause: err })
  }
  return Buffer.concat(chunks, size)
}

function send(reply: WebhookReply): Response {
  return new Response(reply.body ?? null, { status: reply.status, headers: reply.headers })
}

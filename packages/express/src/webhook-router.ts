/**
 * @module `webhookRouter`: the Express binding of Hookline's ingress. It only reads the raw body
 * (per-provider size limit), reads headers and sends the response; verification, parsing and the
 * durable insert happen in `@hookline/core`. It matches its one path itself, as Express's router
 * would: Express's route and parameter machinery cost a quarter of a bare Express request's CPU.
 */
import { MalformedPayloadError, type Hookline, PayloadTooLargeError, type ReplyOptions, type WebhookReply, UnsupportedMediaTypeError } from '@hookline/core'
import express, { type Request, type RequestHandler, type Response } from 'express'

/** Options of {@link webhookRouter}: those of core's reply (`retryAfterSeconds`, default 10). */
export type WebhookRouterOptions = ReplyOptions

/**
 * The middleware that answers `POST /webhooks/:provider` (matched as Express matches routes:
 * case-insensitive, with an optional trailing slash, below its mount path) and passes every other
 * request on. Mount it before any JSON body parser of the application: the signature is verified
 * over the raw bytes.
 *
 * @example
 * const app = express()
 * app.use(webhookRouter(hookline))   // first
 * app.use(express.json())            // the application's own routes after it
 */
export function webhookRouter(hookline: Hookline, options: WebhookRouterOptions = {}): RequestHandler {
  const rawParsers = new Map<string, RequestHandler>()
  for (const [name, adapter] of hookline.adapters) {
    // Any content type: the adapter decides what it accepts, after checking the signature.
    rawParsers.set(name, express.raw({ type: () => true, limit: adapter.maxBodyBytes }))
  }
  const noBody = Buffer.alloc(0)

  // A plain middleware, not an Express Router: a nested router's own dispatch doubled what the
  // application's router spends on each delivery.
  return (req, res, next) => {
    const provider = req.method === 'POST' ? webhookProviderOf(req.url) : undefined
    if (provider === undefined) return next()
    const receivedAt = new Date()
    const parse = rawParsers.get(provider)
    // An unknown provider: core refuses it (404) without a body to read.
    if (!parse) return void hookline.handleWebhook(provider, { body: noBody, headers: {}, receivedAt }, options).then((reply) => send(res, reply))
    parse(req, res, (err?: unknown) => {
      if (err !== undefined) return send(res, hookline.rejectWebhook(provider, bodyError(err, hookline.adapters.get(provider)!.maxBodyBytes), options))
      const body = Buffer.isBuffer(req.body) ? req.body : noBody
      void hookline.handleWebhook(provider, { body, headers: flattenHeaders(req.headers), receivedAt }, options).then((reply) => send(res, reply))
    })
  }
}

/** `/webhooks/<provider>`, optionally with a trailing slash and a query. */
const WEBHOOK_PATH = /^\/webhooks\/([^/?]+)\/?(?:\?|$)/i

/**
 * The provider of a `req.url` (relative to the middleware's mount path) that is a webhook path,
 * percent-decoded as Express decodes a route parameter; undefined for any other path.
 */
function webhookProviderOf(url: string): string | undefined {
  const segment = WEBHOOK_PATH.exec(url)?.[1]
  if (segment === undefined) return undefined
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment // not a provider's name either: answered as an unknown provider
  }
}

/**
 * Writes core's reply straight to Node's response: `res.json` would also hash the body for an
 * ETag (useless on a POST's reply to a provider) — ~2 % of the ingress's CPU per request.
 */
function send(res: Response, reply: WebhookReply): void {
  res.writeHead(reply.status, reply.headers)
  res.end(reply.body)
}

/** Maps a body-parser failure to Hookline's typed errors. */
function bodyError(err: unknown, limit: number): Error {
  const type = (err as { type?: string }).type
  if (type === 'entity.too.large') return new PayloadTooLargeError(limit, { cause: err })
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
    return new UnsupportedMediaTypeError('unsupported content encoding', { cause: err })
  }
  return new MalformedPayloadError('the request body could not be read', { cause: err })
}

function flattenHeaders(headers: Request['headers']): Record<string, string | undefined> {
  const flat: Record<string, string | undefined> = {}
  for (const [name, value] of Object.entries(headers)) flat[name] = Array.isArray(value) ? value.join(', ') : value
  return flat
}

/**
 * @module `adminRouter`: the Express binding of Hookline's admin API under `/admin/api`. It checks
 * the bearer token, validates input with core's schemas and sends JSON; listing, replay, ignore
 * and audit happen in `@hookline/core`.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import {
  AdminUnauthorizedError,
  ConfigError,
  errorReply,
  eventListSchema,
  type Hookline,
  ignoreSchema,
  parseInput,
  ReconcileRunNotFoundError,
  reconcileRequestSchema,
  reconcileRunsQuerySchema,
  replayManySchema,
  replayOneSchema,
  statsRequestSchema,
} from '@hookline/core/internal'
import express, { type NextFunction, type Request, type RequestHandler, type Response, Router } from 'express'

/** Options of {@link adminRouter}. */
export interface AdminRouterOptions {
  /** The bearer token every request must present (`Authorization: Bearer <token>`). */
  token: string
  /**
   * Largest JSON body accepted, in bytes.
   * @defaultValue 65536
   */
  maxBodyBytes?: number
}

/** The DLQ listing takes the event filters except `status` (always `dead`). */
const dlqListSchema = eventListSchema.omit({ status: true })

/** Header naming the person or tool acting, written to the audit log (the token itself is shared). */
export const ACTOR_HEADER = 'x-hookline-actor'

/**
 * Mounts the admin API: `GET /admin/api/events`, `GET /admin/api/events/:id`,
 * `POST /admin/api/events/:id/replay`, `POST /admin/api/events/:id/ignore`, `POST /admin/api/replay`,
 * `GET /admin/api/dlq`, `GET /admin/api/stats`, `POST /admin/api/reconcile` (202 `{ runId }`),
 * `GET /admin/api/reconcile/runs` and `GET /admin/api/reconcile/runs/:id`. Every request needs the bearer token (401
 * otherwise). Mount it only when a token is configured: without one the admin API does not exist.
 *
 * @example
 * if (process.env.HOOKLINE_ADMIN_TOKEN) app.use(adminRouter(hookline, { token: process.env.HOOKLINE_ADMIN_TOKEN }))
 */
export function adminRouter(hookline: Hookline, options: AdminRouterOptions): Router {
  if (options.token.length === 0) throw new ConfigError('adminRouter needs a non-empty token')
  const router = Router()
  const api = Router()
  router.use('/admin/api', api)

  // On every answer, refusals included: nothing cached, and JSON is never sniffed as HTML.
  api.use((_req, res, next) => {
    res.set({ 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' })
    next()
  })
  api.use(requireToken(options.token))
  api.use(express.json({ limit: options.maxBodyBytes ?? 64 * 1024 }))

  api.get('/events', handle(async (req) => hookline.events.list(parseInput(eventListSchema, req.query))))

  api.get('/events/:id', handle(async (req) => hookline.events.get(String(req.params.id))))

  api.post('/events/:id/replay', handle(async (req) => {
    const { force, note } = parseInput(replayOneSchema, req.body)
    return hookline.replayer.replayEvent(String(req.params.id), { force }, { actor: actorOf(req), note })
  }))

  api.post('/events/:id/ignore', handle(async (req) => {
    const { note } = parseInput(ignoreSchema, req.body)
    return hookline.replayer.ignore(String(req.params.id), { actor: actorOf(req), note })
  }))

  api.post('/replay', handle(async (req) => {
    const { note, ...request } = parseInput(replayManySchema, req.body)
    return hookline.replayer.replay(request, { actor: actorOf(req), note })
  }))

  api.get('/dlq', handle(async (req) => {
    const request = parseInput(dlqListSchema, req.query)
    const [page, depth] = await Promise.all([hookline.events.list({ ...request, status: ['dead'] }), hookline.inbox.countDead()])
    return { ...page, depth }
  }))

  api.get('/stats', handle(async (req) => hookline.events.stats(parseInput(statsRequestSchema, req.query))))

  api.post('/reconcile', (req, res, next) => {
    const request = parseInput(reconcileRequestSchema, req.body)
    hookline
      .reconcile({ ...request, trigger: `api:${actorOf(req)}` })
      .then((runs) => res.status(202).json({ runId: runs[0]!.id, runIds: runs.map((r) => r.id) }), next)
  })

  api.get('/reconcile/runs', handle(async (req) => ({ runs: await hookline.reconcileRuns(parseInput(reconcileRunsQuerySchema, req.query)) })))

  api.get('/reconcile/runs/:id', handle(async (req) => {
    const run = await hookline.reconciler.get(String(req.params.id))
    if (!run) throw new ReconcileRunNotFoundError(String(req.params.id))
    return run
  }))

  api.use((req, res) => {
    res.status(404).json({ error: { code: 'hookline.admin_route_unknown', message: `no admin route ${req.method} ${req.path}` } })
  })
  api.use(sendError(hookline))
  return router
}

/** Rejects requests without the token, comparing SHA-256 digests in constant time (no length leak). */
function requireToken(token: string): RequestHandler {
  const expected = digest(token)
  return (req, _res, next) => {
    const match = /^Bearer\s+(.+)$/i.exec(req.get('authorization') ?? '')
    const given = match?.[1]?.trim()
    if (given !== undefined && timingSafeEqual(digest(given), expected)) return next()
    next(new AdminUnauthorizedError())
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest()
}

/** The declared actor: printable, at most 200 characters; `admin` when absent. */
function actorOf(req: Request): string {
  const declared = (req.get(ACTOR_HEADER) ?? '').replace(/[^\x20-\x7e]/g, '').trim().slice(0, 200)
  return declared.length > 0 ? declared : 'admin'
}

/** Runs `fn` and sends its result as JSON; errors go to {@link sendError}. */
function handle(fn: (req: Request) => Promise<unknown>): RequestHandler {
  return (req, res, next) => {
    // A body that cannot be written (res.json throwing) is answered as an error too, never left unhandled.
    fn(req).then((body) => void res.json(body)).catch(next)
  }
}

function sendError(hookline: Hookline) {
  return (err: unknown, _req: Request, res: Response, _next: NextFunction): void => {
    const parseFailure = (err as { type?: string }).type
    // body-parser's own errors (bad JSON, too large) carry their status; they are the caller's fault.
    if (parseFailure !== undefined && typeof (err as { status?: unknown }).status === 'number') {
      const status = (err as { status: number }).status
      res.status(status).json({ error: { code: status === 413 ? 'hookline.payload_too_large' : 'hookline.request_invalid', message: (err as Error).message } })
      return
    }
    const reply = errorReply(err)
    if (reply.status === 401) reply.headers['www-authenticate'] = 'Bearer realm="hookline-admin"'
    if (reply.status === 500) hookline.logger.error({ err: (err as Error)?.message }, 'admin API error')
    res.writeHead(reply.status, reply.headers).end(reply.body)
  }
}

/**
 * @module `adminRouter`: the Express binding of Hookline's admin API under `/admin/api`. It checks
 * the bearer token, validates input with core's schemas and sends JSON; listing, replay, ignore
 * and audit happen in `@hookline/core`.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import {
  AdminForbiddenError,
  AdminUnauthorizedError,
  ConfigError,
  errorReply,
  eventListSchema,
  eventStreamSchema,
  type Hookline,
  ignoreSchema,
  issueEventsSchema,
  issueListSchema,
  issueReplaySchema,
  issueResolveSchema,
  parseInput,
  pauseRequestSchema,
  ReconcileRunNotFoundError,
  Redaction,
  pruneRequestSchema,
  reconcileRequestSchema,
  reconcileRunsQuerySchema,
  replayManySchema,
  replayOneSchema,
  statsRequestSchema,
} from '@hookline/core/internal'
import express, { type NextFunction, type Request, type RequestHandler, type Response, Router } from 'express'

/** What a token may do: `viewer` reads; `operator` also replays, ignores, reconciles, pauses and resumes. */
export type AdminRole = 'viewer' | 'operator'

/** A named admin token: its name is the audit log's actor for what it does. */
export interface AdminToken {
  name: string
  role: AdminRole
  /** The bearer secret (`Authorization: Bearer <token>`). */
  token: string
}

/** Options of {@link adminRouter}: at least one of `token` and `tokens`. */
export interface AdminRouterOptions {
  /**
   * One shared operator token. Its requests name their actor themselves (`X-Hookline-Actor`).
   * @defaultValue none
   */
  token?: string | undefined
  /**
   * Named tokens with a role each, for a team.
   * @defaultValue none
   */
  tokens?: readonly AdminToken[] | undefined
  /**
   * Payload fields shown as `"[redacted]"` in every answer that carries a payload or headers (an
   * event's detail, and so the console's and the CLI's views of it): dot paths such as
   * `data.object.email`, `*` for any one key or index (`data.object.*.card`), and `header:<name>`
   * for a kept request header. Handlers and the stored rows are unaffected.
   * @defaultValue none
   */
  redact?: readonly string[] | undefined
  /**
   * Largest JSON body accepted, in bytes.
   * @defaultValue 65536
   */
  maxBodyBytes?: number
}

/** Defaults of {@link AdminRouterOptions}. */
export const DEFAULT_ADMIN_ROUTER_OPTIONS = { redact: [], maxBodyBytes: 64 * 1024 } as const satisfies Partial<AdminRouterOptions>

/** The DLQ listing takes the event filters except `status` (always `dead`). */
const dlqListSchema = eventListSchema.omit({ status: true })

/**
 * Header naming the person or tool acting, written to the audit log: the actor with the shared
 * token, a detail after the name with a named one.
 */
export const ACTOR_HEADER = 'x-hookline-actor'

/**
 * Mounts the admin API: `GET /admin/api/whoami`, `GET /admin/api/events`, `GET /admin/api/events/stream` (server-sent
 * events, see {@link streamEvents}), `GET /admin/api/events/:id`,
 * `POST /admin/api/events/:id/replay`, `POST /admin/api/events/:id/ignore`, `POST /admin/api/replay`,
 * `POST /admin/api/pause`, `POST /admin/api/resume`, `GET /admin/api/pauses`, `GET /admin/api/breakers`,
 * `GET /admin/api/dlq`, `GET /admin/api/stats`, `POST /admin/api/reconcile` (202 `{ runId }`),
 * `GET /admin/api/reconcile/runs`, `GET /admin/api/reconcile/runs/:id`, `GET /admin/api/issues`,
 * `GET /admin/api/issues/:fp`, `POST /admin/api/issues/:fp/replay` and `POST /admin/api/issues/:fp/resolve`. Every request needs one
 * of the tokens (401 otherwise), and every write an operator's (403). Mount it only when a token is
 * configured: without one the admin API does not exist.
 *
 * @example
 * app.use(adminRouter(hookline, { tokens: [{ name: 'ana', role: 'operator', token: process.env.ANA_TOKEN! }] }))
 */
export function adminRouter(hookline: Hookline, options: AdminRouterOptions): Router {
  const tokens = adminTokensOf(options)
  const redaction = new Redaction(options.redact ?? DEFAULT_ADMIN_ROUTER_OPTIONS.redact)
  const router = Router()
  const api = Router()
  router.use('/admin/api', api)

  // On every answer, refusals included: nothing cached, and JSON is never sniffed as HTML.
  api.use((_req, res, next) => {
    res.set({ 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' })
    next()
  })
  api.use(authenticate(tokens))
  // Every write is an operator's.
  api.post('*path', (_req, res, next) => next(res.locals.adminToken.role === 'operator' ? undefined : new AdminForbiddenError('this token may only read (role viewer)')))
  api.use(express.json({ limit: options.maxBodyBytes ?? DEFAULT_ADMIN_ROUTER_OPTIONS.maxBodyBytes }))

  // Who the token is, so a client (the console) can hide what the role may not do.
  api.get('/whoami', handle(async (_req, res) => {
    const { name, role } = res.locals.adminToken as Authenticated
    return { name: name ?? null, role }
  }))

  api.get('/events', handle(async (req) => hookline.events.list(parseInput(eventListSchema, req.query))))

  // Before `/events/:id`, which would take `stream` for an event key.
  api.get('/events/stream', streamEvents(hookline, redaction))

  // `:id` is an inbox id or the provider's own event key; `?provider=` picks one when several match.
  const eventId = (req: Request) => {
    const provider = typeof req.query.provider === 'string' && req.query.provider ? [req.query.provider] : [...hookline.adapters.keys(), hookline.outboxProvider]
    return hookline.events.resolve(String(req.params.id), provider)
  }

  api.get('/events/:id', handle(async (req) => {
    const detail = await hookline.events.get(await eventId(req), { redaction })
    const held = await hookline.heldReason(detail)
    return held ? { ...detail, held } : detail
  }))

  api.post('/events/:id/replay', handle(async (req, res) => {
    const { force, note } = parseInput(replayOneSchema, req.body)
    return hookline.replayer.replayEvent(await eventId(req), { force }, { actor: actorOf(req, res), note })
  }))

  api.post('/events/:id/ignore', handle(async (req, res) => {
    const { note } = parseInput(ignoreSchema, req.body)
    return hookline.replayer.ignore(await eventId(req), { actor: actorOf(req, res), note })
  }))

  api.post('/replay', handle(async (req, res) => {
    const { note, ...request } = parseInput(replayManySchema, req.body)
    return hookline.replayer.replay(request, { actor: actorOf(req, res), note })
  }))

  api.post('/pause', handle(async (req, res) => {
    const { note, ...scope } = parseInput(pauseRequestSchema, req.body)
    return { pause: await hookline.pause(scope, { actor: actorOf(req, res), note }) }
  }))

  api.post('/resume', handle(async (req, res) => {
    const { note, ...scope } = parseInput(pauseRequestSchema, req.body)
    return hookline.resume(scope, { actor: actorOf(req, res), note })
  }))

  api.get('/pauses', handle(async () => ({ pauses: await hookline.pauses() })))

  api.get('/breakers', handle(async () => ({ breakers: await hookline.breakers() })))

  api.get('/dlq', handle(async (req) => {
    const request = parseInput(dlqListSchema, req.query)
    const [page, depth] = await Promise.all([hookline.events.list({ ...request, status: ['dead'] }), hookline.inbox.countDead()])
    return { ...page, depth }
  }))

  api.get('/stats', handle(async (req) => hookline.events.stats(parseInput(statsRequestSchema, req.query))))

  api.post('/reconcile', (req, res, next) => {
    const request = parseInput(reconcileRequestSchema, req.body)
    hookline
      .reconcile({ ...request, trigger: `api:${actorOf(req, res)}` })
      .then((runs) => res.status(202).json({ runId: runs[0]!.id, runIds: runs.map((r) => r.id) }), next)
  })

  api.post('/prune', handle(async (req, res) => {
    const { dryRun } = parseInput(pruneRequestSchema, req.body ?? {})
    return hookline.prune({ dryRun, actor: actorOf(req, res) })
  }))

  // `reconcilable`: the providers configured for reconciliation (empty: *Reconcile now* cannot work).
  api.get('/reconcile/runs', handle(async (req) => ({
    runs: await hookline.reconcileRuns(parseInput(reconcileRunsQuerySchema, req.query)),
    reconcilable: [...hookline.adapters.values()].filter((a) => a.reconcile).map((a) => a.name),
  })))

  api.get('/reconcile/runs/:id', handle(async (req) => {
    const run = await hookline.reconciler.get(String(req.params.id))
    if (!run) throw new ReconcileRunNotFoundError(String(req.params.id))
    return run
  }))

  api.get('/issues', handle(async (req) => hookline.issues.list(parseInput(issueListSchema, req.query))))

  api.get('/issues/:fp', handle(async (req) => hookline.issues.get(String(req.params.fp), parseInput(issueEventsSchema, req.query))))

  api.post('/issues/:fp/replay', handle(async (req, res) => {
    const { note, ...request } = parseInput(issueReplaySchema, req.body)
    return hookline.issues.replay(String(req.params.fp), request, { actor: actorOf(req, res), note })
  }))

  api.post('/issues/:fp/resolve', handle(async (req, res) => {
    const { note } = parseInput(issueResolveSchema, req.body)
    return hookline.issues.resolve(String(req.params.fp), { actor: actorOf(req, res), note })
  }))

  api.use((req, res) => {
    res.status(404).json({ error: { code: 'hookline.admin_route_unknown', message: `no admin route ${req.method} ${req.path}` } })
  })
  api.use(sendError(hookline))
  return router
}

/** Time between the comment lines that keep an idle stream's connection (and any proxy on its way) open. */
const HEARTBEAT_MS = 15_000

/**
 * `GET /admin/api/events/stream?after=<cursor>&<the listing's filters>`: the events as they are
 * stored, as server-sent events. First `event: ready` with the start position as its `id`, then
 * one message per event: `id:` its cursor, `data:` the event as JSON (see `FeedEvent`: the summary,
 * kept headers, and the body base64-encoded). A `Last-Event-ID` header (an `EventSource`
 * reconnecting) wins over `after`. Any token may read it, a viewer's too, since both may read an
 * event's detail: the same redaction applies, and an event with a redacted field comes with its
 * redacted payload instead of its raw body.
 */
function streamEvents(hookline: Hookline, redaction: Redaction): RequestHandler {
  return (req, res, next) => {
    const request = parseInput(eventStreamSchema, req.query)
    const lastEventId = req.get('last-event-id')?.trim()
    if (lastEventId) request.after = lastEventId
    const stopped = new AbortController()
    res.on('close', () => stopped.abort())
    const items = hookline.feed.follow(request, { signal: stopped.signal, redaction })
    const write = (text: string): Promise<void> | undefined => (res.write(text) ? undefined : new Promise((resolve) => res.once('drain', resolve).once('close', resolve)))
    let heartbeat: NodeJS.Timeout | undefined
    const run = async () => {
      // The start position first: a bad cursor is still answered with a 400.
      const start = await items.next()
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' })
      heartbeat = setInterval(() => res.write(': heartbeat\n\n'), HEARTBEAT_MS)
      if (!start.done && start.value.kind === 'start') await write(`retry: 1000\nevent: ready\nid: ${start.value.cursor}\ndata: ${JSON.stringify({ cursor: start.value.cursor })}\n\n`)
      for await (const item of items) {
        if (item.kind === 'event') await write(`id: ${item.cursor}\ndata: ${JSON.stringify(item.event)}\n\n`)
      }
    }
    run()
      .catch((err: unknown) => {
        if (!res.headersSent) return next(err)
        hookline.logger.warn({ err: (err as Error)?.message }, 'event stream ended by an error')
      })
      .finally(() => {
        clearInterval(heartbeat)
        if (res.headersSent && !res.writableEnded) res.end()
      })
  }
}

/** An accepted token as the routes see it (`res.locals.adminToken`); `name` is undefined for the shared token. */
interface Authenticated {
  name: string | undefined
  role: AdminRole
  digest: Buffer
}

/** The tokens of `options`, checked: non-empty, distinct names and secrets, known roles. */
function adminTokensOf(options: AdminRouterOptions): Authenticated[] {
  const tokens: Authenticated[] = []
  if (options.token !== undefined) {
    if (options.token.length === 0) throw new ConfigError('adminRouter needs a non-empty token')
    tokens.push({ name: undefined, role: 'operator', digest: digest(options.token) })
  }
  for (const { name, role, token } of options.tokens ?? []) {
    if (!/^[\w.@-]{1,100}$/.test(name)) throw new ConfigError(`admin token name "${name}" must be 1 to 100 letters, digits, or . _ @ -`)
    if (role !== 'viewer' && role !== 'operator') throw new ConfigError(`admin token "${name}" has role "${String(role)}": expected viewer or operator`)
    if (token.length < 16) throw new ConfigError(`admin token "${name}" is shorter than 16 characters`)
    if (tokens.some((t) => t.name === name)) throw new ConfigError(`two admin tokens are named "${name}"`)
    tokens.push({ name, role, digest: digest(token) })
  }
  if (tokens.length === 0) throw new ConfigError('adminRouter needs a token or tokens')
  if (new Set(tokens.map((t) => t.digest.toString('hex'))).size !== tokens.length) throw new ConfigError('two admin tokens have the same secret')
  return tokens
}

/**
 * Accepts a request whose bearer token is one of `tokens`, comparing SHA-256 digests in constant
 * time (no length leak) against every token, so that which one matched takes no longer to find.
 */
function authenticate(tokens: readonly Authenticated[]): RequestHandler {
  return (req, res, next) => {
    const match = /^Bearer\s+(.+)$/i.exec(req.get('authorization') ?? '')
    const given = match?.[1]?.trim()
    if (given === undefined) return next(new AdminUnauthorizedError())
    const presented = digest(given)
    let found: Authenticated | undefined
    for (const token of tokens) if (timingSafeEqual(presented, token.digest) && !found) found = token
    if (!found) return next(new AdminUnauthorizedError())
    res.locals.adminToken = found
    next()
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest()
}

/**
 * The audit log's actor: a named token's name, with the declared actor (printable, at most 200
 * characters) as a detail after it; with the shared token, the declared actor, `admin` when absent.
 */
function actorOf(req: Request, res: Response): string {
  const declared = (req.get(ACTOR_HEADER) ?? '').replace(/[^\x20-\x7e]/g, '').trim().slice(0, 200)
  const { name } = res.locals.adminToken as Authenticated
  if (name === undefined) return declared.length > 0 ? declared : 'admin'
  return declared.length > 0 && declared !== name ? `${name} (${declared})` : name
}

/** Runs `fn` and sends its result as JSON; errors go to {@link sendError}. */
function handle(fn: (req: Request, res: Response) => Promise<unknown>): RequestHandler {
  return (req, res, next) => {
    // A body that cannot be written (res.json throwing) is answered as an error too, never left unhandled.
    fn(req, res).then((body) => void res.json(body)).catch(next)
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

/**
 * @module The app: its Express routes and Prisma client, with Hookline mounted in front. Hookline
 * shares the app's database and runs the handlers in the app's own Prisma transactions.
 */
import { createHookline, type Hookline } from '@hookline/core'
import { adminRouter, opsRouter, webhookRouter } from '@hookline/express'
import { stripeAdapter } from '@hookline/stripe'
import express, { type ErrorRequestHandler, type Express } from 'express'
import { createPrisma, Prisma, type PrismaClient } from './db.js'
import type { Env } from './env.js'
import { handlers } from './handlers.js'

/** The running parts of the app. */
export interface SaasApp {
  app: Express
  hookline: Hookline
  prisma: PrismaClient
  /** Stops the worker and closes Hookline's and the app's connections. */
  close(): Promise<void>
}

/** The app's own routes (JSON): invoices it issues, customers it knows. */
function apiRoutes(prisma: PrismaClient): express.Router {
  const api = express.Router()
  api.post('/invoices', async (req, res) => {
    const { stripeId, customerStripeId, amountDue } = req.body as { stripeId?: unknown; customerStripeId?: unknown; amountDue?: unknown }
    if (typeof stripeId !== 'string' || typeof customerStripeId !== 'string' || !Number.isInteger(amountDue)) {
      res.status(400).json({ error: 'stripeId, customerStripeId (strings) and amountDue (integer) are required' })
      return
    }
    res.status(201).json(await prisma.invoice.create({ data: { stripeId, customerStripeId, amountDue: amountDue as number } }))
  })
  api.get('/invoices/:stripeId', async (req, res) => {
    const invoice = await prisma.invoice.findUnique({ where: { stripeId: req.params.stripeId } })
    if (invoice) res.json(invoice)
    else res.status(404).json({ error: 'no such invoice' })
  })
  api.get('/customers/:stripeId', async (req, res) => {
    const [customer, invoices] = await Promise.all([
      prisma.customer.findUnique({ where: { stripeId: req.params.stripeId } }),
      prisma.invoice.findMany({ where: { customerStripeId: req.params.stripeId }, orderBy: { id: 'asc' } }),
    ])
    if (customer) res.json({ ...customer, invoices })
    else res.status(404).json({ error: 'no such customer' })
  })
  return api
}

const jsonErrors: ErrorRequestHandler = (err, _req, res, _next) => {
  if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') {
    res.status(409).json({ error: 'already exists' })
    return
  }
  console.error(err)
  res.status(500).json({ error: 'internal error' })
}

/**
 * Builds the app and its Hookline instance (call `hookline.startWorker()` to process events).
 *
 * @example
 * const { app, hookline } = createSaasApp(loadEnv())
 * app.listen(3000)
 * await hookline.startWorker()
 */
export function createSaasApp(env: Env): SaasApp {
  const prisma = createPrisma(env.DATABASE_URL)
  const hookline = createHookline<Prisma.TransactionClient>({
    databaseUrl: env.DATABASE_URL,
    redisUrl: env.REDIS_URL,
    adapters: [stripeAdapter({ secrets: env.STRIPE_WEBHOOK_SECRET })],
    // Handlers run inside prisma.$transaction; Hookline writes the processed mark in it too.
    prisma,
    handlers,
    retry: { maxAttempts: env.HOOKLINE_MAX_ATTEMPTS, backoffMs: env.HOOKLINE_BACKOFF_MS },
    queue: { prefix: env.HOOKLINE_QUEUE_PREFIX },
    onDeadLetter: (event, error) => console.error(`dead letter ${event.provider}:${event.type} ${event.id}: ${error.message}`),
    poolMax: 10,
  })

  const app = express()
  // Hookline first: it verifies each signature over the raw bytes, before any body parser.
  app.use(webhookRouter(hookline)) // POST /webhooks/stripe
  app.use(opsRouter(hookline)) // /healthz, /readyz, /metrics
  if (env.HOOKLINE_ADMIN_TOKEN) app.use(adminRouter(hookline, { token: env.HOOKLINE_ADMIN_TOKEN })) // /admin/api
  // The app's own routes after it, with the usual JSON parser.
  app.use(express.json())
  app.use('/api', apiRoutes(prisma))
  app.use(jsonErrors)

  return {
    app,
    hookline,
    prisma,
    async close() {
      await hookline.close()
      await prisma.$disconnect()
    },
  }
}

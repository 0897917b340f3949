/**
 * @module A measured HTTP target, one per process: `bare` (Express `express.raw`, 200), `verify`
 * (plus `stripe.webhooks.constructEvent`), `naive` (the hand-written baseline pipeline) or
 * `hookline` (the real ingress, with the worker in the same process when `worker` is set, as
 * `HOOKLINE_WORKER_PROCESSES=0` runs it).
 */
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createHookline, type HooklineOptions } from '@hookline/core'
import { opsRouter, webhookRouter } from '@hookline/express'
import { githubAdapter } from '@hookline/github'
import { slackAdapter } from '@hookline/slack'
import { stripeAdapter } from '@hookline/stripe'
import { GITHUB_TEST_SECRET, SLACK_TEST_SECRET, STRIPE_TEST_SECRET } from '@hookline/testkit/secrets'
import express, { type Express } from 'express'
import { pino } from 'pino'
import Stripe from 'stripe'
import { boundWorkerHeapGrowth } from '../../apps/hookline/src/worker-heap.ts'
import { childConfig, serveParent } from '../support/serve-parent.ts'
import { naivePipeline } from './naive-pipeline.ts'

/** Configuration of an ingest target. */
export interface IngestServerConfig {
  mode: 'bare' | 'verify' | 'naive' | 'hookline'
  databaseUrl: string
  redisUrl: string
  queuePrefix: string
  /** Start Hookline's worker in this process (no-op handler). */
  worker?: boolean
  /** Extra Hookline options (e.g. ingest or worker tuning). */
  hookline?: Partial<Pick<HooklineOptions, 'worker' | 'sweeper' | 'poolMax'>> & Record<string, unknown>
}

const LIMIT = 1024 * 1024

function bareApp(): Express {
  const app = express()
  app.post('/webhooks/:provider', express.raw({ type: () => true, limit: LIMIT }), (_req, res) => {
    res.status(200).json({ ok: true })
  })
  return app
}

function verifyApp(): Express {
  const app = express()
  app.post('/webhooks/:provider', express.raw({ type: () => true, limit: LIMIT }), (req, res) => {
    try {
      const event = Stripe.webhooks.constructEvent(req.body as Buffer, String(req.headers['stripe-signature']), STRIPE_TEST_SECRET)
      res.status(200).json({ id: event.id })
    } catch {
      res.status(401).json({ error: 'bad signature' })
    }
  })
  return app
}

async function start(config: IngestServerConfig): Promise<{ app: Express; close(): Promise<void> }> {
  switch (config.mode) {
    case 'bare':
      return { app: bareApp(), close: async () => {} }
    case 'verify':
      return { app: verifyApp(), close: async () => {} }
    case 'naive':
      return naivePipeline({ ...config, stripeSecret: STRIPE_TEST_SECRET, poolMax: 20 })
    case 'hookline': {
      const hookline = createHookline({
        databaseUrl: config.databaseUrl,
        redisUrl: config.redisUrl,
        adapters: [
          stripeAdapter({ secrets: [STRIPE_TEST_SECRET] }),
          githubAdapter({ secrets: [GITHUB_TEST_SECRET] }),
          slackAdapter({ secrets: [SLACK_TEST_SECRET] }),
        ],
        handlers: { '*': async () => {} },
        logger: pino({ level: 'warn' }),
        queue: { prefix: config.queuePrefix },
        // Nothing is lost in a benchmark: keep the sweeper from re-enqueueing what is merely queued.
        sweeper: { graceMs: 600_000 },
        ...config.hookline,
      })
      const app = express()
      app.use(webhookRouter(hookline))
      app.use(opsRouter(hookline))
      if (config.worker) {
        // As `hookline start` runs the worker in the ingress's process (HOOKLINE_WORKER_PROCESSES=0).
        boundWorkerHeapGrowth()
        await hookline.startWorker()
      }
      return { app, close: () => hookline.close() }
    }
  }
}

const config = childConfig<IngestServerConfig>()
const target = await start(config)
const server: Server = await new Promise((resolve) => {
  const s = target.app.listen(0, '127.0.0.1', () => resolve(s))
})
// Keep-alive well past autocannon's idle gaps between rounds.
server.keepAliveTimeout = 60_000
serveParent({ port: (server.address() as AddressInfo).port }, {}, async () => {
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  await target.close()
})

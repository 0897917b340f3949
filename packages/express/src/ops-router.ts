/**
 * @module `opsRouter`: `/healthz` (the process is up), `/readyz` (Postgres and Redis answer) and
 * `/metrics` (Prometheus text format, the service's worker processes included).
 */
import type { Hookline } from '@hookline/core'
import { Router } from 'express'

/**
 * Mounts the health, readiness and metrics endpoints.
 *
 * @example
 * app.use(opsRouter(hookline))
 */
export function opsRouter(hookline: Hookline): Router {
  const router = Router()
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' })
  })
  router.get('/readyz', async (_req, res) => {
    const checks = await hookline.checkReady()
    res.status(checks.postgres && checks.redis ? 200 : 503).json(checks)
  })
  router.get('/metrics', async (_req, res) => {
    res.type(hookline.metrics.registry.contentType).send(await hookline.metrics.render())
  })
  return router
}

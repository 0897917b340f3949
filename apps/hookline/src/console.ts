/**
 * @module `consoleRouter`: serves the support console (static HTML, CSS and ES modules from
 * `apps/hookline/console`, no build step) under `/admin`, with headers that keep shown payloads inert.
 */
import { fileURLToPath } from 'node:url'
import express, { Router } from 'express'

/** The console's files. */
export const CONSOLE_DIR = fileURLToPath(new URL('../console', import.meta.url))

/**
 * Mounts the console at `/admin`. The pages themselves hold no data: every number and payload
 * comes from `/admin/api` with the token the user signs in with. The content security policy
 * allows only the console's own scripts, so a payload that slipped through escaping still could
 * not run.
 *
 * @example
 * app.use(adminRouter(hookline, { token }))
 * app.use(consoleRouter())
 */
export function consoleRouter(): Router {
  const router = Router()
  router.use('/admin', (_req, res, next) => {
    res.set({
      'Content-Security-Policy':
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-cache',
    })
    next()
  })
  // `/admin` itself is the page (its assets are linked by absolute path, and routes live in the hash).
  router.get('/admin', (_req, res) => res.sendFile('index.html', { root: CONSOLE_DIR }))
  router.use('/admin', express.static(CONSOLE_DIR, { index: 'index.html', redirect: false }))
  return router
}

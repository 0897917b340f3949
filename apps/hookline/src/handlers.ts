/**
 * @module Loads the application's handlers from the ES module named by `HOOKLINE_HANDLERS`.
 */
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { ConfigError, type HandlerMap } from '@hookline/core'

const TYPESCRIPT = /\.[cm]?ts$/

/**
 * Imports `path` (relative to the working directory; JavaScript, or TypeScript through tsx) and
 * returns its default export, a map from `provider:type`, `provider:*` or `*` to handler
 * functions. Without a path, no handler runs and events are only recorded as processed.
 *
 * @example
 * // handlers.mjs
 * export default { 'stripe:invoice.paid': async (event, { tx }) => { … } }
 */
export async function loadHandlers(path: string | undefined): Promise<HandlerMap> {
  if (!path) return {}
  const url = pathToFileURL(resolve(process.cwd(), path)).href
  let mod: { default?: unknown }
  try {
    // A TypeScript module is compiled on the fly by tsx, loaded only then (it costs memory).
    mod = TYPESCRIPT.test(path) ? await (await import('tsx/esm/api')).tsImport(url, import.meta.url) : await import(url)
  } catch (err) {
    throw new ConfigError(`HOOKLINE_HANDLERS: cannot import ${path}: ${(err as Error).message}`, { cause: err })
  }
  const map = mod.default
  if (typeof map !== 'object' || map === null) {
    throw new ConfigError(`HOOKLINE_HANDLERS: ${path} must export default an object of handlers`)
  }
  for (const [key, handler] of Object.entries(map)) {
    if (typeof handler !== 'function') throw new ConfigError(`HOOKLINE_HANDLERS: "${key}" in ${path} is not a function`)
  }
  return map as HandlerMap
}

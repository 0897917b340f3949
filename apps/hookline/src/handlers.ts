/**
 * @module Loads the application's handlers from the ES module named by `HOOKLINE_HANDLERS`.
 */
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { ConfigError, type HandlerMap } from '@hookline/core'

/**
 * Imports `path` (relative to the working directory) and returns its default export, a map from
 * `provider:type`, `provider:*` or `*` to handler functions. Without a path, no handler runs and
 * events are only recorded as processed.
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
    mod = (await import(url)) as { default?: unknown }
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

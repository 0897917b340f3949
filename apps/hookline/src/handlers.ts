/**
 * @module Loads the application's handlers from the ES module named by `HOOKLINE_HANDLERS`.
 */
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { type AlertHook, checkHandlers, ConfigError, type HandlerMap } from '@hookline/core'

const TYPESCRIPT = /\.[cm]?ts$/

/** What a `HOOKLINE_HANDLERS` module gives the service. */
export interface HandlerModule {
  handlers: HandlerMap
  /** Its `onAlert` export: called with every alert, like a sink. */
  onAlert?: AlertHook
}

/**
 * Imports `path` (relative to the working directory; JavaScript, or TypeScript through tsx): its
 * default export is a map from `provider:type`, `provider:*` or `*` to handler functions (or
 * `{ handle, downstream }` declarations), and it may export `onAlert`. Without a path, no handler
 * runs and events are only recorded as processed.
 *
 * @example
 * // handlers.mjs
 * export default {
 *   'stripe:invoice.paid': async (event, { tx }) => { … },
 *   'stripe:customer.updated': { downstream: 'crm', handle: async (event) => { … } },
 * }
 * export const onAlert = async (alert) => { … }
 */
export async function loadHandlers(path: string | undefined): Promise<HandlerModule> {
  if (!path) return { handlers: {} }
  const url = pathToFileURL(resolve(process.cwd(), path)).href
  let mod: { default?: unknown; onAlert?: unknown }
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
  try {
    checkHandlers(map as Record<string, unknown>, ` in ${path}`)
  } catch (err) {
    throw new ConfigError(`HOOKLINE_HANDLERS: ${(err as Error).message}`, { cause: err })
  }
  if (mod.onAlert !== undefined && typeof mod.onAlert !== 'function') throw new ConfigError(`HOOKLINE_HANDLERS: onAlert in ${path} is not a function`)
  return { handlers: map as HandlerMap, ...(mod.onAlert ? { onAlert: mod.onAlert as AlertHook } : {}) }
}

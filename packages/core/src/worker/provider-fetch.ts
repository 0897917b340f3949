/**
 * @module What `ctx.fetch()` and `ctx.fetchCurrent()` do: ask the adapter of the event's provider,
 * which holds the API client, so that handlers never build provider clients of their own.
 */
import type { ProviderAdapter } from '../adapter.ts'
import { PermanentError } from '../errors.ts'
import type { HandlerContext, HooklineEvent } from '../handler.ts'

/** The enabled adapters by provider name, as the worker looks them up for a handler's context. */
export type AdapterLookup = ReadonlyMap<string, Pick<ProviderAdapter<unknown>, 'fetchEvent' | 'fetchCurrent'>>

/**
 * The `fetch` and `fetchCurrent` of one event's handler context. An event without an adapter (an
 * outbox event, a provider since disabled) or with an adapter that fetches nothing is its own whole
 * event; re-reading its object is impossible, which no retry changes: a `PermanentError`.
 *
 * @example
 * const ctx = { tx, attempt, …, ...providerFetches(adapters, event) }
 */
export function providerFetches(adapters: AdapterLookup, event: HooklineEvent): Pick<HandlerContext, 'fetch' | 'fetchCurrent'> {
  const adapter = adapters.get(event.provider)
  return {
    fetch: async () => (adapter?.fetchEvent ? adapter.fetchEvent(event) : event.payload),
    fetchCurrent: async () => {
      if (!adapter?.fetchCurrent) {
        throw new PermanentError(`ctx.fetchCurrent(): the "${event.provider}" adapter cannot re-read an event's object from its API`)
      }
      return adapter.fetchCurrent(event)
    },
  }
}

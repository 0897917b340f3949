/**
 * @module The events page: filter by provider, tenant, status, type, time range and event key;
 * newest first, paged by cursor; refreshed every 5 s; ticked rows replayed or ignored together.
 */
import { api } from '../lib/api.js'
import { h, replace } from '../lib/dom.js'
import { selectableList } from '../lib/event-list.js'
import { FILTER_NAMES, filterForm, pickFilter } from '../lib/filters.js'
import { autoRefresh } from '../lib/refresh.js'

/**
 * @example
 * await eventsPage(main, new URLSearchParams('tenant=acct_1'))
 * @param {HTMLElement} main
 * @param {URLSearchParams} query
 */
export async function eventsPage(main, query) {
  const load = () => api('GET', '/events', { query: { ...pickFilter(query, [...FILTER_NAMES, 'status', 'cursor']), limit: '50' } })
  const list = selectableList('/events', query, load)
  await list.refresh()
  replace(main, h('h1', {}, 'Events'), filterForm('/events', query, { status: true }), list.actions, list.slot)
  autoRefresh(list.slot, list.refresh)
}

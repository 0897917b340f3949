/**
 * @module The events page: filter by provider, tenant, status, type, time range and event key;
 * newest first, paged by cursor.
 */
import { api } from '../lib/api.js'
import { h, replace } from '../lib/dom.js'
import { eventTable, pager } from '../lib/event-table.js'
import { FILTER_NAMES, filterForm, pickFilter } from '../lib/filters.js'

/**
 * @example
 * await eventsPage(main, new URLSearchParams('tenant=acct_1'))
 * @param {HTMLElement} main
 * @param {URLSearchParams} query
 */
export async function eventsPage(main, query) {
  const page = await api('GET', '/events', { query: { ...pickFilter(query, [...FILTER_NAMES, 'status', 'cursor']), limit: '50' } })
  replace(main, h('h1', {}, 'Events'), filterForm('/events', query, { status: true }), eventTable(page.events), pager('/events', query, page.nextCursor))
}

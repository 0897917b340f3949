/**
 * @module The events table (events and dead-letter pages) with cursor paging links.
 */
import { badge, h, when } from './dom.js'

/**
 * A table of events; each row links to the event page.
 *
 * @example
 * main.append(eventTable(page.events))
 * @param {Array<Record<string, any>>} events
 */
export function eventTable(events) {
  if (events.length === 0) return h('p', { class: 'empty' }, 'No events match.')
  return h(
    'table',
    { class: 'events' },
    h('thead', {}, h('tr', {}, ['Received', 'Provider', 'Tenant', 'Type', 'Status', 'Attempts', 'Deliveries', 'Last error'].map((t) => h('th', {}, t)))),
    h(
      'tbody',
      {},
      events.map((e) =>
        h(
          'tr',
          { 'data-id': e.id },
          h('td', {}, h('a', { href: `#/events/${encodeURIComponent(e.id)}`, title: e.id }, when(e.receivedAt))),
          h('td', {}, e.provider),
          h('td', { class: 'mono' }, e.tenant ?? '–'),
          h('td', { class: 'mono' }, e.type),
          h('td', {}, badge(e.status)),
          h('td', { class: 'num' }, e.attempts),
          h('td', { class: 'num' }, e.deliveries),
          h('td', { class: 'error-cell' }, e.lastError ?? ''),
        ),
      ),
    ),
  )
}

/**
 * "First page" / "Next page" links keeping the filter.
 * @param {string} path
 * @param {URLSearchParams} query
 * @param {string | null} nextCursor
 */
export function pager(path, query, nextCursor) {
  const base = new URLSearchParams(query)
  base.delete('cursor')
  const first = query.has('cursor') ? h('a', { href: `#${path}?${base}` }, '« First page') : null
  let next = null
  if (nextCursor) {
    const params = new URLSearchParams(base)
    params.set('cursor', nextCursor)
    next = h('a', { href: `#${path}?${params}` }, 'Next page »')
  }
  return h('nav', { class: 'pager' }, first, next)
}

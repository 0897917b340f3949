/**
 * @module The events table (events, dead-letter and issue pages), its row selection, and cursor
 * paging links.
 */
import { asCards, badge, copyButton, h, timeOf } from './dom.js'

/**
 * A table of events; each row links to the event page and shows the event key with a copy
 * button. With `selection`, each row has a checkbox whose state lives in that set (so a refresh
 * that rebuilds the table keeps it).
 *
 * @example
 * main.append(eventTable(page.events))
 * @param {Array<Record<string, any>>} events
 * @param {{ selection?: Set<string>, onSelect?: () => void }} [options]
 */
export function eventTable(events, options = {}) {
  if (events.length === 0) return h('p', { class: 'empty' }, 'No events match.')
  const { selection, onSelect } = options
  const tick = (/** @type {string[]} */ ids, /** @type {boolean} */ on) => {
    for (const id of ids) on ? selection?.add(id) : selection?.delete(id)
    onSelect?.()
  }
  const all = selection
    ? h('input', {
        type: 'checkbox',
        'aria-label': 'Select all shown',
        checked: events.every((e) => selection.has(e.id)),
        onchange: (/** @type {Event} */ e) => {
          const on = /** @type {HTMLInputElement} */ (e.currentTarget).checked
          tick(events.map((ev) => ev.id), on)
          for (const box of /** @type {HTMLElement} */ (e.currentTarget).closest('table')?.querySelectorAll('tbody input[type=checkbox]') ?? []) /** @type {HTMLInputElement} */ (box).checked = on
        },
      })
    : null
  const headings = ['Received', 'Key', 'Provider', 'Tenant', 'Type', 'Status', 'Attempts', 'Deliveries', 'Last error']
  return asCards(h(
    'table',
    { class: 'events' },
    h('thead', {}, h('tr', {}, selection ? h('th', { class: 'select' }, all) : null, headings.map((t) => h('th', {}, t)))),
    h(
      'tbody',
      {},
      events.map((e) =>
        h(
          'tr',
          { 'data-id': e.id },
          selection
            ? h('td', { class: 'select' }, h('input', {
                type: 'checkbox',
                'aria-label': `Select ${e.eventKey}`,
                checked: selection.has(e.id),
                onchange: (/** @type {Event} */ ev) => tick([e.id], /** @type {HTMLInputElement} */ (ev.currentTarget).checked),
              }))
            : null,
          h('td', {}, h('a', { href: `#/events/${encodeURIComponent(e.id)}`, title: e.id }, timeOf(e.receivedAt))),
          h('td', { class: 'mono key' }, h('span', { class: 'key-text' }, e.eventKey), copyButton(e.eventKey, 'Copy event key')),
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
  ))
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

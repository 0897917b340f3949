/**
 * @module The event filter form shared by the events and dead-letter pages: its fields mirror the
 * admin API's query parameters, and submitting it moves the filter into the URL (bookmarkable).
 */
import { h } from './dom.js'

/** Every event status, for the status selector. */
export const STATUSES = ['received', 'processing', 'processed', 'skipped_stale', 'failed', 'dead', 'ignored']

const FIELDS = [
  { name: 'provider', label: 'Provider', placeholder: 'stripe' },
  { name: 'tenant', label: 'Tenant', placeholder: 'acct_…' },
  { name: 'type', label: 'Type', placeholder: 'invoice.* ' },
  { name: 'since', label: 'Since', placeholder: '24h or 2026-11-20' },
  { name: 'until', label: 'Until', placeholder: 'ISO date or 1h' },
  { name: 'key', label: 'Event key', placeholder: 'part of the key, or an id' },
]

/** Names of the filter parameters (without `status`). */
export const FILTER_NAMES = FIELDS.map((f) => f.name)

/**
 * The filter form. On submit, navigates to `#<path>?<filter>`.
 *
 * @example
 * main.append(filterForm('/events', query, { status: true }))
 * @param {string} path
 * @param {URLSearchParams} query
 * @param {{ status: boolean }} options
 */
export function filterForm(path, query, options) {
  const inputs = FIELDS.map((f) =>
    h('label', {}, f.label, h('input', { name: f.name, type: 'text', value: query.get(f.name) ?? '', placeholder: f.placeholder, autocomplete: 'off' })),
  )
  const status = options.status
    ? h(
        'label',
        {},
        'Status',
        h('select', { name: 'status' }, h('option', { value: '' }, 'any'), STATUSES.map((s) => h('option', { value: s, selected: query.get('status') === s }, s))),
      )
    : null
  return h(
    'form',
    {
      class: 'filters',
      role: 'search',
      onsubmit: (/** @type {SubmitEvent} */ e) => {
        e.preventDefault()
        const data = new FormData(/** @type {HTMLFormElement} */ (e.currentTarget))
        const params = new URLSearchParams()
        for (const [key, value] of data) if (String(value).trim()) params.set(key, String(value).trim())
        location.hash = `#${path}${params.size > 0 ? `?${params}` : ''}`
      },
    },
    inputs,
    status,
    h('button', { type: 'submit' }, 'Apply filters'),
  )
}

/**
 * The filter parameters present in `query`, as an object for the API.
 * @param {URLSearchParams} query
 * @param {string[]} names
 */
export function pickFilter(query, names) {
  /** @type {Record<string, string>} */
  const filter = {}
  for (const name of names) {
    const value = query.get(name)
    if (value) filter[name] = value
  }
  return filter
}

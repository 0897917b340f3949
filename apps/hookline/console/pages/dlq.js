/**
 * @module The dead-letter page: dead events by filter (refreshed every 5 s, rows selectable), and
 * a bulk replay of the filter that is only offered after a dry run has counted what it would replay.
 */
import { api, canAct } from '../lib/api.js'
import { h, notice, replace } from '../lib/dom.js'
import { selectableList } from '../lib/event-list.js'
import { FILTER_NAMES, filterForm, pickFilter } from '../lib/filters.js'
import { autoRefresh } from '../lib/refresh.js'

/**
 * @example
 * await dlqPage(main, new URLSearchParams('provider=stripe'))
 * @param {HTMLElement} main
 * @param {URLSearchParams} query
 */
export async function dlqPage(main, query) {
  const filter = pickFilter(query, FILTER_NAMES)
  const total = h('span', { class: 'muted', id: 'dlq-total' })
  const load = () => api('GET', '/dlq', { query: { ...filter, ...pickFilter(query, ['cursor']), limit: '50' } })
  const list = selectableList('/dlq', query, load, (page) => (total.textContent = `(${page.depth} in total)`))
  await list.refresh()
  replace(
    main,
    h('h1', {}, 'Dead letters ', total),
    filterForm('/dlq', query, { status: false }),
    canAct() ? bulkReplay(filter, list.refresh) : null,
    list.actions,
    list.slot,
  )
  autoRefresh(list.slot, list.refresh)
}

/**
 * Count first (dry run), then replay exactly that filter.
 * @param {Record<string, string>} filter
 * @param {() => Promise<void>} reload
 */
function bulkReplay(filter, reload) {
  const body = { ...filter, status: ['dead'] }
  const result = h('div', { class: 'bulk-result' })
  const note = h('input', { type: 'text', id: 'bulk-note', maxlength: 2000, placeholder: 'why (for the audit log)' })
  const replayButton = h('button', { type: 'button', disabled: true }, 'Replay')
  const countButton = h('button', { type: 'button' }, 'Count matching (dry run)')

  countButton.addEventListener('click', async () => {
    try {
      const dry = await api('POST', '/replay', { body: { ...body, dryRun: true } })
      replace(result, notice('info', `${dry.replayable} dead event(s) match the applied filter.`))
      replayButton.textContent = `Replay ${dry.replayable} event(s)`
      replayButton.disabled = dry.replayable === 0
    } catch (err) {
      replace(result, notice('error', err instanceof Error ? err.message : String(err)))
    }
  })
  replayButton.addEventListener('click', async () => {
    replayButton.disabled = true
    const text = /** @type {HTMLInputElement} */ (note).value.trim()
    try {
      const done = await api('POST', '/replay', { body: { ...body, ...(text ? { note: text } : {}) } })
      replace(result, notice('info', `Replayed ${done.enqueued} event(s); they are released gradually at the service's replay rate. `, h('button', { type: 'button', onclick: () => void reload() }, 'Refresh list')))
      replayButton.textContent = 'Replay'
    } catch (err) {
      replace(result, notice('error', err instanceof Error ? err.message : String(err)))
    }
  })
  return h('section', { class: 'bulk' }, h('h2', {}, 'Bulk replay'), h('label', { class: 'inline' }, 'Note ', note), countButton, replayButton, result)
}

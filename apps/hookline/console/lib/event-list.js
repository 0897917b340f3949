/**
 * @module A refreshable list of events (events and dead-letter pages): the table and its pager,
 * re-read in place, with row selection and the selection's actions for a token that may act.
 */
import { canAct } from './api.js'
import { h, replace } from './dom.js'
import { eventTable, pager } from './event-table.js'
import { selectionActions } from './selection-actions.js'

/**
 * A refreshable events table with its pager and, for a token that may act, row selection and
 * the selection's actions. Rows no longer listed leave the selection on refresh.
 *
 * @example
 * const list = selectableList('/dlq', query, load)
 * await list.refresh()
 * main.append(list.actions, list.slot)
 * @param {string} path the page's route (for the pager)
 * @param {URLSearchParams} query
 * @param {() => Promise<{ events: Array<Record<string, any>>, nextCursor: string | null }>} load
 * @param {(page: any) => void} [onLoad] also called with each page read
 */
export function selectableList(path, query, load, onLoad) {
  const selection = new Set()
  const slot = h('div', { class: 'list-slot' })
  const refresh = async () => {
    const page = await load()
    const shown = new Set(page.events.map((e) => e.id))
    for (const id of selection) if (!shown.has(id)) selection.delete(id)
    onLoad?.(page)
    replace(slot, eventTable(page.events, canAct() ? { selection, onSelect: () => bar?.update() } : {}), pager(path, query, page.nextCursor))
    bar?.update()
  }
  const bar = canAct() ? selectionActions(selection, refresh) : null
  return { slot, actions: bar?.element ?? null, refresh }
}

/**
 * @module "Replay selected" / "Ignore selected" for the rows ticked in an events table: each goes
 * through the event's own endpoint (`/events/:id/replay`, `/events/:id/ignore`) after the user
 * confirms the count, and the summary says what happened to how many.
 */
import { api } from './api.js'
import { h, notice, replace } from './dom.js'

/**
 * The bar above a selectable table. Call `update()` when the selection changes.
 *
 * @example
 * const bar = selectionActions(selection, () => reload())
 * main.append(bar.element, eventTable(events, { selection, onSelect: bar.update }))
 * @param {Set<string>} selection inbox ids of the ticked rows
 * @param {() => Promise<void>} reload re-reads the list after an action
 */
export function selectionActions(selection, reload) {
  const count = h('span', { class: 'selected-count', id: 'selected-count' })
  const note = h('input', { type: 'text', id: 'selection-note', maxlength: 2000, placeholder: 'why (required to ignore)' })
  const confirmBox = h('div', { class: 'confirm' })
  const result = h('div', { class: 'selection-result', id: 'selection-result' })
  const replayButton = h('button', { type: 'button', onclick: () => ask('replay') }, 'Replay selected')
  const ignoreButton = h('button', { type: 'button', onclick: () => ask('ignore') }, 'Ignore selected')
  const noteText = () => /** @type {HTMLInputElement} */ (note).value.trim()

  /** @param {'replay' | 'ignore'} action */
  function ask(action) {
    if (action === 'ignore' && !noteText()) {
      replace(result, notice('error', 'Ignoring needs a note: say why the events will not be processed.'))
      note.focus()
      return
    }
    const ids = [...selection]
    replace(
      confirmBox,
      h('span', {}, `${action === 'replay' ? 'Replay' : 'Ignore'} ${ids.length} selected event(s)?`),
      h('button', { type: 'button', onclick: () => void perform(action, ids) }, `Yes, ${action} ${ids.length}`),
      h('button', { type: 'button', class: 'secondary', onclick: () => replace(confirmBox) }, 'Cancel'),
    )
  }

  /**
   * @param {'replay' | 'ignore'} action
   * @param {string[]} ids
   */
  async function perform(action, ids) {
    replace(confirmBox)
    replace(result, notice('info', `Working on ${ids.length} event(s)…`))
    const text = noteText()
    const outcomes = await Promise.all(
      ids.map(async (id) => {
        const path = `/events/${encodeURIComponent(id)}/${action}`
        try {
          const r = await api('POST', path, { body: action === 'replay' ? (text ? { note: text } : {}) : { note: text } })
          return action === 'ignore' || r.enqueued ? { ok: true } : { ok: false, why: String(r.reason) }
        } catch (err) {
          return { ok: false, why: err instanceof Error ? err.message : String(err) }
        }
      }),
    )
    const done = outcomes.filter((o) => o.ok).length
    const reasons = [...new Set(outcomes.filter((o) => !o.ok).map((o) => o.why))]
    const verb = action === 'replay' ? 'Replayed' : 'Ignored'
    const summary = `${verb} ${done} of ${ids.length} event(s).${reasons.length > 0 ? ` Not done for ${ids.length - done}: ${reasons.join('; ')}` : ''}`
    selection.clear()
    await reload()
    replace(result, notice(done === ids.length ? 'info' : 'error', summary))
  }

  function update() {
    const n = selection.size
    count.textContent = `${n} selected`
    replayButton.disabled = n === 0
    ignoreButton.disabled = n === 0
    if (n === 0) replace(confirmBox)
  }
  update()
  return {
    element: h('section', { class: 'bulk selection', id: 'selection-actions' }, count, h('label', { class: 'inline' }, 'Note ', note), replayButton, ignoreButton, confirmBox, result),
    update,
  }
}

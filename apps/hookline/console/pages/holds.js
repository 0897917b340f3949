/**
 * @module The holds page: pauses in force (each with a Resume button), a form to pause a provider
 * or some of its types, and the circuit breakers with their state.
 */
import { api, canAct } from '../lib/api.js'
import { h, notice, replace, timeOf } from '../lib/dom.js'

/**
 * Renders the page; every action re-renders it with the action's result on top.
 *
 * @example
 * await holdsPage(main)
 * @param {HTMLElement} main
 * @param {unknown} [message] a notice shown above the page (result of the last action)
 */
export async function holdsPage(main, message) {
  const [{ pauses }, { breakers }] = await Promise.all([api('GET', '/pauses'), api('GET', '/breakers')])
  /** Runs an action, then shows the page again with its outcome. */
  const act = async (run) => {
    let outcome
    try {
      outcome = notice('info', await run())
    } catch (err) {
      outcome = notice('error', err instanceof Error ? err.message : String(err))
    }
    await holdsPage(main, outcome)
  }
  const provider = h('input', { type: 'text', id: 'pause-provider', placeholder: 'stripe', maxlength: 63 })
  const type = h('input', { type: 'text', id: 'pause-type', placeholder: 'all types, or invoice.*', maxlength: 200 })
  const note = h('input', { type: 'text', id: 'pause-note', placeholder: 'why (audit log)', maxlength: 2000 })
  const value = (input) => /** @type {HTMLInputElement} */ (input).value.trim()
  const pauseButton = h('button', { type: 'button', onclick: () => act(async () => {
    const body = { provider: value(provider), ...(value(type) ? { type: value(type) } : {}), ...(value(note) ? { note: value(note) } : {}) }
    const { pause } = await api('POST', '/pause', { body })
    return `Paused ${scope(pause)}.`
  }) }, 'Pause')
  replace(
    main,
    h('h1', {}, 'Holds'),
    message ?? null,
    h('p', { class: 'muted' }, 'Held events are received and stored but do not run, and spend no attempt, until their pause is lifted or their breaker closes.'),
    h('h2', {}, 'Pauses'),
    canAct() ? h('section', { class: 'bulk' }, h('label', { class: 'inline' }, 'Provider ', provider), h('label', { class: 'inline' }, 'Type ', type), h('label', { class: 'inline' }, 'Note ', note), pauseButton) : null,
    pauses.length === 0
      ? notice('info', 'Nothing is paused.')
      : h(
          'table',
          { class: 'pauses' },
          h('thead', {}, h('tr', {}, ['Provider', 'Type', 'Since', 'By', 'Note', canAct() ? '' : null].map((t) => (t === null ? null : h('th', {}, t))))),
          h('tbody', {}, pauses.map((p) =>
            h('tr', {},
              h('td', {}, p.provider),
              h('td', {}, p.type ?? 'all'),
              h('td', {}, timeOf(p.since)),
              h('td', {}, p.actor),
              h('td', {}, p.note ?? '–'),
              canAct() && h('td', {}, h('button', { type: 'button', onclick: () => act(async () => {
                const { released } = await api('POST', '/resume', { body: { provider: p.provider, ...(p.type ? { type: p.type } : {}) } })
                return `Resumed ${scope(p)}: ${released} held event(s) queued.`
              }) }, `Resume ${scope(p)}`)),
            ))),
        ),
    h('h2', {}, 'Circuit breakers'),
    breakers.length === 0
      ? notice('info', 'No breaker has counted a failure.')
      : h(
          'table',
          { class: 'breakers' },
          h('thead', {}, h('tr', {}, ['Route', 'State', 'Failures', 'Open until'].map((t) => h('th', {}, t)))),
          h('tbody', {}, breakers.map((b) =>
            h('tr', {}, h('td', { class: 'mono' }, b.route), h('td', { class: `status status-${b.state}` }, b.state), h('td', { class: 'num' }, b.failures), h('td', {}, timeOf(b.openUntil))))),
        ),
  )
}

/** @param {{ provider: string, type?: string | null }} p */
function scope(p) {
  return p.type ? `${p.provider} ${p.type}` : p.provider
}

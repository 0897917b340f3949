/**
 * @module One event: its identity and status, the payload (shown as text: it is attacker-controlled),
 * the kept headers, the timeline of attempts and support actions, and the replay / ignore buttons.
 */
import { api } from '../lib/api.js'
import { badge, h, notice, replace, when } from '../lib/dom.js'

const IN_FLIGHT = ['received', 'processing']

/** Re-reads after an action, every 500 ms for up to a minute, until the event settles. */
const POLL_MS = 500
const MAX_POLLS = 120

/**
 * Renders the event; after an action, follows it until it settles.
 *
 * @example
 * await eventPage(main, '0b7e…')
 * @param {HTMLElement} main
 * @param {string} id
 * @param {unknown} [message] a notice shown above the event (result of the last action)
 * @param {number} [polls] re-reads done since the action
 */
export async function eventPage(main, id, message, polls = 0) {
  const event = await api('GET', `/events/${encodeURIComponent(id)}`)
  replace(
    main,
    h('p', {}, h('a', { href: '#/events' }, '« Events')),
    h('h1', {}, 'Event ', h('span', { class: 'mono' }, event.eventKey), ' ', badge(event.status)),
    message ?? null,
    actions(main, event),
    details(event),
    h('h2', {}, 'Timeline'),
    timeline(event),
    h('h2', {}, 'Payload'),
    h('pre', { class: 'payload', id: 'payload' }, JSON.stringify(event.payload, null, 2)),
    h('h2', {}, 'Headers kept'),
    h('table', { class: 'kv' }, h('tbody', {}, Object.entries(event.headers).map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', { class: 'mono' }, v))))),
  )
  if (message && IN_FLIGHT.includes(event.status) && polls < MAX_POLLS) {
    setTimeout(() => {
      if (location.hash === `#/events/${id}`) void eventPage(main, id, message, polls + 1).catch(() => undefined)
    }, POLL_MS)
  }
}

function details(event) {
  const rows = [
    ['Inbox id', event.id],
    ['Provider', event.provider],
    ['Type', event.type],
    ['Tenant', event.tenant ?? '–'],
    ['Entity', event.entityKey ?? '–'],
    ['Status', event.status],
    ['Generation', event.generation],
    ['Attempts (this run)', event.attempts],
    ['Deliveries', event.deliveries],
    ['Source', event.source],
    ['Occurred', when(event.occurredAt)],
    ['Received', when(event.receivedAt)],
    ['Last delivery', when(event.lastDeliveredAt)],
    ['Processed', when(event.processedAt)],
    ['Stale', event.stale ? 'yes (a newer event of this entity was already applied)' : 'no'],
    ['Note', event.note ?? '–'],
    ['Last error', event.lastError ?? '–'],
    ...(event.held ? [['Held', heldText(event.held)]] : []),
  ]
  return h('table', { class: 'kv', id: 'details' }, h('tbody', {}, rows.map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', {}, v)))))
}

/** Why a held event waits: a pause (since when) or an open circuit breaker (until when). */
function heldText(held) {
  if (held.reason === 'paused') return `paused (${held.route}) since ${when(held.since)}`
  return `circuit breaker ${held.route} ${held.until ? `open until ${when(held.until)}` : 'probing'}`
}

/** Attempts and support actions, oldest first. */
function timeline(event) {
  const items = [
    ...event.attemptLog.map((a) => ({
      at: a.startedAt,
      node: h(
        'li',
        { class: `attempt outcome-${a.outcome ?? 'running'}` },
        h('strong', {}, `Generation ${a.generation}, attempt ${a.n}: ${a.outcome ?? 'running'}`),
        ` — ${when(a.startedAt)}${a.durationMs === null ? '' : `, ${a.durationMs} ms`}`,
        a.error ? h('pre', { class: 'error' }, a.error) : null,
      ),
    })),
    ...event.audit.map((a) => ({
      at: a.at,
      node: h('li', { class: 'audit' }, h('strong', {}, `${a.action} by ${a.actor}`), ` — ${when(a.at)}`, a.note ? h('q', {}, a.note) : null),
    })),
  ].sort((x, y) => new Date(x.at).getTime() - new Date(y.at).getTime())
  return items.length === 0 ? h('p', { class: 'empty' }, 'No attempt yet.') : h('ol', { class: 'timeline', id: 'timeline' }, items.map((i) => i.node))
}

function actions(main, event) {
  const box = h('section', { class: 'actions' })
  const run = async (label, call) => {
    for (const b of box.querySelectorAll('button')) b.disabled = true
    try {
      const result = await call()
      await eventPage(main, event.id, notice('info', label(result)))
    } catch (err) {
      await eventPage(main, event.id, notice('error', err instanceof Error ? err.message : String(err)))
    }
  }
  const replay = (force) => () =>
    run(
      (r) => (r.enqueued ? `Replayed as generation ${r.generation}.` : `Not replayed: ${r.reason}`),
      () => api('POST', `/events/${encodeURIComponent(event.id)}/replay`, { body: { force } }),
    )
  if (['dead', 'failed', 'ignored'].includes(event.status)) box.append(h('button', { type: 'button', onclick: replay(false) }, 'Replay'))
  if (event.status === 'processed' || event.status === 'skipped_stale') {
    box.append(
      h('button', { type: 'button', onclick: replay(true), title: 'Runs the handler again; it sees the next generation' }, 'Force replay (new generation)'),
    )
  }
  if (['received', 'failed', 'dead'].includes(event.status)) {
    const note = h('input', { type: 'text', id: 'ignore-note', maxlength: 2000, placeholder: 'why it will not be processed (required)' })
    const ignore = h('button', {
      type: 'button',
      onclick: () => {
        const text = /** @type {HTMLInputElement} */ (note).value.trim()
        if (!text) {
          note.focus()
          return
        }
        void run(() => 'Ignored.', () => api('POST', `/events/${encodeURIComponent(event.id)}/ignore`, { body: { note: text } }))
      },
    }, 'Ignore')
    box.append(h('label', { class: 'inline' }, 'Note ', note), ignore)
  }
  if (box.childElementCount === 0) box.append(h('p', { class: 'muted' }, IN_FLIGHT.includes(event.status) ? 'Being processed…' : 'No action available.'))
  return box
}

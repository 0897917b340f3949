/**
 * @module One event, by inbox id or by the provider's own key (`#/events/evt_1…`, with
 * `?provider=` when several providers have that key; without it a chooser lists them): its
 * identity and status, why it waits, a link to the provider's dashboard, the payload (highlighted
 * JSON, shown as text: it is attacker-controlled), the kept headers, the timeline of attempts
 * (stack traces folded) and support actions, and the replay / ignore buttons the token may use.
 */
import { api, ApiError, canAct } from '../lib/api.js'
import { badge, copyButton, externalLink, h, notice, replace, timeOf, when } from '../lib/dom.js'
import { jsonView } from '../lib/json-view.js'
import { providerLink } from '../lib/provider-links.js'

const IN_FLIGHT = ['received', 'processing']

/** Re-reads after an action, every 500 ms for up to a minute, until the event settles. */
const POLL_MS = 500
const MAX_POLLS = 120

/**
 * Renders the event; after an action, follows it until it settles.
 *
 * @example
 * await eventPage(main, 'evt_1NqX', new URLSearchParams('provider=stripe'))
 * @param {HTMLElement} main
 * @param {string} ref inbox id or event key
 * @param {URLSearchParams} [query] `provider` picks one of several events with the key
 * @param {unknown} [message] a notice shown above the event (result of the last action)
 * @param {number} [polls] re-reads done since the action
 */
export async function eventPage(main, ref, query = new URLSearchParams(), message, polls = 0) {
  const shownAt = location.hash
  const provider = query.get('provider') ?? undefined
  let event
  try {
    event = await api('GET', `/events/${encodeURIComponent(ref)}`, { query: { provider } })
  } catch (err) {
    if (err instanceof ApiError && err.code === 'hookline.event_key_ambiguous') return chooser(main, ref)
    throw err
  }
  const again = (/** @type {unknown} */ next, n = 0) => eventPage(main, event.id, new URLSearchParams(), next, n)
  const link = providerLink(event)
  replace(
    main,
    h('p', {}, h('a', { href: '#/events' }, '« Events')),
    h('h1', {}, 'Event ', h('span', { class: 'mono' }, event.eventKey), ' ', badge(event.status)),
    message ?? null,
    link ? h('p', { class: 'provider-link' }, externalLink(link.href, link.text)) : null,
    canAct() ? actions(event, again) : null,
    details(event),
    h('h2', {}, 'Timeline'),
    timeline(event),
    h('h2', {}, 'Payload'),
    event.payloadPruned
      ? notice('info', 'Payload removed by retention: the payload, raw body and headers of this event are no longer kept.')
      : jsonView(event.payload, 'payload'),
    event.payloadPruned ? null : h('h2', {}, 'Headers kept'),
    event.payloadPruned
      ? null
      : h('table', { class: 'kv' }, h('tbody', {}, Object.entries(event.headers).map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', { class: 'mono' }, v))))),
  )
  if (message && IN_FLIGHT.includes(event.status) && polls < MAX_POLLS) {
    setTimeout(() => {
      if (location.hash === shownAt) void again(message, polls + 1).catch(() => undefined)
    }, POLL_MS)
  }
}

/** Several providers have an event with this key: links to each. */
async function chooser(main, key) {
  const { events } = await api('GET', '/events', { query: { q: key, limit: '50' } })
  const matches = events.filter((e) => e.eventKey === key)
  replace(
    main,
    h('p', {}, h('a', { href: '#/events' }, '« Events')),
    h('h1', {}, 'Which event ', h('span', { class: 'mono' }, key), '?'),
    notice('info', `${matches.length} providers have an event with this key; pick one.`),
    h('ul', { class: 'chooser', id: 'chooser' }, matches.map((e) =>
      h('li', {}, h('a', { href: `#/events/${encodeURIComponent(key)}?provider=${encodeURIComponent(e.provider)}` }, e.provider), ` — ${e.type}, received ${when(e.receivedAt)}`, ' ', badge(e.status)),
    )),
  )
}

function details(event) {
  const waiting = waitText(event)
  const rows = [
    ['Inbox id', h('span', { class: 'mono' }, event.id)],
    ['Event key', h('span', {}, h('span', { class: 'mono' }, event.eventKey), ' ', copyButton(event.eventKey, 'Copy event key'))],
    ['Provider', event.provider],
    ['Type', event.type],
    ['Tenant', event.tenant ?? '–'],
    ['Entity', event.entityKey ?? '–'],
    ['Status', event.status],
    ...(waiting ? [['Waiting', waiting]] : []),
    ['Generation', event.generation],
    ['Attempts (this run)', `${event.attempts} of ${event.maxAttempts}`],
    ['Next attempt', event.nextAttemptAt ? timeOf(event.nextAttemptAt) : '–'],
    ['Deliveries', event.deliveries],
    ['Source', event.source],
    ['Occurred', timeOf(event.occurredAt)],
    ['Received', timeOf(event.receivedAt)],
    ['Last delivery', timeOf(event.lastDeliveredAt)],
    ['Processed', timeOf(event.processedAt)],
    ['Stale', event.stale ? 'yes (a newer event of this entity was already applied)' : 'no'],
    ['Payload', event.payloadPruned ? 'removed by retention' : 'kept'],
    ['Note', event.note ?? '–'],
    ['Last error', event.lastError ?? '–'],
    ...(event.held ? [['Held', heldText(event.held)]] : []),
  ]
  return h('table', { class: 'kv', id: 'details' }, h('tbody', {}, rows.map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', {}, v)))))
}

/** Why an unfinished event is not running now: a pause, an open breaker, or its retry's time. */
function waitText(event) {
  if (event.held?.reason === 'paused') return `paused since ${when(event.held.since)}`
  if (event.held?.reason === 'breaker') return event.held.until ? `circuit breaker open until ${when(event.held.until)}` : 'circuit breaker probing'
  if (event.status === 'failed' && event.nextAttemptAt) return `retry at ${when(event.nextAttemptAt)} (attempt ${event.attempts + 1} of ${event.maxAttempts})`
  if (event.status === 'received' && event.nextAttemptAt) return `queued, due at ${when(event.nextAttemptAt)}`
  return null
}

/** Why a held event waits: a pause (since when) or an open circuit breaker (until when). */
function heldText(held) {
  if (held.reason === 'paused') return `paused (${held.route}) since ${when(held.since)}`
  return `circuit breaker ${held.route} ${held.until ? `open until ${when(held.until)}` : 'probing'}`
}

/** Attempts (each failure's stack trace folded) and support actions, oldest first. */
function timeline(event) {
  const items = [
    ...event.attemptLog.map((a) => ({
      at: a.startedAt,
      node: h(
        'li',
        { class: `attempt outcome-${a.outcome ?? 'running'}` },
        h('strong', {}, `Generation ${a.generation}, attempt ${a.n}: ${a.outcome ?? 'running'}`),
        ' — ',
        timeOf(a.startedAt),
        a.durationMs === null ? '' : `, ${a.durationMs} ms`,
        a.error ? h('pre', { class: 'error' }, a.error) : null,
        a.stack ? h('details', { class: 'stack' }, h('summary', {}, 'Stack trace'), h('pre', { class: 'stack-trace' }, a.stack)) : null,
      ),
    })),
    ...event.audit.map((a) => ({
      at: a.at,
      node: h('li', { class: 'audit' }, h('strong', {}, `${a.action} by ${a.actor}`), ' — ', timeOf(a.at), a.note ? h('q', {}, a.note) : null),
    })),
  ].sort((x, y) => new Date(x.at).getTime() - new Date(y.at).getTime())
  return items.length === 0 ? h('p', { class: 'empty' }, 'No attempt yet.') : h('ol', { class: 'timeline', id: 'timeline' }, items.map((i) => i.node))
}

/**
 * The actions that can work on the event: replay (not once retention removed the payload it
 * would run on), force replay of a processed one, ignore.
 */
function actions(event, again) {
  const box = h('section', { class: 'actions' })
  const run = async (label, call) => {
    for (const b of box.querySelectorAll('button')) b.disabled = true
    try {
      const result = await call()
      await again(notice('info', label(result)))
    } catch (err) {
      await again(notice('error', err instanceof Error ? err.message : String(err)))
    }
  }
  const replay = (force) => () =>
    run(
      (r) => (r.enqueued ? `Replayed as generation ${r.generation}.` : `Not replayed: ${r.reason}`),
      () => api('POST', `/events/${encodeURIComponent(event.id)}/replay`, { body: { force } }),
    )
  if (!event.payloadPruned && ['dead', 'failed', 'ignored'].includes(event.status)) box.append(h('button', { type: 'button', onclick: replay(false) }, 'Replay'))
  if (!event.payloadPruned && (event.status === 'processed' || event.status === 'skipped_stale')) {
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

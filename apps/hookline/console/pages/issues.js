/**
 * @module The issues pages: failures grouped by cause (route, error class, normalised message),
 * and one issue with its events, a replay offered only after a dry run has counted it, and resolve.
 */
import { api, canAct } from '../lib/api.js'
import { autoRefresh } from '../lib/refresh.js'
import { asCards, badge, h, notice, replace, timeOf, when } from '../lib/dom.js'
import { eventTable, pager } from '../lib/event-table.js'

const STATUSES = ['open', 'resolved', 'all']

/**
 * @example
 * await issuesPage(main, new URLSearchParams('status=open'))
 * @param {HTMLElement} main
 * @param {URLSearchParams} query
 */
export async function issuesPage(main, query) {
  const status = STATUSES.includes(query.get('status') ?? '') ? /** @type {string} */ (query.get('status')) : 'open'
  const slot = h('div', { class: 'list-slot' })
  const refresh = async () => replace(slot, issueTable((await api('GET', '/issues', { query: { status } })).issues))
  await refresh()
  const tabs = h('nav', { class: 'pager' }, STATUSES.map((s) => (s === status ? h('strong', {}, s) : h('a', { href: `#/issues?status=${s}` }, s))))
  replace(main, h('h1', {}, 'Issues'), tabs, slot)
  autoRefresh(slot, refresh)
}

/** @param {Array<Record<string, any>>} issues */
function issueTable(issues) {
  if (issues.length === 0) return h('p', { class: 'empty' }, 'No issues.')
  return asCards(h(
    'table',
    { class: 'events issues' },
    h('thead', {}, h('tr', {}, ['Last seen', 'Status', 'Route', 'Error', 'Message', 'Failures', 'Events'].map((t) => h('th', {}, t)))),
    h(
      'tbody',
      {},
      issues.map((i) =>
        h(
          'tr',
          { 'data-fingerprint': i.fingerprint },
          h('td', {}, h('a', { href: `#/issues/${encodeURIComponent(i.fingerprint)}`, title: i.fingerprint }, timeOf(i.lastSeen))),
          h('td', {}, badge(i.status)),
          h('td', { class: 'mono' }, i.route),
          h('td', { class: 'mono' }, i.errorClass),
          h('td', { class: 'error-cell' }, i.message),
          h('td', { class: 'num' }, i.count),
          h('td', { class: 'num' }, i.events),
        ),
      ),
    ),
  ))
}

/**
 * @example
 * await issuePage(main, '3f9c0a1b2c3d4e5f', new URLSearchParams())
 * @param {HTMLElement} main
 * @param {string} fingerprint
 * @param {URLSearchParams} query
 */
export async function issuePage(main, fingerprint, query) {
  const path = `/issues/${encodeURIComponent(fingerprint)}`
  const cursor = query.get('cursor')
  const detail = await api('GET', path, { query: { limit: '50', ...(cursor ? { cursor } : {}) } })
  const { issue } = detail
  const reload = () => issuePage(main, fingerprint, query)
  replace(
    main,
    h('p', {}, h('a', { href: '#/issues' }, '« Issues')),
    h('h1', {}, 'Issue ', h('span', { class: 'mono' }, issue.fingerprint), ' ', badge(issue.status)),
    h(
      'table',
      { class: 'kv', id: 'issue-details' },
      h('tbody', {}, [
        ['Route', issue.route],
        ['Error', issue.errorClass],
        ['Message', issue.message],
        ['Failures', String(issue.count)],
        ['Events', String(issue.events)],
        ['First seen', when(issue.firstSeen)],
        ['Last seen', when(issue.lastSeen)],
        ['Resolved', issue.resolvedAt ? when(issue.resolvedAt) : '–'],
        ['Reopened', issue.reopened > 0 ? `${issue.reopened} time(s), last ${when(issue.reopenedAt)}` : '–'],
      ].map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', {}, v)))),
    ),
    canAct() ? actions(path, issue, reload) : null,
    h('h2', {}, 'Its events'),
    h('div', { class: 'list-slot' }, eventTable(detail.events)),
    pager(`/issues/${encodeURIComponent(fingerprint)}`, query, detail.nextCursor),
  )
}

/**
 * Count first (dry run), then replay the issue's dead and failed events; resolve.
 * @param {string} path
 * @param {Record<string, any>} issue
 * @param {() => Promise<void>} reload
 */
function actions(path, issue, reload) {
  const result = h('div', { class: 'bulk-result' })
  const note = h('input', { type: 'text', id: 'issue-note', maxlength: 2000, placeholder: 'why (for the audit log)' })
  const countButton = h('button', { type: 'button' }, 'Count replayable (dry run)')
  const replayButton = h('button', { type: 'button', disabled: true }, 'Replay')
  const resolveButton = h('button', { type: 'button', disabled: issue.status === 'resolved' }, 'Resolve')
  const noteBody = () => {
    const text = /** @type {HTMLInputElement} */ (note).value.trim()
    return text ? { note: text } : {}
  }
  const failed = (/** @type {unknown} */ err) => replace(result, notice('error', err instanceof Error ? err.message : String(err)))

  countButton.addEventListener('click', async () => {
    try {
      const dry = await api('POST', `${path}/replay`, { body: { dryRun: true } })
      replace(result, notice('info', `${dry.replayable} of this issue's ${dry.matched} event(s) are dead or failed and would be replayed.`))
      replayButton.textContent = `Replay ${dry.replayable} event(s)`
      replayButton.disabled = dry.replayable === 0
    } catch (err) {
      failed(err)
    }
  })
  replayButton.addEventListener('click', async () => {
    replayButton.disabled = true
    try {
      const done = await api('POST', `${path}/replay`, { body: noteBody() })
      replace(result, notice('info', `Replayed ${done.enqueued} event(s); they are released gradually at the service's replay rate. `, h('button', { type: 'button', onclick: () => void reload() }, 'Refresh')))
      replayButton.textContent = 'Replay'
    } catch (err) {
      failed(err)
    }
  })
  resolveButton.addEventListener('click', async () => {
    try {
      await api('POST', `${path}/resolve`, { body: noteBody() })
      await reload()
    } catch (err) {
      failed(err)
    }
  })
  return h('section', { class: 'bulk' }, h('h2', {}, 'Act on this issue'), h('label', { class: 'inline' }, 'Note ', note), countButton, replayButton, resolveButton, result)
}

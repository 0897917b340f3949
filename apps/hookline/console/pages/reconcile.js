/**
 * @module The reconciliation page: recent runs (newest first) with what each scanned, already
 * knew and recovered, and a button to reconcile a provider now (shown only when one can be).
 */
import { api, canAct } from '../lib/api.js'
import { asCards, h, notice, replace, timeOf } from '../lib/dom.js'

/**
 * A table of reconcile runs (also used by the overview).
 * @param {Array<Record<string, any>>} runs
 * @returns {HTMLElement}
 */
export function runsTable(runs) {
  if (runs.length === 0) return notice('info', 'No reconciliation has run yet.')
  return asCards(h(
    'table',
    { class: 'runs' },
    h('thead', {}, h('tr', {}, ['Started', 'Provider', 'Tenant', 'Status', 'Scanned', 'Known', 'Recovered', 'Errors', 'Note'].map((t) => h('th', {}, t)))),
    h(
      'tbody',
      {},
      runs.map((run) =>
        h(
          'tr',
          { class: `run-${run.status}` },
          h('td', {}, timeOf(run.startedAt)),
          h('td', {}, run.provider),
          h('td', {}, run.tenant ?? '-'),
          h('td', { class: `status status-${run.status}` }, run.dryRun ? `${run.status} (dry run)` : run.status),
          [run.scanned, run.known, run.recovered, run.errors].map((n) => h('td', { class: 'num' }, n)),
          h('td', {}, [run.lastError, ...run.warnings].filter(Boolean).join(' · ') || '-'),
        ),
      ),
    ),
  ))
}

/** While a run is shown as running, the table re-reads every second, for up to an hour. */
const POLL_MS = 1_000
const MAX_POLLS = 3_600

/**
 * Renders the page; its runs table follows running runs by itself, and a Refresh button re-reads
 * it at any time (runs started by the CLI or the schedule show up too).
 *
 * @example
 * await reconcilePage(main)
 * @param {HTMLElement} main
 */
export async function reconcilePage(main) {
  const load = () => api('GET', '/reconcile/runs', { query: { limit: '100' } })
  const loadRuns = async () => (await load()).runs
  const { runs, reconcilable } = await load()
  const table = h('div', { class: 'runs-slot' }, runsTable(runs))
  let polls = 0
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer
  /** Re-reads the runs into the table; schedules the next read while one is running. */
  const refresh = async () => {
    clearTimeout(timer)
    try {
      const latest = await loadRuns()
      replace(table, runsTable(latest))
      follow(latest)
    } catch (err) {
      replace(table, notice('error', err instanceof Error ? err.message : String(err)))
    }
  }
  /** @param {Array<Record<string, any>>} shown */
  const follow = (shown) => {
    if (!shown.some((run) => run.status === 'running') || polls >= MAX_POLLS) return
    timer = setTimeout(() => {
      polls += 1
      // Leaving the page detaches the table: stop following.
      if (table.isConnected) void refresh()
    }, POLL_MS)
  }
  const provider = h('input', { type: 'text', id: 'reconcile-provider', placeholder: 'provider (empty: all)', maxlength: 100 })
  const result = h('div', { class: 'bulk-result' })
  const start = h('button', { type: 'button' }, 'Reconcile now')
  start.addEventListener('click', async () => {
    const name = /** @type {HTMLInputElement} */ (provider).value.trim()
    try {
      const { runIds } = await api('POST', '/reconcile', { body: name ? { provider: name } : {} })
      replace(result, notice('info', `Started ${runIds.length} run(s).`))
      polls = 0
      await refresh()
    } catch (err) {
      replace(result, notice('error', err instanceof Error ? err.message : String(err)))
    }
  })
  const refreshButton = h('button', { type: 'button', onclick: () => {
    polls = 0
    void refresh()
  } }, 'Refresh')
  replace(
    main,
    h('h1', {}, 'Reconciliation'),
    h('p', { class: 'muted' }, 'Each run lists the provider\'s events over its window and ingests those the webhooks missed ("recovered").'),
    startSection(reconcilable, h('section', { class: 'bulk' }, h('label', { class: 'inline' }, 'Provider ', provider, ' ', h('span', { class: 'muted' }, `(${reconcilable.join(', ')})`)), start, result)),
    h('h2', {}, 'Runs ', refreshButton),
    table,
  )
  follow(runs)
}

/**
 * *Reconcile now* only where it can work: some provider has reconciliation configured (its API
 * credentials), and the token may act.
 * @param {string[]} reconcilable
 * @param {HTMLElement} section
 */
function startSection(reconcilable, section) {
  if (reconcilable.length === 0) return notice('info', 'No provider has reconciliation configured (its API credentials), so there is nothing to start here.')
  return canAct() ? section : null
}

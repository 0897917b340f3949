/**
 * @module The reconciliation page: recent runs (newest first) with what each scanned, already
 * knew and recovered, and a button to reconcile a provider now.
 */
import { api } from '../lib/api.js'
import { h, notice, replace } from '../lib/dom.js'

/**
 * A table of reconcile runs (also used by the overview).
 * @param {Array<Record<string, any>>} runs
 * @returns {HTMLElement}
 */
export function runsTable(runs) {
  if (runs.length === 0) return notice('info', 'No reconciliation has run yet.')
  return h(
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
          h('td', {}, new Date(run.startedAt).toLocaleString()),
          h('td', {}, run.provider),
          h('td', {}, run.tenant ?? '-'),
          h('td', { class: `status status-${run.status}` }, run.dryRun ? `${run.status} (dry run)` : run.status),
          [run.scanned, run.known, run.recovered, run.errors].map((n) => h('td', { class: 'num' }, n)),
          h('td', {}, [run.lastError, ...run.warnings].filter(Boolean).join(' · ') || '-'),
        ),
      ),
    ),
  )
}

/**
 * @example
 * await reconcilePage(main)
 * @param {HTMLElement} main
 */
export async function reconcilePage(main) {
  const { runs } = await api('GET', '/reconcile/runs', { query: { limit: '100' } })
  const provider = h('input', { type: 'text', id: 'reconcile-provider', placeholder: 'provider (empty: all)', maxlength: 100 })
  const result = h('div', { class: 'bulk-result' })
  const start = h('button', { type: 'button' }, 'Reconcile now')
  start.addEventListener('click', async () => {
    const name = /** @type {HTMLInputElement} */ (provider).value.trim()
    try {
      const { runIds } = await api('POST', '/reconcile', { body: name ? { provider: name } : {} })
      replace(result, notice('info', `Started ${runIds.length} run(s). `, h('button', { type: 'button', onclick: () => void reconcilePage(main) }, 'Refresh')))
    } catch (err) {
      replace(result, notice('error', err instanceof Error ? err.message : String(err)))
    }
  })
  replace(
    main,
    h('h1', {}, 'Reconciliation'),
    h('p', { class: 'muted' }, 'Each run lists the provider\'s events over its window and ingests those the webhooks missed ("recovered").'),
    h('section', { class: 'bulk' }, h('label', { class: 'inline' }, 'Provider ', provider), start, result),
    runsTable(runs),
  )
}

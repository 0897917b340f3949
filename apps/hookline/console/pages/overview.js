/**
 * @module The overview: per provider, events received in the last 24 hours and what became of
 * them (a chart per provider and totals), the dead-letter queue's depth, the last reconciliations;
 * refreshed every 5 s.
 */
import { api } from '../lib/api.js'
import { providerChart } from '../lib/chart.js'
import { h, notice, replace } from '../lib/dom.js'
import { autoRefresh } from '../lib/refresh.js'
import { runsTable } from './reconcile.js'

/**
 * @example
 * await overviewPage(main)
 * @param {HTMLElement} main
 */
export async function overviewPage(main) {
  const slot = h('div', { class: 'overview-slot' })
  const refresh = async () => replace(slot, ...(await overviewContent()))
  await refresh()
  replace(main, h('h1', {}, 'Overview'), slot)
  autoRefresh(slot, refresh)
}

/** The overview's figures, read now. */
async function overviewContent() {
  const [stats, { runs }] = await Promise.all([
    api('GET', '/stats', { query: { since: '24h', bucket: '1h' } }),
    api('GET', '/reconcile/runs', { query: { limit: '5' } }),
  ])
  const providers = [...new Set([...stats.providers.map((p) => p.provider), ...Object.keys(stats.dlq.byProvider)])].sort()
  const totals = new Map(stats.providers.map((p) => [p.provider, p]))
  return [
    h(
      'section',
      { class: 'cards' },
      h('a', { class: 'card', href: '#/dlq' }, h('span', { class: 'card-label' }, 'Dead letters'), h('span', { class: 'card-value', id: 'dlq-depth' }, stats.dlq.depth)),
      ['received', 'processed', 'failed', 'pending'].map((key) =>
        h('div', { class: 'card' }, h('span', { class: 'card-label' }, `${key}, 24 h`), h('span', { class: 'card-value' }, stats.providers.reduce((n, p) => n + p[key], 0))),
      ),
    ),
    h('h2', {}, 'Last 24 hours, by provider'),
    providers.length === 0
      ? notice('info', 'No events yet.')
      : h(
          'table',
          { class: 'totals' },
          h('thead', {}, h('tr', {}, ['Provider', 'Received', 'Processed', 'Failed', 'Dead', 'Ignored', 'Pending', 'In DLQ (all time)'].map((t) => h('th', {}, t)))),
          h(
            'tbody',
            {},
            providers.map((name) => {
              const t = totals.get(name) ?? { received: 0, processed: 0, failed: 0, dead: 0, ignored: 0, pending: 0 }
              return h(
                'tr',
                {},
                h('td', {}, name),
                [t.received, t.processed, t.failed, t.dead, t.ignored, t.pending, stats.dlq.byProvider[name] ?? 0].map((n) => h('td', { class: 'num' }, n)),
              )
            }),
          ),
        ),
    h('div', { class: 'charts' }, stats.providers.map((p) => providerChart(p.provider, stats, stats.series.filter((b) => b.provider === p.provider)))),
    h('h2', {}, 'Last reconciliations ', h('a', { href: '#/reconcile' }, 'all runs')),
    runsTable(runs),
  ]
}

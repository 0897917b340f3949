/**
 * @module A dependency-free SVG line chart of one provider's events over time (received,
 * processed, failed, dead per bucket), built with DOM calls only.
 */
import { h, svg } from './dom.js'

/** The series drawn, in legend order. */
export const SERIES = ['received', 'processed', 'failed', 'dead']

const WIDTH = 640
const HEIGHT = 180
const PAD = { left: 36, right: 8, top: 10, bottom: 22 }

/**
 * Fills the buckets the API left out (no events) with zeros, from `since` to `until`.
 *
 * @param {{ since: string, until: string, bucketSeconds: number }} stats
 * @param {Array<Record<string, number | string>>} buckets one provider's buckets
 * @returns {Array<Record<string, number> & { at: number }>}
 */
export function fillBuckets(stats, buckets) {
  const step = stats.bucketSeconds * 1000
  const first = Math.floor(new Date(stats.since).getTime() / step) * step
  const last = new Date(stats.until).getTime()
  const byTime = new Map(buckets.map((b) => [new Date(String(b.at)).getTime(), b]))
  const filled = []
  for (let t = first; t <= last; t += step) {
    const b = byTime.get(t)
    filled.push({ at: t, ...Object.fromEntries(SERIES.map((s) => [s, Number(b?.[s] ?? 0)])) })
  }
  return filled
}

/**
 * The chart of one provider.
 *
 * @example
 * main.append(providerChart('stripe', stats, stats.series.filter((b) => b.provider === 'stripe')))
 * @param {string} provider
 * @param {{ since: string, until: string, bucketSeconds: number }} stats
 * @param {Array<Record<string, number | string>>} buckets
 */
export function providerChart(provider, stats, buckets) {
  const points = fillBuckets(stats, buckets)
  const max = Math.max(1, ...points.flatMap((p) => SERIES.map((s) => p[s])))
  const x = (i) => PAD.left + (i * (WIDTH - PAD.left - PAD.right)) / Math.max(1, points.length - 1)
  const y = (v) => HEIGHT - PAD.bottom - (v * (HEIGHT - PAD.top - PAD.bottom)) / max
  const label = (t) => new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
  const chart = svg(
    'svg',
    { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: 'chart', role: 'img', 'aria-label': `${provider}: events per bucket` },
    svg('line', { x1: PAD.left, y1: y(0), x2: WIDTH - PAD.right, y2: y(0), class: 'axis' }),
    svg('text', { x: PAD.left - 4, y: y(max) + 4, class: 'tick', 'text-anchor': 'end' }, String(max)),
    svg('text', { x: PAD.left - 4, y: y(0), class: 'tick', 'text-anchor': 'end' }, '0'),
    points.length > 0 ? svg('text', { x: PAD.left, y: HEIGHT - 6, class: 'tick' }, label(points[0].at)) : null,
    points.length > 1 ? svg('text', { x: WIDTH - PAD.right, y: HEIGHT - 6, class: 'tick', 'text-anchor': 'end' }, label(points[points.length - 1].at)) : null,
    SERIES.map((s) =>
      svg('polyline', { class: `line line-${s}`, points: points.map((p, i) => `${x(i).toFixed(1)},${y(p[s]).toFixed(1)}`).join(' ') }),
    ),
  )
  const legend = h('ul', { class: 'legend' }, SERIES.map((s) => h('li', { class: `key-${s}` }, s)))
  return h('figure', { class: 'provider-chart' }, h('figcaption', {}, provider), chart, legend)
}

/**
 * @module A dependency-free SVG line chart of one provider's events over time (received,
 * processed, failed, dead per bucket) with distinct, readable axis labels, built with DOM calls only.
 */
import { h, svg } from './dom.js'

/** The series drawn, in legend order. */
export const SERIES = ['received', 'processed', 'failed', 'dead']

const WIDTH = 640
const HEIGHT = 160
const PAD_TOP = 8
const PAD_BOTTOM = 2

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
 * Where the time axis is labelled: up to four evenly spaced buckets, each named by its time, with
 * the day too where it changes (and on the first and the last), and on every label if that still
 * repeats one.
 *
 * @example
 * timeTicks([t0, t1, …, t24]) // [{ index: 0, text: 'Dec 6, 14:00' }, { index: 8, text: '22:00' }, …, { index: 24, text: 'Dec 7, 14:00' }]
 * @param {number[]} times bucket starts (ms), ascending
 * @returns {Array<{ index: number, text: string }>}
 */
export function timeTicks(times) {
  if (times.length === 0) return []
  const last = times.length - 1
  const indexes = [...new Set([0, Math.round(last / 3), Math.round((2 * last) / 3), last])]
  const day = (t) => new Date(t).toLocaleDateString([], { month: 'short', day: 'numeric' })
  const time = (t) => new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
  let ticks = indexes.map((index, k) => {
    const t = times[index]
    // The last label keeps its day too: on a narrow screen it stands beside the first only.
    const withDay = k === 0 || k === indexes.length - 1 || day(t) !== day(times[indexes[k - 1]])
    return { index, text: withDay ? `${day(t)}, ${time(t)}` : time(t) }
  })
  if (new Set(ticks.map((t) => t.text)).size < ticks.length) ticks = indexes.map((index) => ({ index, text: `${day(times[index])}, ${time(times[index])}` }))
  return ticks
}

/**
 * The chart of one provider. The lines are an SVG stretched to the width; the axis labels are
 * HTML beside it, so they keep their size (and stay readable) at any width.
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
  const x = (i) => (i * WIDTH) / Math.max(1, points.length - 1)
  const y = (v) => HEIGHT - PAD_BOTTOM - (v * (HEIGHT - PAD_TOP - PAD_BOTTOM)) / max
  const chart = svg(
    'svg',
    { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, preserveAspectRatio: 'none', class: 'chart', role: 'img', 'aria-label': `${provider}: events per bucket` },
    svg('line', { x1: 0, y1: y(0), x2: WIDTH, y2: y(0), class: 'axis', 'vector-effect': 'non-scaling-stroke' }),
    SERIES.map((s) =>
      svg('polyline', { class: `line line-${s}`, 'vector-effect': 'non-scaling-stroke', points: points.map((p, i) => `${x(i).toFixed(1)},${y(p[s]).toFixed(1)}`).join(' ') }),
    ),
  )
  const yValues = [...new Set([max, Math.round(max / 2), 0])]
  const yTicks = h('ol', { class: 'y-ticks', 'aria-hidden': 'true' }, yValues.map((v) => placed(h('li', {}, String(v)), 'top', (y(v) / HEIGHT) * 100)))
  const ticks = timeTicks(points.map((p) => p.at))
  const xTicks = h(
    'ol',
    { class: 'x-ticks' },
    ticks.map((t, k) => {
      const at = (x(t.index) / WIDTH) * 100
      const align = k === 0 && ticks.length > 1 ? 'start' : k === ticks.length - 1 && ticks.length > 1 ? 'end' : 'middle'
      return placed(h('li', { class: `tick-${align}` }, t.text), 'left', at)
    }),
  )
  const legend = h('ul', { class: 'legend' }, SERIES.map((s) => h('li', { class: `key-${s}` }, s)))
  return h('figure', { class: 'provider-chart' }, h('figcaption', {}, provider), h('div', { class: 'plot' }, yTicks, h('div', { class: 'plot-area' }, chart, xTicks)), legend)
}

/**
 * Positions a label through the CSSOM: the content security policy refuses `style` attributes.
 * @param {HTMLElement} el
 * @param {'left' | 'top'} side
 * @param {number} percent
 */
function placed(el, side, percent) {
  el.style.setProperty(side, `${percent.toFixed(2)}%`)
  return el
}

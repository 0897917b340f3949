/**
 * @module Auto-refresh of the page shown (lists and the overview): every 5 seconds the page's own
 * refresh re-reads the API and replaces only its data, so the scroll position, the selected rows
 * and what the user typed stay. A toggle in the top bar pauses it (kept for the tab).
 */
import { h } from './dom.js'

/** How often a page re-reads its data. */
export const REFRESH_MS = 5_000

const PAUSED_KEY = 'hookline.refreshPaused'

/** @type {{ anchor: Element, run: () => Promise<void> } | null} */
let task = null
/** @type {ReturnType<typeof setTimeout> | undefined} */
let timer
let refreshes = 0

const toggle = h('button', { type: 'button', id: 'refresh-toggle', class: 'toggle', hidden: true, onclick: () => setPaused(!paused()) })

/** The top bar's pause toggle (one per page). */
export function refreshToggle() {
  show()
  return toggle
}

/** True when the user paused auto-refresh. */
export function paused() {
  return sessionStorage.getItem(PAUSED_KEY) === '1'
}

/** @param {boolean} value */
function setPaused(value) {
  if (value) sessionStorage.setItem(PAUSED_KEY, '1')
  else sessionStorage.removeItem(PAUSED_KEY)
  show()
  schedule()
}

/**
 * Re-runs `run` every {@link REFRESH_MS} while `anchor` is in the page and auto-refresh is not
 * paused; replaces the previous page's refresh.
 *
 * @example
 * autoRefresh(slot, async () => replace(slot, eventTable((await load()).events)))
 * @param {Element} anchor the element the refresh fills; once it leaves the page, refreshing stops
 * @param {() => Promise<void>} run
 */
export function autoRefresh(anchor, run) {
  task = { anchor, run }
  show()
  schedule()
}

/** Stops refreshing (called before every page change). */
export function stopAutoRefresh() {
  task = null
  clearTimeout(timer)
  show()
}

function schedule() {
  clearTimeout(timer)
  if (!task || paused()) return
  const current = task
  timer = setTimeout(async () => {
    if (task !== current || !current.anchor.isConnected) return
    try {
      await current.run()
      refreshes += 1
    } catch {
      // The next round tries again; a page's own load shows errors.
    }
    if (task === current) schedule()
    show()
  }, REFRESH_MS)
}

function show() {
  toggle.hidden = !task
  const off = paused()
  toggle.textContent = off ? 'Auto-refresh paused' : 'Auto-refresh on'
  toggle.setAttribute('aria-pressed', String(!off))
  toggle.title = off ? 'Resume refreshing every 5 s' : 'Refreshing every 5 s; click to pause'
  toggle.dataset.refreshes = String(refreshes)
}

/**
 * @module DOM building for the console. Everything shown comes from events that providers (or
 * attackers) sent, so text only ever enters the page as text nodes: there is no innerHTML here,
 * and links point inside the console, or (`externalLink`) to a provider's dashboard only.
 */

/**
 * Creates an element. `props`: `class`, `on<event>` listeners, any attribute; children: nodes,
 * or anything else, which becomes a text node (never parsed as HTML).
 *
 * @example
 * h('td', { class: 'status' }, event.status)
 * @param {string} tag
 * @param {Record<string, unknown>} [props]
 * @param {...unknown} children
 * @returns {HTMLElement}
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag)
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), /** @type {EventListener} */ (value))
    else if (key === 'class') el.className = String(value)
    else if (key === 'href') el.setAttribute('href', internalHref(String(value)))
    else el.setAttribute(key, value === true ? '' : String(value))
  }
  append(el, children)
  return el
}

/**
 * Appends children to `el` (text for anything that is not a node).
 * @param {Element} el
 * @param {unknown[]} children
 */
export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue
    el.append(child instanceof Node ? child : document.createTextNode(String(child)))
  }
}

/**
 * Replaces the children of `el`.
 * @param {Element} el
 * @param {...unknown} children
 */
export function replace(el, ...children) {
  el.replaceChildren()
  append(el, children)
}

/** Only links inside the console: a `javascript:` URL can never reach an attribute. */
function internalHref(href) {
  return href.startsWith('#/') || href.startsWith('/admin') ? href : '#/'
}

/**
 * An SVG element (charts).
 * @param {string} tag
 * @param {Record<string, string | number>} [attrs]
 * @param {...unknown} children
 * @returns {SVGElement}
 */
export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag)
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value))
  append(el, children)
  return el
}

/**
 * A date as local `YYYY-MM-DD HH:MM:SS` with its zone (`UTC`, or the offset: `UTC+05:30`), or `–`:
 * support compares these times with the provider's dashboard and with logs kept in other zones.
 * @param {string | null | undefined} iso
 */
export function when(iso) {
  if (!iso) return '–'
  const d = new Date(iso)
  const pad = (n) => String(n).padStart(2, '0')
  const offset = -d.getTimezoneOffset()
  const zone = offset === 0 ? 'UTC' : `UTC${offset > 0 ? '+' : '-'}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${zone}`
}

/**
 * A `<time>` element showing {@link when}, with the exact ISO instant (UTC) as its title.
 * @param {string | null | undefined} iso
 */
export function timeOf(iso) {
  if (!iso) return h('span', {}, '–')
  const exact = new Date(iso).toISOString()
  return h('time', { datetime: exact, title: exact }, when(iso))
}

/**
 * A button that copies `text` to the clipboard and says so for a moment.
 *
 * @example
 * h('td', {}, event.eventKey, copyButton(event.eventKey, 'Copy event key'))
 * @param {string} text
 * @param {string} label what it copies, for screen readers and the tooltip
 */
export function copyButton(text, label) {
  const button = h('button', { type: 'button', class: 'copy', title: label, 'aria-label': label }, 'Copy')
  button.addEventListener('click', async (e) => {
    e.preventDefault()
    e.stopPropagation()
    try {
      await navigator.clipboard.writeText(text)
      button.textContent = 'Copied'
    } catch {
      button.textContent = 'Copy failed'
    }
    setTimeout(() => (button.textContent = 'Copy'), 1500)
  })
  return button
}

/** The only sites the console links out to: the providers' own dashboards. */
const EXTERNAL_ORIGINS = ['https://dashboard.stripe.com', 'https://github.com']

/**
 * A link to a provider's dashboard, opened in a new tab; any other URL gives no link at all.
 * @param {string} url
 * @param {string} text
 */
export function externalLink(url, text) {
  let parsed
  try {
    parsed = new URL(url)
  } catch {
    return null
  }
  if (!EXTERNAL_ORIGINS.includes(parsed.origin)) return null
  const a = document.createElement('a')
  a.setAttribute('href', parsed.href)
  a.setAttribute('target', '_blank')
  a.setAttribute('rel', 'noopener noreferrer')
  a.className = 'external'
  a.textContent = text
  return a
}

/**
 * Lets a wide table become one card per row on a narrow screen: each cell is labelled with its
 * column's heading (`data-label`, shown by the stylesheet), and the table gets `narrow-cards`.
 *
 * @example
 * main.append(asCards(h('table', {}, thead, tbody)))
 * @param {HTMLElement} table
 */
export function asCards(table) {
  const headings = [...table.querySelectorAll('thead th')].map((th) => th.textContent ?? '')
  for (const row of table.querySelectorAll('tbody tr')) {
    for (const [i, cell] of [...row.children].entries()) if (headings[i]) /** @type {HTMLElement} */ (cell).dataset.label = headings[i]
  }
  table.classList.add('narrow-cards')
  return table
}

/**
 * A status badge.
 * @param {string} status
 */
export function badge(status) {
  return h('span', { class: `badge badge-${/^[a-z]+$/.test(status) ? status : 'unknown'}` }, status)
}

/**
 * A message box (errors, results).
 * @param {'error' | 'info'} kind
 * @param {...unknown} children
 */
export function notice(kind, ...children) {
  return h('p', { class: `notice notice-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, ...children)
}

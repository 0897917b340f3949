/**
 * @module DOM building for the console. Everything shown comes from events that providers (or
 * attackers) sent, so text only ever enters the page as text nodes: there is no innerHTML here,
 * and links may only point inside the console.
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
 * A date as local `YYYY-MM-DD HH:MM:SS`, or `–`.
 * @param {string | null | undefined} iso
 */
export function when(iso) {
  if (!iso) return '–'
  const d = new Date(iso)
  const pad = (n) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
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

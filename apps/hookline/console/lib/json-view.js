/**
 * @module Pretty, highlighted JSON for payloads: the value is printed with `JSON.stringify` and
 * its tokens wrapped in spans (keys, strings, numbers, literals, punctuation) — text nodes only, so
 * a payload's content can never become markup. A payload that is text stays text.
 */
import { copyButton, h } from './dom.js'

/** One JSON token: a string (a key when a colon follows), a number, a literal, or punctuation. */
const TOKEN = /("(?:\\.|[^"\\])*")(\s*:)?|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|\b(true|false)\b|\b(null)\b|([{}[\],])/g

/**
 * Splits pretty-printed JSON text into highlighted spans (whitespace between them stays text).
 * @param {string} text
 * @returns {Array<Node | string>}
 */
export function highlight(text) {
  /** @type {Array<Node | string>} */
  const parts = []
  let last = 0
  for (const m of text.matchAll(TOKEN)) {
    const at = m.index ?? 0
    if (at > last) parts.push(text.slice(last, at))
    if (m[1] !== undefined) {
      parts.push(h('span', { class: m[2] ? 'j-key' : 'j-str' }, m[1]))
      if (m[2]) parts.push(h('span', { class: 'j-punct' }, m[2]))
    } else if (m[3] !== undefined) parts.push(h('span', { class: 'j-num' }, m[3]))
    else if (m[4] !== undefined) parts.push(h('span', { class: 'j-bool' }, m[4]))
    else if (m[5] !== undefined) parts.push(h('span', { class: 'j-null' }, m[5]))
    else parts.push(h('span', { class: 'j-punct' }, m[6]))
    last = at + m[0].length
  }
  if (last < text.length) parts.push(text.slice(last))
  return parts
}

/**
 * A payload block with a copy button: highlighted JSON for a parsed body, plain text for a text one.
 *
 * @example
 * main.append(jsonView(event.payload, 'payload'))
 * @param {unknown} value
 * @param {string} id the `<pre>`'s id
 */
export function jsonView(value, id) {
  const isText = typeof value === 'string'
  const text = isText ? value : JSON.stringify(value, null, 2)
  const pre = h('pre', { class: `payload${isText ? ' payload-text' : ''}`, id }, isText ? text : highlight(text))
  return h('div', { class: 'payload-box' }, h('div', { class: 'payload-tools' }, copyButton(text, `Copy ${isText ? 'text' : 'JSON'}`)), pre)
}

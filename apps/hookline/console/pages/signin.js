/**
 * @module The sign-in form: the admin token (checked against the API before it is kept, which
 * also tells its role) and the name written to the audit log for this session's replays and ignores.
 */
import { api, signIn } from '../lib/api.js'
import { h, notice, replace } from '../lib/dom.js'

/**
 * @example
 * replace(main, signInPage(render))
 * @param {() => void} onSignedIn
 * @param {string} [message]
 */
export function signInPage(onSignedIn, message) {
  const token = h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'current-password', required: true })
  const actor = h('input', { id: 'actor', name: 'actor', type: 'text', maxlength: 100, required: true, placeholder: 'e.g. ana' })
  const status = h('div', {}, message ? notice('error', message) : null)
  const submit = async (/** @type {SubmitEvent} */ e) => {
    e.preventDefault()
    const value = /** @type {HTMLInputElement} */ (token).value
    let role
    try {
      ;({ role } = await api('GET', '/whoami', { token: value }))
    } catch (err) {
      replace(status, notice('error', err?.status === 401 ? 'Wrong token.' : String(err?.message ?? err)))
      return
    }
    signIn(value, /** @type {HTMLInputElement} */ (actor).value.trim(), role)
    onSignedIn()
  }
  return h(
    'form',
    { class: 'signin', onsubmit: submit },
    h('h1', {}, 'Sign in'),
    h('label', { for: 'token' }, 'Admin token'),
    token,
    h('label', { for: 'actor' }, 'Your name (for the audit log)'),
    actor,
    h('button', { type: 'submit' }, 'Sign in'),
    status,
  )
}

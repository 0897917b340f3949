/**
 * @module The console's client of `/admin/api`: the token the user signed in with lives in
 * sessionStorage (gone with the tab), and every call sends it as a bearer token with the name the
 * user gave for the audit log.
 */

const TOKEN_KEY = 'hookline.token'
const ACTOR_KEY = 'hookline.actor'
const ROLE_KEY = 'hookline.role'

/** Thrown for an answer that is not 2xx; `status` 401 means the token is wrong. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} message
   */
  constructor(status, code, message) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
  }
}

/** The signed-in session, or null; `role` is the token's (`viewer` or `operator`), null until known. */
export function session() {
  const token = sessionStorage.getItem(TOKEN_KEY)
  return token ? { token, actor: sessionStorage.getItem(ACTOR_KEY) || 'console', role: sessionStorage.getItem(ROLE_KEY) } : null
}

/**
 * Stores the session.
 * @param {string} token
 * @param {string} actor
 * @param {string} role the token's role, from `GET /whoami`
 */
export function signIn(token, actor, role) {
  sessionStorage.setItem(TOKEN_KEY, token)
  sessionStorage.setItem(ACTOR_KEY, actor)
  sessionStorage.setItem(ROLE_KEY, role)
}

/** Reads the token's role from the API into the session (a session kept from before it was stored). */
export async function loadRole() {
  const { role } = await api('GET', '/whoami')
  sessionStorage.setItem(ROLE_KEY, role)
}

/** True when the session's token may act (replay, ignore, reconcile, pause): a viewer's may only read. */
export function canAct() {
  return session()?.role === 'operator'
}

/** Forgets the session. */
export function signOut() {
  sessionStorage.removeItem(TOKEN_KEY)
  sessionStorage.removeItem(ACTOR_KEY)
  sessionStorage.removeItem(ROLE_KEY)
}

/**
 * Calls the admin API.
 *
 * @example
 * const { events } = await api('GET', '/events', { query: { tenant: 'acct_1' } })
 * @param {'GET' | 'POST'} method
 * @param {string} path
 * @param {{ query?: Record<string, string | undefined>, body?: unknown, token?: string }} [options]
 */
export async function api(method, path, options = {}) {
  const current = session()
  const token = options.token ?? current?.token ?? ''
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(options.query ?? {})) if (value) params.set(key, value)
  const search = params.size > 0 ? `?${params}` : ''
  const res = await fetch(`/admin/api${path}${search}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      // Header values must be Latin-1: keep the printable ASCII of the name.
      'x-hookline-actor': (current?.actor ?? 'console').replace(/[^\x20-\x7e]/g, ''),
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  })
  const text = await res.text()
  let data
  try {
    data = text ? JSON.parse(text) : undefined
  } catch {
    data = undefined
  }
  if (!res.ok) throw new ApiError(res.status, data?.error?.code ?? 'http', data?.error?.message ?? `HTTP ${res.status}`)
  return data
}

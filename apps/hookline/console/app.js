/**
 * @module The console's entry point: hash routes (`#/`, `#/events`, `#/events/:id-or-key`
 * (`?provider=` when the key is ambiguous), `#/dlq`, `#/reconcile`, `#/issues`,
 * `#/issues/:fingerprint`, `#/holds`), sign-in when there is no session or the token is refused,
 * and the auto-refresh toggle.
 */
import { ApiError, loadRole, session, signOut } from './lib/api.js'
import { notice, replace } from './lib/dom.js'
import { refreshToggle, stopAutoRefresh } from './lib/refresh.js'
import { dlqPage } from './pages/dlq.js'
import { eventPage } from './pages/event.js'
import { eventsPage } from './pages/events.js'
import { holdsPage } from './pages/holds.js'
import { issuePage, issuesPage } from './pages/issues.js'
import { overviewPage } from './pages/overview.js'
import { reconcilePage } from './pages/reconcile.js'
import { signInPage } from './pages/signin.js'

const main = /** @type {HTMLElement} */ (document.getElementById('main'))
const nav = /** @type {HTMLElement} */ (document.getElementById('nav'))
const who = /** @type {HTMLElement} */ (document.getElementById('who'))
const signOutButton = /** @type {HTMLButtonElement} */ (document.getElementById('signout'))
signOutButton.before(refreshToggle())

/** The current route: its path and query parameters. */
function route() {
  const [path, search] = location.hash.replace(/^#/, '').split('?')
  return { path: path || '/', query: new URLSearchParams(search ?? '') }
}

async function render() {
  stopAutoRefresh()
  const current = session()
  nav.hidden = !current
  signOutButton.hidden = !current
  who.textContent = current ? `signed in as ${current.actor}` : ''
  if (!current) {
    replace(main, signInPage(render))
    return
  }
  const { path, query } = route()
  // The role decides which actions are shown; a session from before it was kept reads it once.
  const roleKnown = current.role ? Promise.resolve() : loadRole()
  for (const link of nav.querySelectorAll('a')) {
    const target = link.getAttribute('href')?.slice(1) ?? ''
    link.classList.toggle('active', target === '/' ? path === '/' : path.startsWith(target))
  }
  try {
    await roleKnown
    const eventMatch = /^\/events\/([^/]+)$/.exec(path)
    if (eventMatch) await eventPage(main, decodeURIComponent(eventMatch[1]), query)
    else if (path === '/events') await eventsPage(main, query)
    else if (path === '/dlq') await dlqPage(main, query)
    else if (path === '/reconcile') await reconcilePage(main)
    else if (path === '/holds') await holdsPage(main)
    else if (path === '/issues') await issuesPage(main, query)
    else if (/^\/issues\/[0-9a-f]{16}$/.test(path)) await issuePage(main, path.slice('/issues/'.length), query)
    else await overviewPage(main)
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      signOut()
      replace(main, signInPage(render, 'The token was refused; sign in again.'))
      nav.hidden = true
      signOutButton.hidden = true
      who.textContent = ''
      return
    }
    replace(main, notice('error', err instanceof Error ? err.message : String(err)))
  }
}

signOutButton.addEventListener('click', () => {
  signOut()
  location.hash = '#/'
  void render()
})
window.addEventListener('hashchange', () => void render())
void render()

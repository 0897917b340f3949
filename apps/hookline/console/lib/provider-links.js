/**
 * @module Where the provider itself shows an event, so support can compare both sides: Stripe's
 * event page, GitHub's list of the hook's deliveries. Built only from identifiers that match their
 * documented shape; anything else (or another provider) gives no link.
 */

const STRIPE_EVENT = /^evt_[A-Za-z0-9_]+$/
const STRIPE_ACCOUNT = /^acct_[A-Za-z0-9]+$/
const GITHUB_NAME = /^[A-Za-z0-9_.-]+$/
const GITHUB_REPO = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/

/**
 * The provider's dashboard page of an event, or null.
 *
 * - Stripe: `https://dashboard.stripe.com[/test][/connect/accounts/<acct>]/events/<evt>` (`/test`
 *   when the payload's `livemode` is false; the Connect part when it names an `account`).
 * - GitHub: the hook's *Recent deliveries* (`…/settings/hooks/<hook id>?tab=deliveries`) of the
 *   repository (`repository.full_name`) or organisation that owns the hook; for a GitHub App's
 *   hook, the list of apps (the delivery log is on the app's *Advanced* page).
 *
 * @example
 * providerLink(event) // { href: 'https://dashboard.stripe.com/test/events/evt_1', text: 'Open in Stripe' }
 * @param {{ provider: string, eventKey: string, payload: any, headers?: Record<string, string> }} event
 * @returns {{ href: string, text: string } | null}
 */
export function providerLink(event) {
  const payload = event.payload && typeof event.payload === 'object' ? event.payload : {}
  if (event.provider === 'stripe') {
    const id = typeof payload.id === 'string' ? payload.id : event.eventKey
    if (!STRIPE_EVENT.test(id)) return null
    const test = payload.livemode === false ? '/test' : ''
    const account = typeof payload.account === 'string' && STRIPE_ACCOUNT.test(payload.account) ? `/connect/accounts/${payload.account}` : ''
    return { href: `https://dashboard.stripe.com${test}${account}/events/${id}`, text: 'Open in Stripe' }
  }
  if (event.provider === 'github') {
    const headers = event.headers ?? {}
    const hookId = /^\d+$/.test(headers['x-github-hook-id'] ?? '') ? headers['x-github-hook-id'] : event.eventKey.split(':')[0]
    const target = headers['x-github-hook-installation-target-type']
    if (target === 'integration') return { href: 'https://github.com/settings/apps', text: 'GitHub App deliveries (app → Advanced)' }
    const deliveries = /^\d+$/.test(hookId ?? '') ? `/${hookId}?tab=deliveries` : ''
    const org = payload.organization?.login
    if (target === 'organization' && typeof org === 'string' && GITHUB_NAME.test(org)) {
      return { href: `https://github.com/organizations/${org}/settings/hooks${deliveries}`, text: 'Deliveries on GitHub' }
    }
    const repo = payload.repository?.full_name
    if (typeof repo === 'string' && GITHUB_REPO.test(repo)) return { href: `https://github.com/${repo}/settings/hooks${deliveries}`, text: 'Deliveries on GitHub' }
  }
  return null
}

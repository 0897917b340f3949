/**
 * Events found by the provider's own key (what a customer quotes) wherever an inbox id is taken:
 * the admin API's detail, replay and ignore, and `hookline events show` / `replay`; `?provider=`
 * or `--provider` when the key names events of several providers (409 listing them otherwise).
 */
import { type Handler, PermanentError } from '@hookline/core'
import { standardWebhooksAdapter } from '@hookline/standard-webhooks'
import { stripeAdapter } from '@hookline/stripe'
import { listenOnFreePort, signedStandardWebhook, signedStripeDelivery, STANDARD_WEBHOOKS_TEST_SECRET, STRIPE_TEST_SECRET, stripeEvent } from '@hookline/testkit'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createApp } from '../apps/hookline/src/service.ts'
import { type Harness, startHarness } from './support/harness.ts'
import { runHookline } from './support/cli-process.ts'
import { adminCall } from './support/admin-call.ts'

const TOKEN = 'find-by-key-admin-token-0123456789'
const broken = new Set<string>()
const handler: Handler = async (event) => {
  if (broken.has(event.eventKey)) throw new PermanentError('downstream refused')
}

let h: Harness
let service: { url: string; close(): Promise<void> }

beforeAll(async () => {
  h = await startHarness({
    handlers: { '*': handler },
    adapters: [stripeAdapter({ secrets: [STRIPE_TEST_SECRET] }), standardWebhooksAdapter({ name: 'acme', secrets: [STANDARD_WEBHOOKS_TEST_SECRET] })],
  })
  service = await listenOnFreePort(createApp(h.hookline, { adminToken: TOKEN }))
})
afterAll(async () => {
  await service?.close()
  await h?.close()
})

const api = (method: string, path: string, body?: unknown) => adminCall({ url: service.url, token: TOKEN }, method, path, body)

const hookline = (args: string[]) => runHookline(args, { url: service.url, token: TOKEN })

async function stripe(id: string, options: { fail?: boolean } = {}): Promise<string> {
  if (options.fail) broken.add(id)
  const { body, headers } = signedStripeDelivery(stripeEvent({ id, account: 'acct_find_key' }))
  const res = await h.post('stripe', body, headers)
  await h.waitForStatus(res.body.id, options.fail ? 'dead' : 'processed')
  return res.body.id
}

async function acme(messageId: string): Promise<string> {
  const { body, headers } = signedStandardWebhook({ type: 'invoice.paid', timestamp: new Date().toISOString(), data: { id: 'inv_1' } }, { id: messageId })
  const res = await h.post('acme', body, headers)
  await h.waitForStatus(res.body.id, 'processed')
  return res.body.id
}

it('GET /events/:id takes the provider\'s event key, and listings carry the key', async () => {
  const id = await stripe('evt_find_by_key_1')
  const byKey = await api('GET', '/events/evt_find_by_key_1')
  expect(byKey.status).toBe(200)
  expect(byKey.body).toMatchObject({ id, provider: 'stripe', eventKey: 'evt_find_by_key_1' })
  expect((await api('GET', `/events/${id}`)).body.id).toBe(id)
  const page = await api('GET', '/events?tenant=acct_find_key')
  expect(page.body.events).toContainEqual(expect.objectContaining({ id, eventKey: 'evt_find_by_key_1' }))
  expect((await api('GET', '/events/evt_no_such_event')).status).toBe(404)
})

it('answers 409 listing the candidates when the key names events of two providers, and ?provider= picks one', async () => {
  const stripeId = await stripe('evt_shared_key')
  const acmeId = await acme('evt_shared_key')
  const ambiguous = await api('GET', '/events/evt_shared_key')
  expect(ambiguous.status).toBe(409)
  expect(ambiguous.body.error.code).toBe('hookline.event_key_ambiguous')
  expect(ambiguous.body.error.message).toContain(`acme ${acmeId}`)
  expect(ambiguous.body.error.message).toContain(`stripe ${stripeId}`)
  expect((await api('GET', '/events/evt_shared_key?provider=acme')).body).toMatchObject({ id: acmeId, provider: 'acme' })
  expect((await api('GET', '/events/evt_shared_key?provider=stripe')).body).toMatchObject({ id: stripeId, provider: 'stripe' })

  const cli = await hookline(['events', 'show', 'evt_shared_key'])
  expect(cli.code).toBe(1)
  expect(cli.stderr).toContain('say which provider')
  const picked = await hookline(['events', 'show', 'evt_shared_key', '--provider', 'acme', '--json'])
  expect(picked.code).toBe(0)
  expect(JSON.parse(picked.stdout).id).toBe(acmeId)
})

it('replays and ignores by the event key, through the API and the CLI', async () => {
  const dead = await stripe('evt_find_key_dead', { fail: true })
  broken.delete('evt_find_key_dead')
  const replayed = await api('POST', '/events/evt_find_key_dead/replay', {})
  expect(replayed.status).toBe(200)
  expect(replayed.body).toMatchObject({ id: dead, enqueued: true })
  await h.waitForStatus(dead, 'processed')

  const dead2 = await stripe('evt_find_key_dead_2', { fail: true })
  const ignored = await api('POST', '/events/evt_find_key_dead_2/ignore', { note: 'test account' })
  expect(ignored.body).toMatchObject({ id: dead2, status: 'ignored' })

  const dead3 = await stripe('evt_find_key_dead_3', { fail: true })
  broken.delete('evt_find_key_dead_3')
  const cli = await hookline(['replay', 'evt_find_key_dead_3', '--provider', 'stripe'])
  expect(cli.stderr).toBe('')
  expect(cli.stdout).toBe(`replayed ${dead3} (generation 1)\n`)
  await h.waitForStatus(dead3, 'processed')
})

it('`hookline events show evt_…` shows the event, and `events list` has a KEY column', async () => {
  const id = await stripe('evt_find_by_key_cli')
  const show = await hookline(['events', 'show', 'evt_find_by_key_cli'])
  expect(show.code).toBe(0)
  expect(show.stdout).toMatch(new RegExp(`id:\\s+${id}`))
  const list = await hookline(['events', 'list', '--tenant', 'acct_find_key'])
  expect(list.stdout.split('\n')[0]).toMatch(/ERROR\s+KEY$/)
  expect(list.stdout).toContain('evt_find_by_key_cli')
})

it('`hookline dlq ignore evt_… --provider stripe` closes the provider\'s event when the key is ambiguous', async () => {
  const dead = await stripe('evt_find_key_ignore', { fail: true })
  broken.delete('evt_find_key_ignore')
  const acmeId = await acme('evt_find_key_ignore')
  const ambiguous = await hookline(['dlq', 'ignore', 'evt_find_key_ignore', '--note', 'test account'])
  expect(ambiguous.code).not.toBe(0)
  expect(ambiguous.stderr).toContain('say which provider')
  const ignored = await hookline(['dlq', 'ignore', 'evt_find_key_ignore', '--provider', 'stripe', '--note', 'test account'])
  expect(ignored.stderr).toBe('')
  expect(ignored.code).toBe(0)
  expect(ignored.stdout).toBe(`ignored ${dead}\n`)
  expect((await api('GET', `/events/${dead}`)).body).toMatchObject({ status: 'ignored', note: 'test account' })
  expect((await api('GET', `/events/${acmeId}`)).body.status).toBe('processed')
})

/**
 * @module Admin access for a team (HOOKLINE_ADMIN_TOKENS): named tokens with roles through the
 * service's app — a viewer reads and is refused every write (403, nothing changed or audited), an
 * operator's actions are audited under the token's name, and the shared HOOKLINE_ADMIN_TOKEN keeps
 * working as one operator token.
 */
import { type Handler, PermanentError } from '@hookline/core'
import { listenOnFreePort } from '@hookline/testkit'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../apps/hookline/src/service.ts'
import { type Harness, startHarness } from './support/harness.ts'

const VIEWER = 'viewer-token-0123456789abcdef'
const OPERATOR = 'operator-token-0123456789abcdef'
const SHARED = 'shared-token-0123456789abcdef'

const failing: Handler = async () => {
  throw new PermanentError('downstream refused it')
}

let h: Harness
let admin: { url: string; close(): Promise<void> }

beforeAll(async () => {
  h = await startHarness({ handlers: { '*': failing } })
  admin = await listenOnFreePort(
    createApp(h.hookline, {
      adminToken: SHARED,
      adminTokens: [
        { name: 'vic', role: 'viewer', token: VIEWER },
        { name: 'olga', role: 'operator', token: OPERATOR },
      ],
    }),
  )
})
afterAll(async () => {
  await admin?.close()
  await h?.close()
})

async function api(method: string, path: string, token: string, options: { body?: unknown; actor?: string } = {}): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` }
  if (options.actor) headers['x-hookline-actor'] = options.actor
  if (options.body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(`${admin.url}/admin/api${path}`, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : undefined }
}

const actors = async (id: string): Promise<string[]> =>
  (await h.prisma.$queryRawUnsafe<{ actor: string }[]>(`SELECT actor FROM hookline.hookline_audit_log WHERE event_id = $1::uuid ORDER BY id`, id)).map((r) => r.actor)

describe('named admin tokens', () => {
  let id: string

  beforeAll(async () => {
    id = await h.sendStripeEvent({ type: 'invoice.paid' })
    await h.waitForStatus(id, 'dead')
  })

  it('a viewer reads events, the DLQ and the stats', async () => {
    expect((await api('GET', '/events?limit=5', VIEWER)).body.events.map((e: { id: string }) => e.id)).toEqual([id])
    expect((await api('GET', '/dlq', VIEWER)).body.depth).toBe(1)
    expect((await api('GET', '/stats', VIEWER)).status).toBe(200)
    expect((await api('GET', '/pauses', VIEWER)).body).toEqual({ pauses: [] })
    expect((await api('GET', '/breakers', VIEWER)).status).toBe(200)
  })

  it('a viewer follows the event stream (read only, as the event detail)', async () => {
    const stop = new AbortController()
    const res = await fetch(`${admin.url}/admin/api/events/stream?since=1h`, { headers: { authorization: `Bearer ${VIEWER}` }, signal: stop.signal })
    expect(res.status).toBe(200)
    const reader = res.body!.getReader()
    let text = ''
    while (!text.includes(id)) {
      const chunk = await reader.read()
      if (chunk.done) break
      text += new TextDecoder().decode(chunk.value)
    }
    stop.abort()
    expect(text).toMatch(/^retry: 1000\nevent: ready\n/)
  })

  it.each([
    ['replay one', 'POST', () => `/events/${id}/replay`, {}],
    ['ignore one', 'POST', () => `/events/${id}/ignore`, { note: 'not ours' }],
    ['bulk replay', 'POST', () => '/replay', { status: ['dead'], dryRun: false }],
    ['reconcile', 'POST', () => '/reconcile', { provider: 'stripe' }],
    ['pause', 'POST', () => '/pause', { provider: 'stripe' }],
    ['resume', 'POST', () => '/resume', { provider: 'stripe' }],
  ])("a viewer's %s → 403, nothing changed or audited", async (_, method, path, body) => {
    const res = await api(method, path(), VIEWER, { body })
    expect(res.status).toBe(403)
    expect(res.body.error.code).toBe('hookline.admin_forbidden')
    expect((await h.hookline.events.get(id)).status).toBe('dead')
    expect(await actors(id)).toEqual([])
    expect(await h.hookline.pauses()).toEqual([])
  })

  it("an operator's replay is audited under the token's name, the declared actor a detail", async () => {
    const res = await api('POST', `/events/${id}/replay`, OPERATOR, { body: { note: 'fixed downstream' }, actor: 'ticket-4711' })
    expect(res.status).toBe(200)
    expect(res.body.enqueued).toBe(true)
    await h.waitForStatus(id, 'dead')
    expect(await actors(id)).toEqual(['olga (ticket-4711)'])
  })

  it('the shared token is an operator whose requests name their actor', async () => {
    const res = await api('POST', `/events/${id}/replay`, SHARED, { body: {}, actor: 'ana@support' })
    expect(res.status).toBe(200)
    await h.waitForStatus(id, 'dead')
    expect(await actors(id)).toEqual(['olga (ticket-4711)', 'ana@support'])
  })

  it('GET /whoami names the token and its role (what the console shows or hides)', async () => {
    expect((await api('GET', '/whoami', VIEWER)).body).toEqual({ name: 'vic', role: 'viewer' })
    expect((await api('GET', '/whoami', OPERATOR)).body).toEqual({ name: 'olga', role: 'operator' })
    expect((await api('GET', '/whoami', SHARED)).body).toEqual({ name: null, role: 'operator' })
  })

  it('GET /reconcile/runs lists no reconcilable provider when no adapter has API credentials', async () => {
    expect((await api('GET', '/reconcile/runs', VIEWER)).body).toEqual({ runs: [], reconcilable: [] })
  })

  it('an unknown token → 401', async () => {
    expect((await api('GET', '/events', 'not-a-token-0123456789abcdef')).status).toBe(401)
    expect((await api('GET', '/whoami', 'not-a-token-0123456789abcdef')).status).toBe(401)
  })
})

/**
 * On-demand reconciliation through the admin API (`POST /reconcile`, `GET /reconcile/runs`) and
 * the real `hookline reconcile` binary, against a running service, the fake Stripe API and real
 * Postgres and Redis.
 */
import { spawn } from 'node:child_process'
import { stripeAdapter } from '@hookline/stripe'
import { type FakeStripeApi, listenOnFreePort, signedStripeDelivery, STRIPE_TEST_SECRET, startFakeStripeApi, stripeEvent, waitFor } from '@hookline/testkit'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../apps/hookline/src/service.ts'
import { type Harness, startHarness } from './support/harness.ts'
import { ROOT_DIR, rootScript } from './support/root-script.ts'

const TOKEN = 'reconcile-admin-token-0123456789'
let api: FakeStripeApi
let h: Harness
let service: { url: string; close(): Promise<void> }

beforeAll(async () => {
  api = await startFakeStripeApi()
  h = await startHarness({ adapters: [stripeAdapter({ secrets: [STRIPE_TEST_SECRET], api: { apiKey: 'sk_test_fake', baseUrl: api.url, maxNetworkRetries: 0 } })] })
  service = await listenOnFreePort(createApp(h.hookline, { adminToken: TOKEN }))
})
afterAll(async () => {
  await service?.close()
  await h?.close()
  await api?.close()
})

function adminFetch(path: string, init: { method?: string; body?: unknown } = {}): Promise<Response> {
  return fetch(`${service.url}/admin/api${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  })
}

function hookline(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [command, rest] = rootScript('hookline')
  const child = spawn(command, [...rest, ...args], {
    cwd: ROOT_DIR,
    env: { ...process.env, HOOKLINE_URL: service.url, HOOKLINE_ADMIN_TOKEN: TOKEN },
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => (stdout += d))
  child.stderr.on('data', (d) => (stderr += d))
  child.stdin.end()
  return new Promise((done) => child.on('close', (code) => done({ code, stdout, stderr })))
}

describe('admin API', () => {
  it('POST /reconcile answers 202 with the run id; the run shows in /reconcile/runs when done', async () => {
    const events = [stripeEvent(), stripeEvent(), stripeEvent()]
    api.events.push(...events)
    const delivered = signedStripeDelivery(events[0])
    expect((await h.post('stripe', delivered.body, delivered.headers)).status).toBe(200)

    const res = await adminFetch('/reconcile', { method: 'POST', body: { provider: 'stripe' } })
    expect(res.status).toBe(202)
    const { runId } = (await res.json()) as { runId: string }
    const run = await waitFor(async () => {
      const { runs } = (await (await adminFetch('/reconcile/runs')).json()) as { runs: Record<string, unknown>[] }
      const found = runs.find((r) => r.id === runId)
      return found?.status === 'succeeded' ? found : undefined
    }, { what: 'the run to finish' })
    expect(run).toMatchObject({ provider: 'stripe', tenant: null, scanned: 3, known: 1, recovered: 2, errors: 0, startedAt: expect.any(String), finishedAt: expect.any(String) })
    // The providers *Reconcile now* can start (those with API credentials).
    expect(((await (await adminFetch('/reconcile/runs')).json()) as { reconcilable: string[] }).reconcilable).toEqual(['stripe'])
  })

  it('refuses a provider that cannot be reconciled, bad input, and requests without the token', async () => {
    expect((await adminFetch('/reconcile', { method: 'POST', body: { provider: 'nope' } })).status).toBe(400)
    expect((await adminFetch('/reconcile', { method: 'POST', body: { provider: 'stripe', since: 'last tuesday' } })).status).toBe(400)
    expect((await fetch(`${service.url}/admin/api/reconcile/runs`)).status).toBe(401)
    expect((await adminFetch('/reconcile/runs/not-a-run')).status).toBe(404)
  })
})

describe('hookline reconcile', () => {
  it('runs, follows and summarises; a dry run ingests nothing', async () => {
    const missing = [stripeEvent(), stripeEvent()]
    api.events.push(...missing)
    const dry = await hookline(['reconcile', '--provider', 'stripe', '--window', '2h', '--dry-run'])
    expect(dry.code).toBe(0)
    expect(dry.stdout).toMatch(/PROVIDER\s+TENANT\s+STATUS\s+SCANNED\s+KNOWN\s+MISSING/)
    expect(dry.stdout).toMatch(/stripe\s+-\s+succeeded \(dry run\)\s+5\s+3\s+2/)
    const stored = await h.prisma.event.count({ where: { eventKey: { in: missing.map((e) => e.id as string) } } })
    expect(stored).toBe(0)

    const real = await hookline(['reconcile', '--provider', 'stripe', '--json'])
    expect(real.code).toBe(0)
    const [run] = JSON.parse(real.stdout) as Record<string, unknown>[]
    expect(run).toMatchObject({ provider: 'stripe', status: 'succeeded', recovered: 2 })
    expect(await h.prisma.event.count({ where: { eventKey: { in: missing.map((e) => e.id as string) } } })).toBe(2)
  })

  it('exits 1 and says why when a run fails', async () => {
    api.failNext(Infinity)
    const res = await hookline(['reconcile', '--provider', 'stripe'])
    api.failNext(0)
    expect(res.code).toBe(1)
    expect(res.stdout).toMatch(/stripe\s+-\s+failed/)
    expect(res.stdout).toMatch(/error \(stripe\): .*unknown error/i)
    expect(res.stderr).toContain('1 of 1 run(s) failed')
  })

  it('has --help and refuses --since with --window', async () => {
    const help = await hookline(['reconcile', '--help'])
    expect(help.stdout).toContain('--dry-run')
    expect(help.stdout).toContain('--json')
    expect((await hookline(['reconcile', '--since', '1d', '--window', '2h'])).code).toBe(2)
  })
})

/**
 * Alerts from the service as users run it (`pnpm start`: ingress and worker processes): a
 * PermanentError in the worker process and forged requests at the ingress reach the signed
 * webhook sink of HOOKLINE_ALERT_URLS and the `onAlert` of HOOKLINE_HANDLERS. The Prometheus rules
 * pass `promtool check rules`, and every metric they and the Grafana dashboard use is on /metrics.
 */
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPrismaClient } from '@hookline/db'
import { listenOnFreePort, signedStripeDelivery, STRIPE_TEST_SECRET, stripeEvent, testQueuePrefix, waitFor } from '@hookline/testkit'
import { Webhook } from 'standardwebhooks'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { ROOT_DIR } from './support/root-script.ts'
import { type StartedService, startService } from './support/service-launcher.ts'

const ALERT_SECRET = `whsec_${Buffer.from('service-alert-secret-0123456789').toString('base64')}`
const dbName = `hookline_alerts_${randomBytes(5).toString('hex')}`
const databaseUrl = `postgresql://postgres@127.0.0.1:5432/${dbName}`
const queue = testQueuePrefix()
const received: { headers: Record<string, string>; body: string }[] = []
let sink: Awaited<ReturnType<typeof listenOnFreePort>>
let service: StartedService
let baseUrl: string
let hookFile: string

/** Verified alerts the sink received, of `type`. */
const alertsOf = (type: string) => received.map((r) => new Webhook(ALERT_SECRET).verify(r.body, r.headers) as { type: string; details: { ids: string[]; count: number } }).filter((a) => a.type === type)

beforeAll(async () => {
  sink = await listenOnFreePort((req, res) => {
    let body = ''
    req.on('data', (c) => (body += c))
    req.on('end', () => {
      received.push({ headers: req.headers as Record<string, string>, body })
      res.writeHead(204).end()
    })
  })
  hookFile = join(await mkdtemp(join(tmpdir(), 'hookline-alerts-')), 'alerts.jsonl')
  service = await startService({
    DATABASE_URL: databaseUrl,
    HOOKLINE_QUEUE_PREFIX: queue.prefix,
    HOOKLINE_HANDLERS: 'test/fixtures/alert-handlers.mjs',
    ALERT_HOOK_FILE: hookFile,
    STRIPE_WEBHOOK_SECRET: STRIPE_TEST_SECRET,
    HOOKLINE_ALERT_URLS: `${sink.url}/hookline`,
    HOOKLINE_ALERT_SECRET: ALERT_SECRET,
    HOOKLINE_ALERT_DIGEST_MS: '2000',
  })
  baseUrl = service.url
})

afterAll(async () => {
  await service?.stop()
  await sink?.close()
  await queue.cleanup()
  const admin = createPrismaClient('postgresql://postgres@127.0.0.1:5432/postgres')
  await admin.$executeRawUnsafe(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).finally(() => admin.$disconnect())
})

it('sends a dead letter of the worker process to the sink and to onAlert', async () => {
  const { body, headers } = signedStripeDelivery(stripeEvent({ type: 'test.reject' }))
  const res = await fetch(`${baseUrl}/webhooks/stripe`, { method: 'POST', body, headers })
  expect(res.status).toBe(200)
  const { id } = (await res.json()) as { id: string }
  await waitFor(async () => alertsOf('dead_letter').length === 1, { what: `the dead_letter alert:\n${service.output()}`, timeoutMs: 20_000 })
  expect(alertsOf('dead_letter')[0]!.details).toMatchObject({ count: 1, ids: [id] })
  await waitFor(async () => (await readFile(hookFile, 'utf8').catch(() => '')).includes(id), { what: 'onAlert of HOOKLINE_HANDLERS' })
})

it('counts forged requests at the ingress into one rejection_spike', async () => {
  const { body, headers } = signedStripeDelivery(stripeEvent(), { secret: 'whsec_forged' })
  for (let i = 0; i < 30; i++) expect((await fetch(`${baseUrl}/webhooks/stripe`, { method: 'POST', body, headers })).status).toBe(401)
  await waitFor(async () => alertsOf('rejection_spike').reduce((n, a) => n + a.details.count, 0) === 30, { what: `the rejection_spike alert:\n${service.output()}`, timeoutMs: 20_000 })
  expect(alertsOf('rejection_spike').filter((a) => !(a.details as { digest?: boolean }).digest)).toHaveLength(1)
})

it('ships Prometheus rules that promtool accepts, over metrics /metrics exports, and a dashboard over them too', async () => {
  const rules = join(ROOT_DIR, 'deploy/prometheus/hookline-rules.yml')
  expect(execFileSync('promtool', ['check', 'rules', rules], { encoding: 'utf8' })).toContain('SUCCESS: 7 rules found')
  const metrics = await (await fetch(`${baseUrl}/metrics`)).text()
  const exported = new Set([...metrics.matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap(([, name, type]) => (type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name!])))
  const used = (text: string) => new Set([...text.matchAll(/\bhookline_[a-z_]+\b/g)].map(([name]) => name))
  const dashboard = JSON.parse(readFileSync(join(ROOT_DIR, 'deploy/grafana/hookline-dashboard.json'), 'utf8')) as { panels: { targets: { expr: string }[] }[] }
  const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)).join('\n')
  const ruleNames = used(readFileSync(rules, 'utf8').replace(/^\s*(- )?alert: .*$/gm, ''))
  expect(ruleNames.size).toBeGreaterThan(5)
  expect([...ruleNames].filter((n) => !exported.has(n))).toEqual([])
  expect([...used(exprs)].filter((n) => !exported.has(n))).toEqual([])
})

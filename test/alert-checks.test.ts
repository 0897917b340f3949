/**
 * The periodic and reconcile alert kinds in library use (`alerts.onAlert`, through the alerts
 * queue, real Postgres and Redis): `dlq_depth` above its threshold, `provider_silent` for a
 * provider that sent nothing, `reconcile_failed` for a run whose provider API is unreachable, and a
 * disabled kind that never comes.
 */
import { type Alert, PermanentError } from '@hookline/core'
import { stripeAdapter } from '@hookline/stripe'
import { STRIPE_TEST_SECRET, waitFor } from '@hookline/testkit'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { type Harness, startHarness } from './support/harness.ts'

const alerts: Alert[] = []
let h: Harness

beforeAll(async () => {
  h = await startHarness({
    // Port 9 (discard) on localhost: nothing answers, so reconciliation fails.
    adapters: [stripeAdapter({ secrets: [STRIPE_TEST_SECRET], api: { apiKey: 'sk_test_fake', baseUrl: 'http://127.0.0.1:9', maxNetworkRetries: 0 } })],
    handlers: { '*': async () => { throw new PermanentError('cannot apply') } },
    alerts: { onAlert: (alert) => void alerts.push(alert), disabled: ['dead_letter'], dlqDepth: 2, silenceMs: 1000, checkIntervalMs: 300, groupWaitMs: 100, digestMs: 60_000 },
  })
})

afterAll(async () => {
  await h?.close()
})

it('raises provider_silent for an enabled provider that sent no webhook', async () => {
  await waitFor(async () => alerts.find((a) => a.type === 'provider_silent'), { what: 'provider_silent', timeoutMs: 15_000 })
  expect(alerts.find((a) => a.type === 'provider_silent')).toMatchObject({ provider: 'stripe', severity: 'warning', links: expect.arrayContaining([expect.objectContaining({ command: 'hookline events list --provider stripe' })]) })
})

it('raises dlq_depth once the DLQ holds more than its threshold, and no disabled dead_letter', async () => {
  const ids = await Promise.all([1, 2, 3].map(() => h.sendStripeEvent({ type: 'invoice.paid' })))
  for (const id of ids) await h.waitForStatus(id, 'dead')
  await waitFor(async () => alerts.find((a) => a.type === 'dlq_depth'), { what: 'dlq_depth', timeoutMs: 15_000 })
  expect(alerts.find((a) => a.type === 'dlq_depth')!.details).toMatchObject({ depth: 3, threshold: 2 })
  expect(alerts.filter((a) => a.type === 'dead_letter')).toEqual([])
})

it('raises reconcile_failed with the error of a run that failed', async () => {
  const run = await h.hookline.reconcileNow({ provider: 'stripe', trigger: 'test' })
  expect(run.status).toBe('failed')
  await waitFor(async () => alerts.find((a) => a.type === 'reconcile_failed'), { what: 'reconcile_failed', timeoutMs: 15_000 })
  const alert = alerts.find((a) => a.type === 'reconcile_failed')!
  expect(alert).toMatchObject({ provider: 'stripe', severity: 'critical', details: { count: 1, ids: [run.id] } })
  expect(alert.details.error).toBe(run.lastError)
})

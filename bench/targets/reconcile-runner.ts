/**
 * @module A measured reconciliation process: Hookline's reconcile engine with the Stripe adapter
 * pointed at a fake events API (the official client pages it), ingesting what the inbox lacks.
 */
import { createHookline } from '@hookline/core'
import { stripeAdapter } from '@hookline/stripe'
import { STRIPE_TEST_SECRET } from '@hookline/testkit/secrets'
import { pino } from 'pino'
import { childConfig, serveParent } from '../support/serve-parent.ts'

/** Configuration of the reconcile runner. */
export interface ReconcileRunnerConfig {
  databaseUrl: string
  redisUrl: string
  queuePrefix: string
  /** Base URL of the fake Stripe API. */
  apiUrl: string
}

const config = childConfig<ReconcileRunnerConfig>()
const hookline = createHookline({
  databaseUrl: config.databaseUrl,
  redisUrl: config.redisUrl,
  adapters: [stripeAdapter({ secrets: [STRIPE_TEST_SECRET], api: { apiKey: 'sk_test_bench', baseUrl: config.apiUrl, maxNetworkRetries: 0 } })],
  logger: pino({ level: 'warn' }),
  queue: { prefix: config.queuePrefix },
})

serveParent(
  {},
  {
    run: async ({ sinceMs }: { sinceMs: number }) => {
      const started = performance.now()
      const run = await hookline.reconcileNow({ provider: 'stripe', since: new Date(sinceMs), trigger: 'bench' })
      return { seconds: (performance.now() - started) / 1000, run }
    },
  },
  () => hookline.close(),
)

/**
 * @module Reconciliation: the testkit's fake Stripe events API holds N events the inbox has never
 * seen; one run pages through all of them (100 per page, the API's maximum) and ingests them.
 */
import { startFakeStripeApi, stripeEvent } from '@hookline/testkit'
import { forkChild } from '../support/child.ts'
import { type Infra, REDIS_URL } from '../support/infra.ts'
import type { ReconcileRunnerConfig } from '../targets/reconcile-runner.ts'

/** What the reconciliation scenario measured. */
export interface ReconcileResult {
  events: number
  seconds: number
  /** Events recovered per second. */
  rate: number
  recovered: number
  scanned: number
  runnerPeakRss: number
}

/**
 * Runs one reconciliation of `count` missing events.
 *
 * @example
 * const result = await runReconcile(infra, 100_000)
 */
export async function runReconcile(infra: Infra, count: number): Promise<ReconcileResult> {
  const now = Math.floor(Date.now() / 1000)
  // Newest first, as the fake sorts them: its per-page sort then finds them already in order.
  const events = Array.from({ length: count }, (_, i) => stripeEvent({ id: `evt_rec_${String(count - i).padStart(7, '0')}`, created: now - 60 - Math.floor(i / 10) }))
  const api = await startFakeStripeApi(events)
  const sandbox = await infra.sandbox()
  const runner = await forkChild('targets/reconcile-runner.ts', { ...sandbox, redisUrl: REDIS_URL, apiUrl: api.url } satisfies ReconcileRunnerConfig)
  try {
    const { seconds, run } = await runner.call<{ seconds: number; run: { recovered: number; scanned: number; status: string; errors: unknown } }>('run', { sinceMs: (now - 24 * 3600) * 1000 })
    if (run.status !== 'succeeded') throw new Error(`reconciliation ${run.status}: ${JSON.stringify(run.errors)}`)
    return { events: count, seconds, rate: run.recovered / seconds, recovered: run.recovered, scanned: run.scanned, runnerPeakRss: await runner.peakRssBytes() }
  } finally {
    await runner.stop()
    await api.close()
  }
}

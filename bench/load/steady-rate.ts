/**
 * @module An open-loop load at a steady rate, as a provider's deliveries arrive: every millisecond
 * the requests that have fallen due leave, answered or not the earlier ones, and each answer's
 * latency counts from when its request was due, so a target that falls behind shows it.
 * autocannon's `overallRate` instead sends each connection's quota for a second at the start of
 * that second: pulses at full concurrency, a burst test rather than a rate.
 */
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { Pool } from 'undici'
import type { SignedRequest } from '@hookline/testkit'
import type { LoadResult } from './load-generator.ts'

/** One steady-rate run. */
export interface SteadyRun {
  url: string
  path: string
  /** Requests per second. */
  rate: number
  durationSeconds: number
  /** Most connections open at once; requests beyond them wait in the pool, their latency running. */
  connections: number
  /** The request to send next. */
  next: () => SignedRequest
}

/** How long a request may wait for its answer, as autocannon's `timeout` in the other runs. */
const ANSWER_TIMEOUT_MS = 30_000

/**
 * Offers `rate` requests per second for `durationSeconds`, then waits for the last answers.
 *
 * @example
 * const result = await runSteadyRate({ url, path: '/webhooks/stripe', rate: 2000, durationSeconds: 60, connections: 200, next })
 */
export async function runSteadyRate(run: SteadyRun): Promise<LoadResult> {
  const pool = new Pool(run.url, { connections: run.connections, headersTimeout: ANSWER_TIMEOUT_MS, bodyTimeout: ANSWER_TIMEOUT_MS })
  const latencies: number[] = []
  const counts = { ok: 0, non2xx: 0, errors: 0, timeouts: 0 }
  const answers: Promise<void>[] = []
  let bodyBytes = 0
  let lastAnswer = 0
  const send = (request: SignedRequest, dueAt: number): Promise<void> =>
    pool.request({ method: 'POST', path: run.path, headers: request.headers, body: request.body }).then(
      async (res) => {
        await res.body.dump()
        lastAnswer = performance.now()
        latencies.push(lastAnswer - dueAt)
        if (res.statusCode >= 200 && res.statusCode < 300) counts.ok++
        else counts.non2xx++
      },
      (err: { code?: string }) => {
        lastAnswer = performance.now()
        if (err.code === 'UND_ERR_HEADERS_TIMEOUT' || err.code === 'UND_ERR_BODY_TIMEOUT') counts.timeouts++
        else counts.errors++
      },
    )
  const start = performance.now()
  const total = Math.round(run.rate * run.durationSeconds)
  let sent = 0
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * run.rate))
    for (; sent < due; sent++) {
      const request = run.next()
      if (sent === 0) bodyBytes = Buffer.byteLength(request.body)
      answers.push(send(request, start + (sent / run.rate) * 1000))
    }
    await sleep(1)
  }
  await Promise.all(answers)
  await pool.close()
  latencies.sort((a, b) => a - b)
  const at = (q: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0)
  const seconds = Math.max(run.durationSeconds, (lastAnswer - start) / 1000)
  return { rate: counts.ok / seconds, p50: at(0.5), p99: at(0.99), max: at(1), ...counts, seconds, wrapped: 0, bodyBytes }
}

/**
 * @module The load generator process: builds a sequence of pre-signed deliveries, then replays it
 * with autocannon against one target. It runs apart from the target so that their CPU use is
 * measured apart, and signs everything before the clock starts.
 */
import autocannon from 'autocannon'
import { serveParent } from '../support/serve-parent.ts'
import type { SignedRequest } from '@hookline/testkit'
import { buildDeliveries, type DeliveryMix } from './deliveries.ts'

/** One load run. */
export interface LoadRun {
  /** Base URL of the target. */
  url: string
  /** Where the requests go, e.g. `/webhooks/stripe`. */
  path: string
  /** What to send; the sequence is cycled when the target takes more than `mix.count`. */
  mix: DeliveryMix
  connections: number
  durationSeconds: number
  /** Fixed offered rate (requests/s over all connections); unset = as fast as the target answers. */
  overallRate?: number
}

/** What one load run measured. */
export interface LoadResult {
  /** 2xx answers per second over the run. */
  rate: number
  /** Latency percentiles over every answer, in milliseconds. */
  p50: number
  p99: number
  max: number
  ok: number
  non2xx: number
  errors: number
  timeouts: number
  seconds: number
  /** Requests sent beyond the sequence (repeats of earlier events: the pool was too small). */
  wrapped: number
  /** Bytes of the first request body. */
  bodyBytes: number
}

/** The sequence `prepare` built last, and the mix it was built for. */
let prepared: { key: string; sequence: SignedRequest[] } | undefined

/**
 * Signs the sequence of `mix` ahead of a run of the same mix, so that the signing falls outside
 * the run (and outside the CPU a caller measures around it).
 */
async function prepare(mix: DeliveryMix): Promise<void> {
  prepared = { key: JSON.stringify(mix), sequence: await buildDeliveries(mix) }
}

async function run(load: LoadRun): Promise<LoadResult> {
  const sequence = prepared?.key === JSON.stringify(load.mix) ? prepared.sequence : await buildDeliveries(load.mix)
  prepared = undefined
  let sent = 0
  const result = await autocannon({
    url: load.url,
    connections: load.connections,
    duration: load.durationSeconds,
    timeout: 30,
    // At a fixed rate, each answer's own latency: autocannon's coordinated-omission correction
    // takes ceil(1 / rate) ms as the expected interval, with `rate` per connection and second (so
    // 1 ms), and records every answer as if it had delayed that many requests: a 30 ms answer
    // became 30 samples, from 30 ms down to 1 ms.
    ...(load.overallRate ? { overallRate: load.overallRate, ignoreCoordinatedOmission: true } : {}),
    requests: [
      {
        method: 'POST',
        path: load.path,
        setupRequest: (request) => {
          const delivery = sequence[sent++ % sequence.length]!
          return { ...request, body: delivery.body, headers: delivery.headers }
        },
      },
    ],
  })
  return {
    rate: result['2xx'] / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    seconds: result.duration,
    wrapped: Math.max(0, sent - sequence.length),
    bodyBytes: Buffer.byteLength(sequence[0]?.body ?? ''),
  }
}

serveParent({}, { prepare, run })

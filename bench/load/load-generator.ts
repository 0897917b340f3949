/**
 * @module The load generator process: builds a sequence of pre-signed deliveries, then replays it
 * with autocannon against one target. It runs apart from the target so that their CPU use is
 * measured apart, and signs everything before the clock starts.
 */
import autocannon from 'autocannon'
import { serveParent } from '../support/serve-parent.ts'
import type { SignedRequest } from '@hookline/testkit'
import { buildDeliveries, type DeliveryMix } from './deliveries.ts'
import { runSteadyRate } from './steady-rate.ts'

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
  /** Steady offered rate (requests/s, open loop: see `steady-rate.ts`); unset = as fast as the target answers. */
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
  const next = () => sequence[sent++ % sequence.length]!
  if (load.overallRate) {
    const result = await runSteadyRate({ url: load.url, path: load.path, rate: load.overallRate, durationSeconds: load.durationSeconds, connections: load.connections, next })
    return { ...result, wrapped: Math.max(0, sent - sequence.length) }
  }
  const result = await autocannon({
    url: load.url,
    connections: load.connections,
    duration: load.durationSeconds,
    timeout: 30,
    requests: [
      {
        method: 'POST',
        path: load.path,
        setupRequest: (request) => {
          const delivery = next()
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

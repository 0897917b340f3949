/**
 * @module The part of autocannon's programmatic API the load generator uses (the package ships
 * no types).
 */
declare module 'autocannon' {
  /** One request template; `setupRequest` may replace it before each send. */
  interface RequestTemplate {
    method?: string
    path?: string
    headers?: Record<string, string>
    body?: string | Buffer
    setupRequest?: (request: RequestTemplate, context: Record<string, unknown>) => RequestTemplate
  }
  /** Options of a run. */
  interface Options {
    url: string
    connections?: number
    duration?: number
    amount?: number
    timeout?: number
    pipelining?: number
    requests?: RequestTemplate[]
  }
  /** Latency percentiles (ms) and other statistics of a run. */
  interface Histogram {
    average: number
    mean: number
    max: number
    min: number
    p50: number
    p90: number
    p97_5: number
    p99: number
    total: number
  }
  /** Result of a run. */
  interface Result {
    latency: Histogram
    requests: Histogram & { sent: number }
    throughput: Histogram
    duration: number
    errors: number
    timeouts: number
    non2xx: number
    '2xx': number
    statusCodeStats: Record<string, { count: number }>
  }
  function autocannon(options: Options): Promise<Result>
  export default autocannon
}

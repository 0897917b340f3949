/**
 * @module Prometheus metrics of one Hookline instance (prom-client), on a registry of its own so
 * that several instances can live in one process, and rendered together with the metrics of the
 * service's other processes (its worker processes) when it has any.
 */
import { AggregatorRegistry, Counter, Gauge, Histogram, type MetricObjectWithValues, type MetricValue, Registry, collectDefaultMetrics } from 'prom-client'

/** Every metric of one process, as plain data (what crosses from a worker process to the ingress). */
export type MetricsSnapshot = MetricObjectWithValues<MetricValue<string>>[]

/** The metrics Hookline records; `render()` renders them for `/metrics`. */
export class HooklineMetrics {
  /** The registry holding every Hookline metric (and Node's default process metrics). */
  readonly registry = new Registry()
  /** Verified deliveries accepted (new events and duplicates). */
  readonly received = new Counter({ name: 'hookline_webhooks_received_total', help: 'Verified webhook deliveries made durable', labelNames: ['provider'] as const, registers: [this.registry] })
  /** Deliveries refused, by error code. */
  readonly rejected = new Counter({ name: 'hookline_webhooks_rejected_total', help: 'Webhook requests refused, by reason', labelNames: ['provider', 'reason'] as const, registers: [this.registry] })
  /** Deliveries of an event already in the inbox. */
  readonly duplicates = new Counter({ name: 'hookline_webhooks_duplicates_total', help: 'Deliveries of events already in the inbox', labelNames: ['provider'] as const, registers: [this.registry] })
  /** Stored events whose job could not be queued (the sweeper will). */
  readonly enqueueFailures = new Counter({ name: 'hookline_enqueue_failures_total', help: 'Stored events whose queue job could not be added (recovered by the sweeper)', labelNames: ['provider'] as const, registers: [this.registry] })
  /** Events processed, by outcome (`succeeded`, `stale`). */
  readonly processed = new Counter({ name: 'hookline_events_processed_total', help: 'Events processed', labelNames: ['provider', 'outcome'] as const, registers: [this.registry] })
  /** Events put back to wait for an earlier event of their entity (no attempt spent). */
  readonly waited = new Counter({ name: 'hookline_events_waited_total', help: 'Events put back to wait for an earlier unfinished event of their entity', labelNames: ['provider'] as const, registers: [this.registry] })
  /** Events put back without spending an attempt because a pause or an open circuit breaker holds them. */
  readonly held = new Counter({ name: 'hookline_events_held_total', help: 'Events held without spending an attempt, by reason (paused, breaker)', labelNames: ['provider', 'reason'] as const, registers: [this.registry] })
  /** Time workers held batches back for a saturated ingress (see `worker.yieldMs`). */
  readonly yielded = new Counter({ name: 'hookline_worker_yield_seconds_total', help: 'Seconds worker batches waited for a saturated ingress', registers: [this.registry] })
  /** Batches a worker ran alone, with what had gathered, while the ingress was saturated. */
  readonly batchesAlone = new Counter({ name: 'hookline_worker_batches_alone_total', help: 'Worker batches run one at a time while the ingress was saturated', registers: [this.registry] })
  /** Circuit breakers opened (or reopened after a failed probe), by route. */
  readonly breakerOpened = new Counter({ name: 'hookline_breaker_opened_total', help: 'Circuit breakers opened or reopened, by route', labelNames: ['route'] as const, registers: [this.registry] })
  /** Failed attempts that were scheduled for a retry. */
  readonly retried = new Counter({ name: 'hookline_events_retried_total', help: 'Failed attempts scheduled for a retry', labelNames: ['provider'] as const, registers: [this.registry] })
  /** Events dead-lettered. */
  readonly dead = new Counter({ name: 'hookline_events_dead_total', help: 'Events moved to the dead-letter queue', labelNames: ['provider'] as const, registers: [this.registry] })
  /** Jobs re-added by the sweeper. */
  readonly swept = new Counter({ name: 'hookline_sweeper_requeued_total', help: 'Overdue inbox events re-enqueued by the sweeper', registers: [this.registry] })
  /** Reconciliation runs finished, by status. */
  readonly reconcileRuns = new Counter({ name: 'hookline_reconcile_runs_total', help: 'Reconciliation runs finished, by status', labelNames: ['provider', 'status'] as const, registers: [this.registry] })
  /** Provider events looked at by reconciliation. */
  readonly reconcileScanned = new Counter({ name: 'hookline_reconcile_scanned_total', help: 'Provider events looked at by reconciliation', labelNames: ['provider'] as const, registers: [this.registry] })
  /** Events reconciliation found missing from the inbox: evidence that the webhook path lost them. */
  readonly reconcileRecovered = new Counter({ name: 'hookline_reconcile_recovered_total', help: 'Events recovered by reconciliation (missed by the webhook path)', labelNames: ['provider'] as const, registers: [this.registry] })
  /** Alerts delivered to a sink, by alert type. */
  readonly alertsDelivered = new Counter({ name: 'hookline_alerts_delivered_total', help: 'Alerts delivered to a sink, by alert type', labelNames: ['type'] as const, registers: [this.registry] })
  /** Failed tries of an alert delivery (each is retried with backoff). */
  readonly alertDeliveryFailures = new Counter({ name: 'hookline_alert_delivery_failures_total', help: 'Failed tries of an alert delivery, by sink', labelNames: ['sink'] as const, registers: [this.registry] })
  /** Time from request arrival to the durable insert. */
  readonly ingestDuration = new Histogram({ name: 'hookline_ingest_duration_seconds', help: 'Verify + parse + durable insert of one delivery', labelNames: ['provider'] as const, buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [this.registry] })
  /** Time of one processing attempt. */
  readonly processingDuration = new Histogram({ name: 'hookline_processing_duration_seconds', help: 'One processing attempt, handler and commit included', labelNames: ['provider'] as const, buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30], registers: [this.registry] })
  /** Time from receipt to the processed mark. */
  readonly endToEnd = new Histogram({ name: 'hookline_event_latency_seconds', help: 'From receipt to processed', labelNames: ['provider'] as const, buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60, 600], registers: [this.registry] })

  /** Events written to the outbox (`ctx.emit`, `hookline.emit`; a rolled-back emit counts too). */
  readonly outboxEmitted = new Counter({ name: 'hookline_outbox_emitted_total', help: 'Outbox emits (including those whose transaction rolled back)', registers: [this.registry] })
  /** Outbox events moved into the inbox by the relay. */
  readonly outboxRelayed = new Counter({ name: 'hookline_outbox_relayed_total', help: 'Outbox events moved into the inbox by the relay', registers: [this.registry] })

  /** Rows retention removed: `events`, `payloads` (the payload of a kept event), `audit`. */
  readonly pruned = new Counter({ name: 'hookline_pruned_total', help: 'Rows removed by retention, by what', labelNames: ['what'] as const, registers: [this.registry] })

  private peers: () => Promise<MetricsSnapshot[]> = async () => []

  constructor(
    options: {
      dlqDepth?: () => Promise<number>
      outboxLag?: () => Promise<number>
      breakers?: () => Promise<{ route: string; state: string }[]>
      heldNow?: () => Promise<{ provider: string; reason: string; count: number }[]>
      openIssues?: () => Promise<number>
      defaultMetrics?: boolean
    } = {},
  ) {
    const { dlqDepth, outboxLag, breakers, heldNow, openIssues } = options
    if (breakers) {
      new Gauge({
        name: 'hookline_breaker_state',
        help: 'Circuit breaker state by route: 0 closed, 1 half-open (a probe runs), 2 open',
        labelNames: ['route'] as const,
        registers: [this.registry],
        // Every process reads the same shared state: merged, it is one value per route.
        aggregator: 'max',
        async collect() {
          await breakers().then(
            (list) => {
              for (const b of list) this.set({ route: b.route }, b.state === 'open' ? 2 : b.state === 'half_open' ? 1 : 0)
            },
            () => undefined,
          )
        },
      })
    }
    if (heldNow) {
      new Gauge({
        name: 'hookline_events_held',
        help: 'Events waiting now because a pause or a circuit breaker that is not closed holds them, by reason (paused, breaker)',
        labelNames: ['provider', 'reason'] as const,
        registers: [this.registry],
        aggregator: 'max',
        async collect() {
          await heldNow().then(
            (counts) => {
              // A provider no longer held drops to nothing rather than keeping its last count.
              this.reset()
              for (const { provider, reason, count } of counts) this.set({ provider, reason }, count)
            },
            () => undefined,
          )
        },
      })
    }
    if (dlqDepth) {
      new Gauge({
        name: 'hookline_dlq_depth',
        help: 'Events in the dead-letter queue (status dead)',
        registers: [this.registry],
        // Every process of a service reads the same table: merged, it is one value, not a sum.
        aggregator: 'max',
        async collect() {
          // A scrape while the database is down keeps the last value instead of failing /metrics.
          await dlqDepth().then((n) => this.set(n), () => undefined)
        },
      })
    }
    if (outboxLag) {
      new Gauge({
        name: 'hookline_outbox_lag_seconds',
        help: 'Age of the oldest outbox event not yet relayed into the inbox (0 when none)',
        registers: [this.registry],
        aggregator: 'max',
        async collect() {
          await outboxLag().then((s) => this.set(s), () => undefined)
        },
      })
    }
    if (openIssues) {
      new Gauge({
        name: 'hookline_open_issues',
        help: 'Issues (failures grouped by route, error class and message) open now',
        registers: [this.registry],
        aggregator: 'max',
        async collect() {
          await openIssues().then((n) => this.set(n), () => undefined)
        },
      })
    }
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry })
  }

  /**
   * This process's metrics as plain data, for another process to merge.
   *
   * @example
   * process.send?.({ metrics: await hookline.metrics.snapshot() })
   */
  snapshot(): Promise<MetricsSnapshot> {
    return this.registry.getMetricsAsJSON()
  }

  /**
   * Makes `render()` include the metrics of other processes of the same service (its worker
   * processes): `source` returns their current snapshots.
   *
   * @example
   * hookline.metrics.includeProcesses(() => workers.snapshots())
   */
  includeProcesses(source: () => Promise<MetricsSnapshot[]>): void {
    this.peers = source
  }

  /**
   * The Prometheus text of this process, merged with the processes given to
   * `includeProcesses`: counters and histograms summed, gauges as prom-client's cluster mode
   * aggregates them (the DLQ depth once, not once per process).
   *
   * @example
   * res.type(hookline.metrics.registry.contentType).send(await hookline.metrics.render())
   */
  async render(): Promise<string> {
    const peers = await this.peers()
    if (peers.length === 0) return this.registry.metrics()
    return AggregatorRegistry.aggregate([await this.snapshot(), ...peers]).metrics()
  }
}

/**
 * @module Hookline core: what an application writes against — `createHookline` and its options,
 * the handler and event types, the adapter contract, the typed errors, the retry policy, the reply
 * of the HTTP bindings and `migrate`. Hookline's own packages, tests and benchmarks also use the
 * internals in `@hookline/core/internal`, which change with the implementation.
 *
 * @example
 * import { createHookline, PermanentError } from '@hookline/core'
 */
export { DEFAULT_SCHEMA, migrate, type MigrateOptions, type MigrateResult } from '@hookline/db'
export type { ImmediateReply, ParsedEvent, ProviderAdapter, RawRequest, ReconcileContext, ReconcilePage } from './adapter.ts'
export type { Alert, AlertDetails, AlertHook, AlertKind, AlertLink, AlertOccurrence, AlertSeverity } from './alerts/alert.ts'
export { ALERT_KINDS } from './alerts/alert-kinds.ts'
export { DEFAULT_ALERT_OPTIONS, type AlertOptions } from './alerts/alert-options.ts'
export { alertSinksFromUrls, hookSink, type AlertSink } from './alerts/alert-sink.ts'
export { slackMessage } from './alerts/slack-sink.ts'
export * from './errors.ts'
export type { EventSource, Handler, HandlerContext, HandlerMap, HooklineEvent, TransactionClient } from './handler.ts'
export { createHookline, DEFAULT_HOOKLINE_OPTIONS, Hookline, RECONCILE_SCHEDULER_ID, type HooklineOptions } from './hookline.ts'
export { DEFAULT_INGEST_BATCH_OPTIONS, type IngestBatchOptions } from './ingest/ingest-batcher.ts'
export { DEFAULT_FETCH_HANDLER_OPTIONS, fetchHandler, type FetchHandlerOptions } from './ingest/fetch-handler.ts'
export type { ReceiveResult } from './ingest/receiver.ts'
export { DEFAULT_REPLY_OPTIONS, errorReply, type ReplyOptions, type WebhookReply } from './ingest/webhook-reply.ts'
export type { HooklineMetrics, MetricsSnapshot } from './metrics.ts'
export { DEFAULT_SWEEPER_OPTIONS, SWEEPER_SCHEDULER_ID, type SweeperOptions } from './queue/sweeper.ts'
export { DEFAULT_RECONCILE_SETTINGS, type ReconcileAlertHook, type ReconcileRequest, type ReconcileRun, type ReconcileSettings } from './reconcile/reconcile-types.ts'
export type { SqlClient } from './store/sql-runner.ts'
export type { AuditAction, AuditEntry } from './store/audit-log.ts'
export type { EventFilter, EventStatus } from './support/event-filter.ts'
export type { EventStats, StatsBucket } from './support/event-stats.ts'
export type { AttemptRecord, EventDetail, EventListRequest, EventPage, EventSummary } from './support/events-query.ts'
export { REDACTED, Redaction } from './support/redaction.ts'
export { DEFAULT_REPLAY_SETTINGS, type ActionContext, type ReplayManyRequest, type ReplayManyResult, type ReplayOneResult, type ReplaySettings } from './support/replay.ts'
export { DEFAULT_RETRY_POLICY, backoffDelayMs, retryPolicy, type RetryPolicy } from './worker/retry-policy.ts'
export { DEFAULT_WORKER_OPTIONS, type DeadLetterHook, type WorkerOptions } from './worker/worker-options.ts'

/**
 * @module Hookline core: the adapter contract, the durable inbox, the worker with retries and dead
 * letters, the sweeper, metrics, and support's query, replay and audit. No provider code and no
 * HTTP framework code.
 *
 * @example
 * import { createHookline, PermanentError } from '@hookline/core'
 */
export type { ImmediateReply, ParsedEvent, ProviderAdapter, RawRequest, ReconcileContext, ReconcilePage } from './adapter.ts'
export { Dispatcher, PROCESS_BATCH_JOB, PROCESS_JOB, RECONCILE_JOB, SWEEP_JOB, type QueueConfig } from './dispatcher.ts'
export * from './errors.ts'
export { DEFAULT_WORKER_OPTIONS, EventWorker, type DeadLetterHook, type WorkerOptions } from './event-worker.ts'
export { resolveHandler, type EventSource, type Handler, type HandlerContext, type HandlerMap, type HooklineEvent, type TransactionClient } from './handler.ts'
export { createHookline, Hookline, RECONCILE_SCHEDULER_ID, type HooklineOptions, type ReceiveResult } from './hookline.ts'
export { Reconciler, reconcileRequestSchema, reconcileRunsQuerySchema, type ReconcileAlertHook, type ReconcileRequest, type ReconcileRun, type ReconcileSettings } from './reconciler.ts'
export { Inbox, PAYLOAD_JSON, type BatchDelivery, type BatchInsertResult, type ClaimedEvent, type InsertResult, type SqlClient } from './inbox.ts'
export { DEFAULT_FETCH_HANDLER_OPTIONS, fetchHandler, type FetchHandlerOptions } from './ingest/fetch-handler.ts'
export { DEFAULT_REPLY_OPTIONS, errorReply, jsonReply, type ReplyOptions, type WebhookReply } from './ingest/webhook-reply.ts'
export { IngestBatcher, type AfterCommit, type IngestBatchOptions, type StoredEvent } from './ingest-batcher.ts'
export { HooklineMetrics, type MetricsSnapshot } from './metrics.ts'
export { inPoolTransaction, type ConnectionPool, type PooledConnection } from './pool-transaction.ts'
export { backoffDelayMs, decideAfterFailure, retryPolicy, type FailureDecision, type RetryPolicy } from './retry-policy.ts'
export { Sweeper, SWEEPER_SCHEDULER_ID, type SweeperOptions } from './sweeper.ts'
export { auditTrail, recordAudit, type AuditAction, type AuditEntry, type AuditRecord } from './audit.ts'
export { EVENT_STATUSES, eventFilterSchema, filterCondition, parseInput, parseTimeBound, type EventFilter, type EventStatus } from './event-filter.ts'
export { eventStats, statsRequestSchema, type EventStats, type StatsBucket } from './event-stats.ts'
export { EventQuery, eventListSchema, type AttemptRecord, type EventDetail, type EventListRequest, type EventPage, type EventSummary } from './events-query.ts'
export { ignoreSchema, Replayer, replayManySchema, replayOneSchema, type ActionContext, type ReplayManyRequest, type ReplayManyResult, type ReplayOneResult, type ReplaySettings } from './replay.ts'

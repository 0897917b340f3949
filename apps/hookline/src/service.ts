/**
 * @module Builds the service from its configuration: the Hookline instance with the providers
 * whose secrets are set, and the Express app that serves it.
 */
import { alertSinksFromUrls, createHookline, type Hookline, type ProviderAdapter } from '@hookline/core'
import { adminRouter, type AdminToken, opsRouter, webhookRouter } from '@hookline/express'
import { githubAdapter } from '@hookline/github'
import { slackAdapter } from '@hookline/slack'
import { standardWebhooksAdapter } from '@hookline/standard-webhooks'
import { stripeAdapter } from '@hookline/stripe'
import express, { type Express } from 'express'
import { consoleRouter } from './console.ts'
import type { Env } from './env.ts'
import { loadHandlers } from './handlers.ts'
import { createLogger } from './logger.ts'

/** The adapters enabled by the configuration (a provider is on when its webhook secret is set). */
export function enabledAdapters(env: Env): ProviderAdapter<any>[] {
  const adapters: ProviderAdapter<any>[] = []
  if (env.STRIPE_WEBHOOK_SECRET.length > 0) {
    adapters.push(stripeAdapter({
      secrets: env.STRIPE_WEBHOOK_SECRET,
      toleranceSeconds: env.STRIPE_TOLERANCE_SECONDS,
      maxBodyBytes: env.STRIPE_MAX_BODY_BYTES,
      accounts: env.STRIPE_RECONCILE_ACCOUNTS,
      thinEvents: env.STRIPE_THIN_EVENTS,
      ...(env.STRIPE_API_KEY ? { api: { apiKey: env.STRIPE_API_KEY, ...(env.STRIPE_API_BASE ? { baseUrl: env.STRIPE_API_BASE } : {}) } } : {}),
    }))
  }
  if (env.GITHUB_WEBHOOK_SECRET.length > 0) {
    adapters.push(githubAdapter({
      secrets: env.GITHUB_WEBHOOK_SECRET,
      maxBodyBytes: env.GITHUB_MAX_BODY_BYTES,
      ...(env.GITHUB_HOOKS.length > 0
        ? {
            api: {
              hooks: env.GITHUB_HOOKS,
              ...(env.GITHUB_TOKEN ? { token: env.GITHUB_TOKEN } : {}),
              ...(env.GITHUB_API_URL ? { baseUrl: env.GITHUB_API_URL } : {}),
              ...(env.GITHUB_APP_ID ? { appId: env.GITHUB_APP_ID } : {}),
              ...(env.GITHUB_APP_PRIVATE_KEY ? { privateKey: env.GITHUB_APP_PRIVATE_KEY } : {}),
            },
          }
        : {}),
    }))
  }
  if (env.SLACK_SIGNING_SECRET.length > 0) {
    adapters.push(slackAdapter({
      secrets: env.SLACK_SIGNING_SECRET,
      toleranceSeconds: env.SLACK_TOLERANCE_SECONDS,
      maxBodyBytes: env.SLACK_MAX_BODY_BYTES,
      ...(env.SLACK_BOT_TOKEN
        ? { api: { token: env.SLACK_BOT_TOKEN, channels: env.SLACK_CHANNELS, ...(env.SLACK_API_URL ? { apiUrl: env.SLACK_API_URL } : {}) } }
        : {}),
    }))
  }
  if (env.STANDARD_WEBHOOKS_SECRET.length > 0) {
    adapters.push(standardWebhooksAdapter({ name: env.STANDARD_WEBHOOKS_NAME, secrets: env.STANDARD_WEBHOOKS_SECRET }))
  }
  return adapters
}

/**
 * Creates the Hookline instance the service runs.
 *
 * @example
 * const hookline = await buildHookline(loadEnv())
 */
export async function buildHookline(env: Env): Promise<Hookline> {
  const logger = createLogger(env)
  const { handlers, onAlert } = await loadHandlers(env.HOOKLINE_HANDLERS)
  // Says which module and keys are live, so a typo in a path or a handler key shows at start.
  if (env.HOOKLINE_HANDLERS) logger.info({ module: env.HOOKLINE_HANDLERS, handlers: Object.keys(handlers) }, `handlers loaded from ${env.HOOKLINE_HANDLERS}: ${Object.keys(handlers).join(', ') || 'none'}`)
  else logger.info({ handlers: [] }, 'no HOOKLINE_HANDLERS module: events are recorded as processed without a handler')
  return createHookline({
    databaseUrl: env.DATABASE_URL,
    redisUrl: env.REDIS_URL,
    adapters: enabledAdapters(env),
    handlers,
    alerts: {
      sinks: alertSinksFromUrls(env.HOOKLINE_ALERT_URLS, env.HOOKLINE_ALERT_SECRET),
      onAlert,
      disabled: env.HOOKLINE_ALERT_DISABLE,
      digestMs: env.HOOKLINE_ALERT_DIGEST_MS,
      dlqDepth: env.HOOKLINE_ALERT_DLQ_DEPTH,
      rejections: env.HOOKLINE_ALERT_REJECTIONS,
      silenceMs: env.HOOKLINE_ALERT_SILENCE ?? 0,
    },
    retry: { maxAttempts: env.HOOKLINE_MAX_ATTEMPTS, backoffMs: env.HOOKLINE_BACKOFF_MS, maxRetryAgeMs: env.HOOKLINE_MAX_RETRY_AGE ?? null },
    breaker: { failures: env.HOOKLINE_BREAKER_FAILURES, cooldownMs: env.HOOKLINE_BREAKER_COOLDOWN_MS, maxCooldownMs: Math.max(env.HOOKLINE_BREAKER_COOLDOWN_MS, env.HOOKLINE_BREAKER_MAX_COOLDOWN_MS) },
    onBreakerOpen: (breaker) => {
      logger.error({ route: breaker.route, openUntil: breaker.openUntil, failures: breaker.failures }, 'circuit breaker open')
    },
    queue: { prefix: env.HOOKLINE_QUEUE_PREFIX },
    schema: env.HOOKLINE_SCHEMA,
    worker: {
      concurrency: env.HOOKLINE_CONCURRENCY,
      batchSize: env.HOOKLINE_BATCH_SIZE,
      lockDurationMs: env.HOOKLINE_LOCK_MS,
      handlerTimeoutMs: env.HOOKLINE_HANDLER_TIMEOUT_MS,
      stale: env.HOOKLINE_STALE,
      yieldMs: env.HOOKLINE_WORKER_YIELD_MS,
    },
    sweeper: { intervalMs: env.HOOKLINE_SWEEP_INTERVAL_MS, graceMs: env.HOOKLINE_SWEEP_GRACE_MS },
    outbox: { provider: env.HOOKLINE_OUTBOX_PROVIDER },
    retention: {
      payloadsMs: env.HOOKLINE_RETAIN_PAYLOADS,
      eventsMs: env.HOOKLINE_RETAIN_EVENTS,
      auditMs: env.HOOKLINE_RETAIN_AUDIT,
      intervalMs: env.HOOKLINE_PRUNE_INTERVAL_MS,
    },
    replay: { ratePerSecond: env.HOOKLINE_REPLAY_RATE },
    reconcile: {
      cron: env.HOOKLINE_RECONCILE_CRON,
      windowMs: env.HOOKLINE_RECONCILE_WINDOW,
      onAlert: (run) => {
        const fields = { reconcileRun: run.id, provider: run.provider, tenant: run.tenant, status: run.status, recovered: run.recovered, err: run.lastError }
        if (run.status === 'failed') logger.error(fields, 'reconciliation failed')
        else logger.warn(fields, `reconciliation recovered ${run.recovered} events the webhooks missed`)
      },
    },
    onDeadLetter: (event, error) => {
      logger.error({ eventId: event.id, provider: event.provider, type: event.type, tenant: event.tenant, err: error.message }, 'dead letter')
    },
    logger,
  })
}

/**
 * The service's Express app: webhooks first (raw bodies), then health, readiness and metrics, and
 * — only when an admin token is configured — the admin API and the console under `/admin`.
 *
 * @example
 * createApp(hookline, { adminToken: env.HOOKLINE_ADMIN_TOKEN, adminTokens: env.HOOKLINE_ADMIN_TOKENS, redact: env.HOOKLINE_REDACT }).listen(3000)
 */
export function createApp(hookline: Hookline, options: { adminToken?: string | undefined; adminTokens?: readonly AdminToken[]; redact?: readonly string[] } = {}): Express {
  const app = express()
  app.disable('x-powered-by')
  app.use(webhookRouter(hookline))
  app.use(opsRouter(hookline))
  if (options.adminToken || options.adminTokens?.length) {
    app.use(adminRouter(hookline, { token: options.adminToken, tokens: options.adminTokens, redact: options.redact }))
    app.use(consoleRouter())
  }
  return app
}

/**
 * @module The service configuration: read from the environment (and `.env`) and validated once,
 * here and nowhere else.
 */
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { z } from 'zod'

const secretList = z
  .string()
  .optional()
  .transform((v) => (v ?? '').split(',').map((s) => s.trim()).filter((s) => s.length > 0))

const int = (fallback: number) => z.coerce.number().int().nonnegative().default(fallback)

const DURATION_UNITS_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** A duration such as `25h`, `90m`, `3d` or `45s`, in milliseconds. */
const duration = z
  .string()
  .regex(/^\d+(s|m|h|d)$/, 'a duration like 25h, 90m, 3d or 45s')
  .transform((v) => Number.parseInt(v, 10) * DURATION_UNITS_MS[v.slice(-1)]!)

/** A retention window: a duration, or `off` to keep the rows forever. */
const retention = z.union([z.literal('off').transform(() => null), duration])

const envSchema = z.object({
  DATABASE_URL: z.string().url().default('postgresql://postgres@127.0.0.1:5432/hookline'),
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOOKLINE_ADMIN_TOKEN: z.string().min(1).optional(),
  // Named admin tokens for a team: comma-separated name:role:token (role viewer or operator).
  HOOKLINE_ADMIN_TOKENS: z
    .string()
    .optional()
    .transform((text, ctx) => {
      const tokens = (text ?? '').split(',').map((entry) => entry.trim()).filter((entry) => entry.length > 0).map((entry) => {
        const [name = '', role = '', ...secret] = entry.split(':')
        return { name, role: role as 'viewer' | 'operator', token: secret.join(':') }
      })
      for (const { name, role, token } of tokens) {
        if (!name || (role !== 'viewer' && role !== 'operator') || !token) {
          ctx.addIssue({ code: 'custom', message: `"${name || '?'}:…" is not name:role:token with role viewer or operator` })
        }
      }
      return tokens
    }),
  // Payload fields (dot paths, `*` for one key) and `header:<name>`s the admin API shows as "[redacted]".
  HOOKLINE_REDACT: secretList,
  // Where the support commands of the CLI find the admin API (default: this machine's PORT).
  HOOKLINE_URL: z.string().url().optional(),
  // The secret `hookline listen` signs forwarded events with, in every provider's scheme (default:
  // one generated per scheme and kept beside its cursor).
  HOOKLINE_LISTEN_SECRET: z.string().min(1).optional(),
  HOOKLINE_HANDLERS: z.string().min(1).optional(),
  HOOKLINE_MAX_ATTEMPTS: z.coerce.number().int().min(1).default(8),
  HOOKLINE_BACKOFF_MS: int(1000),
  // Longest an event keeps retrying after its first attempt (default: no limit but the attempts).
  HOOKLINE_MAX_RETRY_AGE: duration.optional(),
  // Core's DEFAULT_BREAKER_OPTIONS: consecutive transient failures that open a route's breaker, and
  // its first cool-down (doubling after each failed probe, up to the maximum).
  HOOKLINE_BREAKER_FAILURES: z.coerce.number().int().min(1).default(10),
  HOOKLINE_BREAKER_COOLDOWN_MS: z.coerce.number().int().min(100).default(60_000),
  HOOKLINE_BREAKER_MAX_COOLDOWN_MS: z.coerce.number().int().min(100).default(900_000),
  // Core's DEFAULT_WORKER_OPTIONS (not imported: the CLI's support commands load no core).
  HOOKLINE_CONCURRENCY: z.coerce.number().int().min(1).default(400),
  HOOKLINE_BATCH_SIZE: z.coerce.number().int().min(1).default(100),
  // Longest the workers hold back while the ingress is saturated (opt-in: a steady load waits as long as a burst).
  HOOKLINE_WORKER_YIELD_MS: int(0),
  // Niceness of a worker process of its own (0-19): the kernel runs the ingress on shared cores first.
  HOOKLINE_WORKER_NICE: z.coerce.number().int().min(0).max(19).default(10),
  // Worker processes `start` forks beside the ingress; 0 runs the worker inside the ingress process.
  HOOKLINE_WORKER_PROCESSES: int(1),
  HOOKLINE_QUEUE_PREFIX: z.string().min(1).default('hookline'),
  // The Postgres schema of Hookline's tables (`hookline migrate` creates it).
  HOOKLINE_SCHEMA: z.string().min(1).max(63).default('hookline'),
  HOOKLINE_LOCK_MS: z.coerce.number().int().min(1000).default(30_000),
  // Longest a request may take to arrive whole, headers and body (a slow body is cut off with 408),
  // its headers alone, and an idle keep-alive connection.
  HOOKLINE_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
  HOOKLINE_HEADERS_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  HOOKLINE_KEEP_ALIVE_TIMEOUT_MS: z.coerce.number().int().min(100).default(5_000),
  // Longest a process that hit an error nothing caught may take to close before it exits (70).
  HOOKLINE_FATAL_CLOSE_MS: z.coerce.number().int().min(100).default(10_000),
  HOOKLINE_HANDLER_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
  HOOKLINE_SWEEP_INTERVAL_MS: z.coerce.number().int().min(100).default(30_000),
  HOOKLINE_SWEEP_GRACE_MS: int(60_000),
  HOOKLINE_STALE: z.enum(['skip', 'deliver']).default('skip'),
  /** Provider name of the application's own events (the outbox): handlers match `<name>:<type>`. */
  HOOKLINE_RETAIN_PAYLOADS: retention.default(30 * 86_400_000),
  HOOKLINE_RETAIN_EVENTS: retention.default(90 * 86_400_000),
  HOOKLINE_RETAIN_AUDIT: retention.default(null),
  HOOKLINE_PRUNE_INTERVAL_MS: z.coerce.number().int().min(1000).default(600_000),
  HOOKLINE_OUTBOX_PROVIDER: z.string().regex(/^[a-z0-9-]+$/).default('app'),
  HOOKLINE_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HOOKLINE_REPLAY_RATE: z.coerce.number().positive().default(50),
  // Where alerts go: Slack incoming webhooks (hooks.slack.com, or slack+https://…) and URLs that
  // receive signed Standard Webhooks (HOOKLINE_ALERT_SECRET, whsec_…).
  HOOKLINE_ALERT_URLS: secretList.superRefine((urls, ctx) => {
    for (const [i, url] of urls.entries()) {
      if (!URL.canParse(url.replace(/^slack\+/, ''))) ctx.addIssue({ code: 'custom', message: `entry #${i} is not a URL` })
    }
  }),
  HOOKLINE_ALERT_SECRET: z.string().min(1).optional(),
  // Kinds not raised (core's AlertKind; not imported: the CLI's support commands load no core).
  HOOKLINE_ALERT_DISABLE: secretList.pipe(z.array(z.enum(['dead_letter', 'dlq_depth', 'rejection_spike', 'reconcile_recovered', 'reconcile_failed', 'provider_silent', 'breaker_open', 'issue_new', 'issue_reopened']))),
  HOOKLINE_ALERT_DIGEST_MS: z.coerce.number().int().min(100).default(60_000),
  HOOKLINE_ALERT_DLQ_DEPTH: int(100),
  HOOKLINE_ALERT_REJECTIONS: z.coerce.number().int().min(1).default(20),
  // No webhook from an enabled provider for this long raises provider_silent (unset: off).
  HOOKLINE_ALERT_SILENCE: duration.optional(),
  HOOKLINE_RECONCILE_CRON: z.string().min(1).default('0 3 * * *'),
  HOOKLINE_RECONCILE_WINDOW: duration.default(25 * 3_600_000),
  STRIPE_WEBHOOK_SECRET: secretList,
  STRIPE_TOLERANCE_SECONDS: int(300),
  STRIPE_MAX_BODY_BYTES: z.coerce.number().int().min(1).default(1024 * 1024),
  STRIPE_API_KEY: z.string().min(1).optional(),
  STRIPE_API_BASE: z.string().url().optional(),
  STRIPE_RECONCILE_ACCOUNTS: secretList,
  // Event destinations send thin events: reconciliation lists /v2/core/events too.
  STRIPE_THIN_EVENTS: z.enum(['0', '1', 'true', 'false']).default('0').transform((v) => v === '1' || v === 'true'),
  GITHUB_WEBHOOK_SECRET: secretList,
  GITHUB_MAX_BODY_BYTES: z.coerce.number().int().min(1).default(25 * 1024 * 1024),
  GITHUB_HOOKS: secretList,
  GITHUB_TOKEN: z.string().min(1).optional(),
  GITHUB_API_URL: z.string().url().optional(),
  GITHUB_APP_ID: z.string().min(1).optional(),
  GITHUB_APP_PRIVATE_KEY: z.string().min(1).optional(),
  SLACK_SIGNING_SECRET: secretList,
  SLACK_BOT_TOKEN: z.string().min(1).optional(),
  SLACK_API_URL: z.string().url().optional(),
  SLACK_CHANNELS: secretList,
  SLACK_TOLERANCE_SECONDS: int(300),
  SLACK_MAX_BODY_BYTES: z.coerce.number().int().min(1).default(1024 * 1024),
  STANDARD_WEBHOOKS_SECRET: secretList,
  STANDARD_WEBHOOKS_NAME: z.string().regex(/^[a-z0-9-]+$/).default('standard'),
})

/** The validated service configuration. */
export type Env = z.infer<typeof envSchema>

/**
 * Validates `source` (default: `process.env`, after loading `.env` from the working directory
 * when present). Throws one readable error listing every invalid variable.
 *
 * @example
 * const env = loadEnv()
 * env.PORT // 3000
 */
export function loadEnv(source: NodeJS.ProcessEnv = readProcessEnv()): Env {
  const result = envSchema
    .refine((env) => (env.SLACK_BOT_TOKEN === undefined) === (env.SLACK_CHANNELS.length === 0), {
      message: 'Slack reconciliation needs both SLACK_BOT_TOKEN and SLACK_CHANNELS (or neither)',
      path: ['SLACK_CHANNELS'],
    })
    .refine((env) => env.HOOKLINE_ALERT_SECRET !== undefined || env.HOOKLINE_ALERT_URLS.every((url) => url.startsWith('slack+') || !URL.canParse(url) || new URL(url).hostname === 'hooks.slack.com'), {
      message: 'alert URLs other than Slack receive signed webhooks: set HOOKLINE_ALERT_SECRET (whsec_…)',
      path: ['HOOKLINE_ALERT_SECRET'],
    })
    .safeParse(source)
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`)
    throw new Error(`invalid configuration:\n${lines.join('\n')}`)
  }
  return result.data
}

function readProcessEnv(): NodeJS.ProcessEnv {
  const dotenv = resolve(process.cwd(), '.env')
  // Variables already set win over .env (Node's loader does not overwrite them).
  if (existsSync(dotenv)) process.loadEnvFile(dotenv)
  return process.env
}

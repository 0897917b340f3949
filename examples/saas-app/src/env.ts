/**
 * @module The app's configuration, read from the environment and validated once, here.
 */
import { z } from 'zod'

const envSchema = z.object({
  /** The app's database: its own tables and Hookline's, side by side. */
  DATABASE_URL: z.string().url(),
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  /** Comma-separated: during a rotation both the old and the new secret are accepted. */
  STRIPE_WEBHOOK_SECRET: z
    .string()
    .min(1)
    .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean)),
  /** Enables Hookline's admin API under /admin/api (support: inspect and replay events). */
  HOOKLINE_ADMIN_TOKEN: z.string().min(1).optional(),
  HOOKLINE_QUEUE_PREFIX: z.string().min(1).default('hookline'),
  HOOKLINE_MAX_ATTEMPTS: z.coerce.number().int().min(1).default(8),
  HOOKLINE_BACKOFF_MS: z.coerce.number().int().nonnegative().default(1000),
})

/** The validated configuration. */
export type Env = z.infer<typeof envSchema>

/** Validates `source` (default `process.env`); throws one error naming every bad variable. */
export function loadEnv(source: NodeJS.ProcessEnv = process.env): Env {
  const parsed = envSchema.safeParse(source)
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`)
    throw new Error(`invalid configuration:\n  ${problems.join('\n  ')}`)
  }
  return parsed.data
}

/** Only `DATABASE_URL` (for the migration runner, which needs nothing else). */
export function loadDatabaseUrl(source: NodeJS.ProcessEnv = process.env): string {
  const parsed = envSchema.pick({ DATABASE_URL: true }).safeParse(source)
  if (!parsed.success) throw new Error(`invalid configuration: DATABASE_URL: ${parsed.error.issues[0]?.message}`)
  return parsed.data.DATABASE_URL
}

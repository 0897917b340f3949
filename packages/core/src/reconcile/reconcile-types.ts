/**
 * @module The reconciliation's contract: its settings, what a request asks for, what a run
 * records, and the zod schemas of the admin API's reconcile routes.
 */
import { z } from 'zod'
import { parseTimeBound, storableText } from '../support/event-filter.ts'

/** Reconciliation settings. */
export interface ReconcileSettings {
  /**
   * Overlap: a run starts this long before where the previous one ended.
   * @defaultValue 25 hours
   */
  windowMs: number
  /**
   * A running run whose progress is older than this is considered dead and is taken over.
   * @defaultValue 120_000
   */
  leaseMs: number
  /**
   * Longest a run may take before it fails.
   * @defaultValue 30 minutes
   */
  timeoutMs: number
  /**
   * Rate-limit waits (429 / Retry-After) tolerated in one run before it fails.
   * @defaultValue 20
   */
  maxRateLimitWaits: number
}

/** The defaults of {@link ReconcileSettings}. */
export const DEFAULT_RECONCILE_SETTINGS: Readonly<ReconcileSettings> = {
  windowMs: 25 * 3_600_000,
  leaseMs: 120_000,
  timeoutMs: 30 * 60_000,
  maxRateLimitWaits: 20,
}

/** What to reconcile. */
export interface ReconcileRequest {
  provider: string
  /** Tenant (e.g. a Stripe Connect account); null or absent = the provider's default account. */
  tenant?: string | null
  /** Start of the window; default: the provider's cursor minus the overlap window. */
  since?: Date
  /** Count what is missing without ingesting it. */
  dryRun?: boolean
  /** Who asked: `schedule`, `api`, `cli`, … */
  trigger?: string
}

/** A reconciliation run as recorded. */
export interface ReconcileRun {
  id: string
  provider: string
  tenant: string | null
  status: 'running' | 'succeeded' | 'failed'
  trigger: string
  dryRun: boolean
  since: Date
  until: Date
  startedAt: Date
  finishedAt: Date | null
  pages: number
  scanned: number
  known: number
  recovered: number
  errors: number
  warnings: string[]
  lastError: string | null
}

/** zod schema of an on-demand {@link ReconcileRequest} (admin API body): `since` takes a date or `25h`. */
export const reconcileRequestSchema = z.strictObject({
  /** Absent: every provider that can be reconciled. */
  provider: storableText(200).optional(),
  tenant: storableText(500).nullish(),
  since: z
    .string()
    .transform((text, ctx) => {
      const date = parseTimeBound(text)
      if (!date) ctx.addIssue({ code: 'custom', message: 'expected an ISO 8601 date (years 0001 to 9999) or a duration such as 25h or 3d' })
      return date ?? new Date(Number.NaN)
    })
    .optional(),
  dryRun: z.boolean().optional(),
})

/** zod schema of the run listing's query. */
export const reconcileRunsQuerySchema = z.strictObject({
  provider: storableText(200).optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
})

/** Called when a run recovered events (the webhook path lost them) or failed. */
export type ReconcileAlertHook = (run: ReconcileRun) => void | Promise<void>


/**
 * @module The audit log of support actions (`hookline.hookline_audit_log`): who replayed or ignored what,
 * when, with which filter, how many events, and why.
 */
import { sqlRunner, type SqlTarget } from './sql-runner.ts'

/**
 * What was done: one event replayed, a bulk replay (the filter and its count), one event ignored,
 * a scope paused or resumed (its scope, and the events the resume released), an issue resolved,
 * a retention pass run by hand (what it removed).
 */
export type AuditAction = 'replay' | 'replay.bulk' | 'ignore' | 'pause' | 'resume' | 'issue.resolve' | 'prune'

/** One audit row. */
export interface AuditEntry {
  at: Date
  /** Who acted, as the caller named itself (the admin token is shared, so this is declared, not proven). */
  actor: string
  action: AuditAction
  /** The request's filter and options (`force`, ids…), when there were any. */
  filter: unknown
  /** Events affected. */
  count: number | null
  note: string | null
}

/** A row to write. */
export interface AuditRecord {
  actor: string
  action: AuditAction
  eventId?: string | null
  filter?: unknown
  count?: number | null
  note?: string | null
}

/**
 * Writes one audit row with `db`; a caller whose change spans statements passes their
 * transaction, so that the change and its record commit together.
 *
 * @example
 * await recordAudit(pool, { actor: 'ana', action: 'replay.bulk', filter, count: 12 })
 */
export async function recordAudit(db: SqlTarget, record: AuditRecord, schema?: string): Promise<void> {
  await sqlRunner(db, schema)(
    `INSERT INTO hookline.hookline_audit_log (actor, action, event_id, filter, count, note)
     VALUES ($1, $2, $3::uuid, $4::jsonb, $5, $6)`,
    record.actor,
    record.action,
    record.eventId ?? null,
    record.filter === undefined ? null : JSON.stringify(record.filter),
    record.count ?? null,
    record.note ?? null,
  )
}

/**
 * The audit rows of one event, oldest first.
 *
 * @example
 * const trail = await auditTrail(db, eventId) // [{ action: 'replay', actor: 'ana', … }]
 */
export function auditTrail(db: SqlTarget, eventId: string, schema?: string): Promise<AuditEntry[]> {
  return sqlRunner(db, schema)<AuditEntry>(
    `SELECT at, actor, action, filter, count, note FROM hookline.hookline_audit_log WHERE event_id = $1::uuid ORDER BY at, id`,
    eventId,
  )
}

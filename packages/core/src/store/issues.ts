/**
 * @module Failures grouped into issues (`hookline.hookline_issues`, and the events each counts in
 * `hookline_issue_events`): the upsert a failure's recording runs in its own statement, and
 * support's reads and resolve.
 */
import { type Sql, sqlRunner, type SqlTarget } from './sql-runner.ts'

/** What recording a failure did to its issue: opened it, reopened a resolved one, or neither. */
export type IssueChange = 'new' | 'reopened' | null

/** Whether an issue still needs looking at. */
export type IssueStatus = 'open' | 'resolved'

/** One issue as support sees it. */
export interface Issue {
  fingerprint: string
  /** The handler key the events matched, else `provider:type`. */
  route: string
  errorClass: string
  /** The normalised message. */
  message: string
  /** Failed attempts. */
  count: number
  /** Distinct events that failed so (dead ones and ones still retrying). */
  events: number
  firstSeen: Date
  lastSeen: Date
  status: IssueStatus
  resolvedAt: Date | null
  /** Times a failure came back after a resolve, and the last such time. */
  reopened: number
  reopenedAt: Date | null
}

/** Where {@link issueUpsert} finds its values: SQL expressions (parameters) and the CTE it runs once per row of. */
export interface IssueUpsertSource {
  /** The CTE whose rows are the failures to count (one per statement). */
  from: string
  event: string
  fingerprint: string
  route: string
  errorClass: string
  message: string
}

/**
 * The upsert of a failure's issue, as CTEs (`prior`, `seen`, `iss`) of a statement that counts one
 * failure, once per row of `source.from`. An event is counted among the issue's events the first
 * time it fails so (`hookline_issue_events`), whether the failure was a recorded attempt or one a
 * circuit breaker held; a failure of a resolved issue reopens it. `iss` returns `opened` and
 * `reopened`. `prior` locks the issue row first, so that of two failures racing after a resolve
 * exactly one sees it resolved.
 */
export function issueUpsert(source: IssueUpsertSource): string {
  const { from, event, fingerprint, route, errorClass, message } = source
  return `prior AS (
         SELECT status FROM hookline.hookline_issues WHERE fingerprint = ${fingerprint} FOR UPDATE
       ), seen AS (
         INSERT INTO hookline.hookline_issue_events (fingerprint, event_id)
         SELECT ${fingerprint}, ${event}::uuid FROM ${from}
         ON CONFLICT DO NOTHING
         RETURNING event_id
       ), iss AS (
         INSERT INTO hookline.hookline_issues AS i (fingerprint, route, error_class, message, count, events)
         -- joining prior reads (and locks) the issue before the upsert writes it
         SELECT ${fingerprint}, ${route}, ${errorClass}, ${message}, 1, 1 FROM ${from} LEFT JOIN prior ON true
         ON CONFLICT (fingerprint) DO UPDATE SET
           last_seen = now(), count = i.count + 1, message = EXCLUDED.message,
           events = i.events + (SELECT count(*) FROM seen)::int,
           status = 'open', resolved_at = NULL,
           reopened = i.reopened + CASE WHEN i.status = 'resolved' THEN 1 ELSE 0 END,
           reopened_at = CASE WHEN i.status = 'resolved' THEN now() ELSE i.reopened_at END
         RETURNING xmax = 0 AS opened, coalesce((SELECT status::text FROM prior) = 'resolved', false) AS reopened
       )`
}

/** What `iss` (see {@link issueUpsert}) did, as a row's `kind`: `new`, `reopened` or `seen`. */
export const ISSUE_CHANGE_KIND = `CASE WHEN opened THEN 'new' WHEN reopened THEN 'reopened' ELSE 'seen' END`

const COLUMNS = `fingerprint, route, error_class AS "errorClass", message, count, events, first_seen AS "firstSeen",
       last_seen AS "lastSeen", status::text AS status, resolved_at AS "resolvedAt", reopened, reopened_at AS "reopenedAt"`

/**
 * Reads and resolves issues.
 *
 * @example
 * const store = new IssueStore(pool)
 * const open = await store.list('open', 100)
 */
export class IssueStore {
  private readonly run: Sql

  constructor(db: SqlTarget, schema?: string) {
    this.run = sqlRunner(db, schema)
  }

  /** Issues in `status` (or all), the most recently failing first. */
  list(status: IssueStatus | 'all', limit: number): Promise<Issue[]> {
    return this.run<Issue>(
      `SELECT ${COLUMNS} FROM hookline.hookline_issues WHERE $1::text = 'all' OR status::text = $1::text
        ORDER BY last_seen DESC, fingerprint LIMIT $2`,
      status,
      limit,
    )
  }

  /** One issue, or undefined. */
  async get(fingerprint: string): Promise<Issue | undefined> {
    const [row] = await this.run<Issue>(`SELECT ${COLUMNS} FROM hookline.hookline_issues WHERE fingerprint = $1`, fingerprint)
    return row
  }

  /**
   * Marks the issue resolved (keeping the first resolve time if it already was) and audits it, in
   * one statement; undefined when there is no such issue. Its next failure reopens it.
   */
  async resolve(fingerprint: string, by: { actor: string; note: string | null }): Promise<Issue | undefined> {
    const [row] = await this.run<Issue>(
      `WITH iss AS (
         UPDATE hookline.hookline_issues
            SET status = 'resolved', resolved_at = CASE WHEN status = 'resolved' THEN resolved_at ELSE now() END
          WHERE fingerprint = $1
          RETURNING *
       ), aud AS (
         INSERT INTO hookline.hookline_audit_log (actor, action, filter, count, note)
         SELECT $2, 'issue.resolve', jsonb_build_object('issue', fingerprint), events, $3 FROM iss
       )
       SELECT ${COLUMNS} FROM iss`,
      fingerprint,
      by.actor,
      by.note,
    )
    return row
  }

  /** Issues open now (the `hookline_open_issues` gauge). */
  async countOpen(): Promise<number> {
    const [row] = await this.run<{ n: number }>(`SELECT count(*)::int AS n FROM hookline.hookline_issues WHERE status = 'open'`)
    return row?.n ?? 0
  }
}

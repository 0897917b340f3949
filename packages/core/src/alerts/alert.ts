/**
 * @module What an alert is: its kinds, the occurrence a part of Hookline raises, and the alert
 * (one or many occurrences of a kind, de-duplicated) that the sinks receive.
 */

/**
 * The kinds of alert. A new kind is one line here and one entry in `ALERT_KINDS`
 * (`./alert-kinds.ts`), then a `raise({ type, … })` where it happens.
 */
export type AlertKind =
  | 'dead_letter'
  | 'dlq_depth'
  | 'rejection_spike'
  | 'reconcile_recovered'
  | 'reconcile_failed'
  | 'provider_silent'
  | 'breaker_open'
  | 'issue_new'
  | 'issue_reopened'

/** How urgent an alert is: `critical` wants someone now, `warning` within the day. */
export type AlertSeverity = 'warning' | 'critical'

/**
 * Facts an alert carries: ids, types, counts and error messages only, never a secret or a
 * payload body.
 */
export type AlertDetails = Record<string, string | number | boolean | null | readonly string[]>

/** One thing that happened, given to `raise`. Occurrences of one type and key are grouped. */
export interface AlertOccurrence {
  type: AlertKind
  /** The provider concerned, if any; also what groups occurrences (with `key`). */
  provider?: string | null
  /** Groups occurrences beyond type and provider (a tenant, say). */
  key?: string
  /** How many things this occurrence stands for (a reconcile run's recovered events). @defaultValue 1 */
  count?: number
  /** Ids of what happened (inbox event ids, a reconcile run id); the first few are kept. */
  ids?: readonly string[]
  /** Facts of this occurrence; a grouped alert shows those of its first one. */
  details?: AlertDetails
}

/** Something to do about an alert: a command to run, or a page of the console (relative path). */
export interface AlertLink {
  title: string
  command?: string
  url?: string
}

/**
 * The alert the sinks receive (also the JSON body of a webhook sink). `details.count` is how many
 * occurrences it stands for, `details.ids` the first of their ids, and `details.digest` is true
 * for the follow-up sent at most once per digest period while they go on.
 */
export interface Alert {
  /** Unique per alert: the `webhook-id` of a webhook sink, for the receiver's de-duplication. */
  id: string
  type: AlertKind
  severity: AlertSeverity
  summary: string
  provider: string | null
  details: AlertDetails & { count: number; ids: readonly string[]; digest: boolean }
  /** When it was sent (ISO 8601). */
  at: string
  /** What to do next. */
  links: AlertLink[]
}

/** Called with every alert, in a worker process (library use, or `onAlert` of `HOOKLINE_HANDLERS`). */
export type AlertHook = (alert: Alert) => void | Promise<void>

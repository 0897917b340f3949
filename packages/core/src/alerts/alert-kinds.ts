/**
 * @module Each alert kind's severity, summary and next steps: what the person paged reads first.
 */
import type { Alert, AlertDetails, AlertKind, AlertLink, AlertSeverity } from './alert.ts'

/** How one kind of alert reads. */
interface KindSpec {
  severity: AlertSeverity
  summary(count: number, provider: string | null, details: AlertDetails): string
  links(provider: string | null, details: AlertDetails): AlertLink[]
}

const of = (provider: string | null): string => (provider ? ` (${provider})` : '')
const flag = (provider: string | null): string => (provider ? ` --provider ${provider}` : '')
const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`

const dlqLinks = (provider: string | null): AlertLink[] => [
  { title: 'See the dead events and their errors', command: `hookline dlq list${flag(provider)}` },
  { title: 'Replay them once the cause is fixed', command: `hookline dlq replay${flag(provider)}` },
  { title: 'Dead-letter queue in the console', url: '/admin#/dlq' },
]

const reconcileLinks = (provider: string | null): AlertLink[] => [
  { title: 'Run the reconciliation again', command: `hookline reconcile${flag(provider)} --dry-run` },
  { title: 'Reconciliation runs in the console', url: '/admin#/reconcile' },
]

const issueLinks = (fingerprint: unknown): AlertLink[] => [
  { title: "See the issue's events and errors", command: `hookline issues show ${String(fingerprint)}` },
  { title: 'Replay them once the cause is fixed', command: `hookline issues replay ${String(fingerprint)}` },
  { title: 'Issues in the console', url: `/admin#/issues/${String(fingerprint)}` },
]

/** Every kind's spec: a kind added to {@link AlertKind} must be added here. */
export const ALERT_KINDS: Readonly<Record<AlertKind, KindSpec>> = {
  dead_letter: {
    severity: 'critical',
    summary: (n, p, d) => `${plural(n, 'event')} dead-lettered${of(p)}${typeof d.error === 'string' ? `: ${d.error}` : ''}`,
    links: dlqLinks,
  },
  dlq_depth: {
    severity: 'critical',
    summary: (_n, _p, d) => `the dead-letter queue holds ${String(d.depth)} events (threshold ${String(d.threshold)})`,
    links: dlqLinks,
  },
  rejection_spike: {
    severity: 'warning',
    summary: (n, p, d) => `${plural(n, 'webhook')} refused for a bad signature${of(p)} (${String(d.threshold)} or more in ${String(d.windowMinutes)} min): a rotated secret, or forged requests`,
    links: (p) => [
      { title: `Check the provider's signing secret in the service configuration${of(p)}`, url: '/metrics' },
      { title: 'Recent events of the provider', command: `hookline events list${flag(p)}` },
    ],
  },
  reconcile_recovered: {
    severity: 'warning',
    summary: (n, p) => `reconciliation recovered ${plural(n, 'event')} the webhooks missed${of(p)}`,
    links: (p) => [{ title: 'The recovered events', command: `hookline events list${flag(p)} --since 1d` }, ...reconcileLinks(p)],
  },
  reconcile_failed: {
    severity: 'critical',
    summary: (n, p, d) => `${plural(n, 'reconciliation run')} failed${of(p)}${typeof d.error === 'string' ? `: ${d.error}` : ''}`,
    links: reconcileLinks,
  },
  breaker_open: {
    severity: 'critical',
    summary: (n, _p, d) =>
      `circuit breaker open for ${String(d.route)} until ${String(d.openUntil)}${n > 1 ? ` (opened ${n} times)` : ''}: its events are held, no attempt spent, until a probe succeeds`,
    links: () => [
      { title: 'The circuit breakers and their state', command: 'hookline breakers' },
      { title: 'Hold the provider while the downstream is fixed', command: 'hookline pause <provider>' },
      { title: 'Holds in the console', url: '/admin#/holds' },
    ],
  },
  issue_new: {
    severity: 'warning',
    summary: (_n, _p, d) => `new issue on ${String(d.route)}: ${String(d.errorClass)}: ${String(d.message)}`,
    links: (_p, d) => issueLinks(d.fingerprint),
  },
  issue_reopened: {
    severity: 'warning',
    summary: (_n, _p, d) => `issue reopened on ${String(d.route)} after it was resolved: ${String(d.errorClass)}: ${String(d.message)}`,
    links: (_p, d) => issueLinks(d.fingerprint),
  },
  provider_silent: {
    severity: 'warning',
    summary: (_n, p, d) => `no webhook delivery${of(p)} for ${String(d.silentMinutes)} min`,
    links: (p) => [
      { title: 'The latest events of the provider', command: `hookline events list${flag(p)}` },
      { title: 'Events in the console', url: '/admin#/events' },
    ],
  },
}

/** Builds the alert of `count` grouped occurrences of one kind. */
export function buildAlert(input: {
  id: string
  type: AlertKind
  provider: string | null
  count: number
  ids: readonly string[]
  details: AlertDetails
  digest: boolean
  at: Date
}): Alert {
  const spec = ALERT_KINDS[input.type]
  const summary = spec.summary(input.count, input.provider, input.details)
  return {
    id: input.id,
    type: input.type,
    severity: spec.severity,
    summary: input.digest ? `${summary}, since the last alert` : summary,
    provider: input.provider,
    details: { ...input.details, count: input.count, ids: input.ids, digest: input.digest },
    at: input.at.toISOString(),
    links: spec.links(input.provider, input.details),
  }
}

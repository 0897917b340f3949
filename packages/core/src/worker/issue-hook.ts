/**
 * @module The issue hook: how the application (alerting) learns that a failure opened a new
 * issue or reopened a resolved one, and the route a failure is grouped by.
 */
import type { Logger } from 'pino'
import { handlerKeyOf, type HooklineEvent } from '../handler.ts'
import type { IssueChange } from '../store/issues.ts'
import type { FailureFingerprint } from '../support/failure-fingerprint.ts'

/** An issue a failure opened (`new`) or reopened after support resolved it (`reopened`). */
export interface IssueNotice extends FailureFingerprint {
  change: 'new' | 'reopened'
}

/**
 * Called once when a failure opens an issue, and once each time one reopens; `event` is the event
 * whose failure did it. Not called for further failures of an open issue.
 *
 * @example
 * createHookline({ …, onIssue: (issue) => alerts.send(`issue_${issue.change}`, issue) })
 */
export type IssueHook = (issue: IssueNotice, event: HooklineEvent) => void | Promise<void>

/** The route of an event's failures: the key of the handler it matched, else `provider:type`. */
export function failureRoute(handlers: Readonly<Record<string, unknown>>, event: { provider: string; type: string }): string {
  return handlerKeyOf(handlers, event.provider, event.type) ?? `${event.provider}:${event.type}`
}

/** Calls `hook` when `change` opened or reopened the issue; a throwing hook is logged, never rethrown. */
export async function noticeIssue(hook: IssueHook | undefined, change: IssueChange, failure: FailureFingerprint, event: HooklineEvent, log: Logger): Promise<void> {
  if (change === null || !hook) return
  try {
    await hook({ ...failure, change }, event)
  } catch (err) {
    log.error({ err: err instanceof Error ? err.message : String(err), fingerprint: failure.fingerprint }, 'onIssue hook failed')
  }
}

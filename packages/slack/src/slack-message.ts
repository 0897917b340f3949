/**
 * @module The identity rules the Slack webhook path and Slack reconciliation share, so that a
 * message gets the same event key, tenant and time whichever of the two delivers it first.
 */

/**
 * `message` subtypes that announce a change to another message instead of posting one. They
 * never appear in `conversations.history`, and their own `ts` names the notification, not a
 * message: they keep Slack's `event_id` as their key.
 */
const CHANGE_SUBTYPES = new Set(['message_changed', 'message_deleted', 'message_replied'])

/**
 * The inbox key of a posted message: `message:<channel>:<ts>`.
 *
 * Slack has no event log to reconcile against, only the messages themselves, and the `event_id`
 * of an Events API delivery cannot be derived from a message listed by `conversations.history`.
 * So both paths key a posted message on what both can see: its channel and its `ts`, which Slack
 * guarantees unique within a channel (channel ids are unique across workspaces). A Slack retry
 * resends the same body, so it keeps the key as `event_id` would.
 */
export function postedMessageKey(channel: string, ts: string): string {
  return `message:${channel}:${ts}`
}

/**
 * True for a `message` event (or a listed message) that posts a message: no subtype, or one such
 * as `bot_message`, `file_share` or `thread_broadcast`. Edits, deletions and reply notifications
 * (`hidden` in Slack's terms) are changes, not posts.
 */
export function isPostedMessage(message: { type?: unknown; subtype?: unknown; hidden?: unknown }): boolean {
  if (message.type !== 'message' || message.hidden === true) return false
  return typeof message.subtype !== 'string' || !CHANGE_SUBTYPES.has(message.subtype)
}

/** The inbox type of a message: `message`, or `message.<subtype>` (a subtype has another shape). */
export function messageType(subtype: unknown): string {
  return typeof subtype === 'string' && subtype.length > 0 ? `message.${subtype}` : 'message'
}

/**
 * The installation a request belongs to, as Bolt looks it up: an org-wide install by its
 * enterprise, any other by the first workspace (or fallback) id present.
 */
export function tenantOf(orgWide: boolean, enterpriseId: string | null | undefined, ...candidates: (string | null | undefined)[]): string | null {
  if (orgWide && enterpriseId) return enterpriseId
  return candidates.find((c) => typeof c === 'string' && c.length > 0) ?? null
}

/** Slack's `"1700000000.000100"` timestamps, to the millisecond; null when absent or not one. */
export function slackTime(ts: string | undefined): Date | null {
  const match = ts === undefined ? null : /^(\d+)(?:\.(\d+))?$/.exec(ts)
  if (!match) return null
  return new Date(Number(match[1]) * 1000 + Number((match[2] ?? '').padEnd(3, '0').slice(0, 3)))
}

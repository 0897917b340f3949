/**
 * @module A Slack incoming webhook as an alert sink: Slack's `{ text, blocks }` message.
 */
import type { Alert } from './alert.ts'
import type { AlertSink } from './alert-sink.ts'
import { postJson } from './post-json.ts'

/** Posts alerts to a Slack incoming-webhook URL. */
export class SlackSink implements AlertSink {
  constructor(
    readonly name: string,
    private readonly url: URL,
  ) {}

  deliver(alert: Alert): Promise<void> {
    return postJson(this.name, this.url, JSON.stringify(slackMessage(alert)))
  }
}

/** Slack's message of an alert: `text` for notifications, `blocks` for the channel. */
export function slackMessage(alert: Alert): { text: string; blocks: unknown[] } {
  const icon = alert.severity === 'critical' ? ':rotating_light:' : ':warning:'
  const { count, ids, digest: _, ...facts } = alert.details
  const fields = [`*count*: ${count}`, ...(ids.length ? [`*ids*: ${ids.map((id) => `\`${id}\``).join(', ')}`] : []), ...Object.entries(facts).map(([k, v]) => `*${k}*: ${Array.isArray(v) ? v.join(', ') : String(v)}`)]
  const steps = alert.links.map((l) => (l.command ? `${l.title}: \`${l.command}\`` : `${l.title}: ${l.url}`))
  return {
    text: `${icon} [${alert.type}] ${alert.summary}`,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `${icon} *${alert.type}* ${alert.summary}` } },
      { type: 'section', text: { type: 'mrkdwn', text: fields.join('\n') } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: steps.join('\n') }] },
    ],
  }
}

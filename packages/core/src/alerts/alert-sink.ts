/**
 * @module Where alerts go: the sink contract, and the sinks of `HOOKLINE_ALERT_URLS` (a Slack
 * incoming webhook, or any URL that receives signed Standard Webhooks).
 */
import { ConfigError } from '../errors.ts'
import type { Alert, AlertHook } from './alert.ts'
import { SlackSink } from './slack-sink.ts'
import { WebhookSink } from './webhook-sink.ts'

/**
 * A destination of alerts. Delivery runs in whichever worker process takes the job, so every
 * process of a service must configure the same sinks under the same names.
 */
export interface AlertSink {
  /** Unique among the sinks, stable across processes and restarts; no secret (it is logged). */
  readonly name: string
  /** Sends one alert; rejects to be retried with backoff. */
  deliver(alert: Alert): Promise<void>
}

const SLACK_HOST = 'hooks.slack.com'

/**
 * The sinks of a comma-separated URL list: `https://hooks.slack.com/…` and `slack+https://…` get
 * Slack messages, any other URL signed JSON (which needs `secret`). Sinks are named by kind and
 * position (`slack#0`, `webhook#1`), since a Slack URL is itself a secret.
 *
 * @example
 * alertSinksFromUrls(['https://hooks.slack.com/services/T/B/x', 'https://ops.example.com/hooks'], 'whsec_…')
 */
export function alertSinksFromUrls(urls: readonly string[], secret?: string): AlertSink[] {
  return urls.map((text, i) => {
    const slack = text.startsWith('slack+')
    const url = parseUrl(slack ? text.slice('slack+'.length) : text, i)
    if (slack || url.hostname === SLACK_HOST) return new SlackSink(`slack#${i}`, url)
    if (!secret) throw new ConfigError(`alert URL #${i} receives signed webhooks: an alert secret is required (HOOKLINE_ALERT_SECRET)`)
    return new WebhookSink(`webhook#${i}`, url, secret)
  })
}

/** A sink that calls an in-process function (the `onAlert` option). */
export function hookSink(onAlert: AlertHook): AlertSink {
  return { name: 'onAlert', deliver: async (alert) => void (await onAlert(alert)) }
}

function parseUrl(text: string, i: number): URL {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new ConfigError(`alert URL #${i} is not a URL`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError(`alert URL #${i} must be http(s)`)
  return url
}

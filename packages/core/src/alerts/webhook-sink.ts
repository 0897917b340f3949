/**
 * @module Any URL as an alert sink: the alert as JSON, signed per Standard Webhooks.
 */
import { Webhook } from 'standardwebhooks'
import type { Alert } from './alert.ts'
import type { AlertSink } from './alert-sink.ts'
import { postJson } from './post-json.ts'

/** Posts alerts as JSON with `webhook-id` (the alert id), `webhook-timestamp` and `webhook-signature`. */
export class WebhookSink implements AlertSink {
  private readonly signer: Webhook

  constructor(
    readonly name: string,
    private readonly url: URL,
    secret: string,
  ) {
    this.signer = new Webhook(secret)
  }

  deliver(alert: Alert): Promise<void> {
    const body = JSON.stringify(alert)
    // Signed at each attempt: a retry hours later must not be refused as stale by the receiver.
    const now = new Date()
    const headers = {
      'webhook-id': alert.id,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': this.signer.sign(alert.id, now, body),
    }
    return postJson(this.name, this.url, body, headers)
  }
}

/** The sinks of an alert URL list: which URLs get Slack's message, names, and refused lists. */
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../errors.ts'
import { alertSinksFromUrls } from './alert-sink.ts'
import { SlackSink } from './slack-sink.ts'
import { WebhookSink } from './webhook-sink.ts'

describe('alertSinksFromUrls', () => {
  it('sends Slack URLs Slack messages and any other URL signed webhooks, named by position', () => {
    const sinks = alertSinksFromUrls(['https://hooks.slack.com/services/T/B/x', 'slack+https://chat.example.com/hook', 'https://ops.example.com/alerts'], 'whsec_dGVzdA==')
    expect(sinks.map((s) => [s.name, s.constructor])).toEqual([['slack#0', SlackSink], ['slack#1', SlackSink], ['webhook#2', WebhookSink]])
  })

  it('refuses a webhook URL without a secret, and what is not an http(s) URL', () => {
    expect(() => alertSinksFromUrls(['https://ops.example.com/alerts'])).toThrow(ConfigError)
    expect(() => alertSinksFromUrls(['ftp://example.com/x'], 'whsec_dGVzdA==')).toThrow(/must be http\(s\)/)
    expect(() => alertSinksFromUrls(['nope'], 'whsec_dGVzdA==')).toThrow(/is not a URL/)
    expect(alertSinksFromUrls(['https://hooks.slack.com/services/T/B/x'])).toHaveLength(1)
  })
})

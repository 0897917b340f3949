/** The service configuration: defaults, lists, durations, and one readable error for bad input. */
import { DEFAULT_BREAKER_OPTIONS, DEFAULT_RETENTION_OPTIONS, DEFAULT_WORKER_OPTIONS } from '@hookline/core'
import { describe, expect, it } from 'vitest'
import { loadEnv } from './env.ts'

describe('loadEnv', () => {
  it('applies the documented defaults', () => {
    const env = loadEnv({})
    expect(env).toMatchObject({
      DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/hookline',
      REDIS_URL: 'redis://127.0.0.1:6379',
      PORT: 3000,
      HOOKLINE_MAX_ATTEMPTS: 8,
      HOOKLINE_BACKOFF_MS: 1000,
      HOOKLINE_WORKER_PROCESSES: 1,
      HOOKLINE_RECONCILE_CRON: '0 3 * * *',
      HOOKLINE_RECONCILE_WINDOW: 25 * 3_600_000,
      STRIPE_WEBHOOK_SECRET: [],
      STRIPE_THIN_EVENTS: false,
      GITHUB_MAX_BODY_BYTES: 25 * 1024 * 1024,
      HOOKLINE_FATAL_CLOSE_MS: 10_000,
      HOOKLINE_REDACT: [],
    })
  })

  it('reads retention windows as durations or off, defaulting to the library', () => {
    expect(loadEnv({})).toMatchObject({ HOOKLINE_RETAIN_PAYLOADS: DEFAULT_RETENTION_OPTIONS.payloadsMs, HOOKLINE_RETAIN_EVENTS: DEFAULT_RETENTION_OPTIONS.eventsMs, HOOKLINE_RETAIN_AUDIT: null })
    expect(loadEnv({ HOOKLINE_RETAIN_PAYLOADS: '10s', HOOKLINE_RETAIN_EVENTS: 'off', HOOKLINE_RETAIN_AUDIT: '400d' })).toMatchObject({
      HOOKLINE_RETAIN_PAYLOADS: 10_000,
      HOOKLINE_RETAIN_EVENTS: null,
      HOOKLINE_RETAIN_AUDIT: 400 * 86_400_000,
    })
    expect(() => loadEnv({ HOOKLINE_RETAIN_PAYLOADS: 'forever' })).toThrow(/HOOKLINE_RETAIN_PAYLOADS/)
  })

  it('reads the alert settings, and wants a secret for URLs other than Slack', () => {
    expect(loadEnv({})).toMatchObject({ HOOKLINE_ALERT_URLS: [], HOOKLINE_ALERT_DIGEST_MS: 60_000, HOOKLINE_ALERT_DLQ_DEPTH: 100, HOOKLINE_ALERT_REJECTIONS: 20, HOOKLINE_ALERT_DISABLE: [] })
    expect(loadEnv({}).HOOKLINE_ALERT_SILENCE).toBeUndefined()
    const env = loadEnv({ HOOKLINE_ALERT_URLS: 'https://hooks.slack.com/services/T/B/x, slack+https://chat.example.com/hook', HOOKLINE_ALERT_SILENCE: '90m', HOOKLINE_ALERT_DISABLE: 'provider_silent' })
    expect(env.HOOKLINE_ALERT_URLS).toHaveLength(2)
    expect(env.HOOKLINE_ALERT_SILENCE).toBe(90 * 60_000)
    expect(env.HOOKLINE_ALERT_DISABLE).toEqual(['provider_silent'])
    expect(() => loadEnv({ HOOKLINE_ALERT_URLS: 'https://ops.example.com/alerts' })).toThrow(/HOOKLINE_ALERT_SECRET/)
    expect(() => loadEnv({ HOOKLINE_ALERT_URLS: 'not a url', HOOKLINE_ALERT_SECRET: 'whsec_x' })).toThrow(/HOOKLINE_ALERT_URLS: entry #0 is not a URL/)
    expect(() => loadEnv({ HOOKLINE_ALERT_DISABLE: 'dead_letters' })).toThrow(/HOOKLINE_ALERT_DISABLE/)
  })

  it("defaults the worker's tuning to the library's", () => {
    const env = loadEnv({})
    expect(env.HOOKLINE_BREAKER_FAILURES).toBe(DEFAULT_BREAKER_OPTIONS.failures)
    expect(env.HOOKLINE_BREAKER_COOLDOWN_MS).toBe(DEFAULT_BREAKER_OPTIONS.cooldownMs)
    expect(env.HOOKLINE_BREAKER_MAX_COOLDOWN_MS).toBe(DEFAULT_BREAKER_OPTIONS.maxCooldownMs)
    expect(env.HOOKLINE_CONCURRENCY).toBe(DEFAULT_WORKER_OPTIONS.concurrency)
    expect(env.HOOKLINE_BATCH_SIZE).toBe(DEFAULT_WORKER_OPTIONS.batchSize)
  })

  it('reads named admin tokens as name:role:token, and refuses an unknown role', () => {
    const env = loadEnv({ HOOKLINE_ADMIN_TOKENS: 'ana:operator:tok-ana-0123456789abcdef, vic:viewer:tok:with:colons-0123' })
    expect(env.HOOKLINE_ADMIN_TOKENS).toEqual([
      { name: 'ana', role: 'operator', token: 'tok-ana-0123456789abcdef' },
      { name: 'vic', role: 'viewer', token: 'tok:with:colons-0123' },
    ])
    expect(loadEnv({}).HOOKLINE_ADMIN_TOKENS).toEqual([])
    expect(() => loadEnv({ HOOKLINE_ADMIN_TOKENS: 'ana:root:tok-ana-0123456789abcdef' })).toThrow(/HOOKLINE_ADMIN_TOKENS/)
  })

  it('reads redaction paths as a list', () => {
    expect(loadEnv({ HOOKLINE_REDACT: 'data.object.email, data.object.*.card,header:x-forwarded-for,' }).HOOKLINE_REDACT).toEqual([
      'data.object.email',
      'data.object.*.card',
      'header:x-forwarded-for',
    ])
  })

  it('splits secret lists (rotation) and parses durations', () => {
    const env = loadEnv({ STRIPE_WEBHOOK_SECRET: 'whsec_new, whsec_old,', HOOKLINE_RECONCILE_WINDOW: '3d' })
    expect(env.STRIPE_WEBHOOK_SECRET).toEqual(['whsec_new', 'whsec_old'])
    expect(env.HOOKLINE_RECONCILE_WINDOW).toBe(3 * 86_400_000)
    expect(loadEnv({ HOOKLINE_MAX_RETRY_AGE: '41h' }).HOOKLINE_MAX_RETRY_AGE).toBe(41 * 3_600_000)
    expect(loadEnv({}).HOOKLINE_MAX_RETRY_AGE).toBeUndefined()
    expect(() => loadEnv({ HOOKLINE_MAX_RETRY_AGE: '41 hours' })).toThrow(/HOOKLINE_MAX_RETRY_AGE/)
  })

  it('reads STRIPE_THIN_EVENTS as a switch', () => {
    expect(loadEnv({ STRIPE_THIN_EVENTS: '1' }).STRIPE_THIN_EVENTS).toBe(true)
    expect(loadEnv({ STRIPE_THIN_EVENTS: 'false' }).STRIPE_THIN_EVENTS).toBe(false)
    expect(() => loadEnv({ STRIPE_THIN_EVENTS: 'yes' })).toThrow(/STRIPE_THIN_EVENTS/)
  })

  it('refuses half a Slack reconciliation configuration', () => {
    expect(() => loadEnv({ SLACK_BOT_TOKEN: 'xoxb-1' })).toThrow(/SLACK_CHANNELS/)
    expect(loadEnv({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_CHANNELS: 'C1,C2' }).SLACK_CHANNELS).toEqual(['C1', 'C2'])
  })

  it('names every invalid variable in one error', () => {
    expect(() => loadEnv({ PORT: 'eighty', HOOKLINE_RECONCILE_WINDOW: 'a day', HOOKLINE_STALE: 'maybe' })).toThrow(
      /PORT[\s\S]*HOOKLINE_STALE[\s\S]*HOOKLINE_RECONCILE_WINDOW|PORT[\s\S]*HOOKLINE_RECONCILE_WINDOW[\s\S]*HOOKLINE_STALE/,
    )
  })
})

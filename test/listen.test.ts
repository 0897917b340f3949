/**
 * `hookline listen` (the real binary) and the admin API's event stream it follows, against the
 * service as `pnpm start` runs it, on real Postgres and Redis. Events sent signed to the service
 * reach a local HTTP server with their raw bodies byte for byte, re-signed with the listen secret:
 * the server verifies them with Stripe's SDK and Octokit's `verify`. A listener stopped while
 * events arrive forwards exactly those on its restart; `--since` reaches back before its first
 * start and `--provider` filters. The stream itself resumes after a cursor (`after=` and
 * `Last-Event-ID`), refuses a request without a token, and holds an event back while a transaction
 * that started before it is still open, so that the earlier event is not skipped. A Standard
 * Webhooks event keeps its message id and verifies with the standardwebhooks library; a shared
 * secret that scheme cannot sign with stops the command (exit 2).
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { verify as verifyGithub } from '@octokit/webhooks-methods'
import { createPrismaClient } from '@hookline/db'
import { GITHUB_TEST_SECRET, githubPush, listenOnFreePort, signedGithubDelivery, signedStandardWebhook, signedStripeDelivery, STANDARD_WEBHOOK_SAMPLES, STANDARD_WEBHOOKS_TEST_SECRET, STRIPE_TEST_SECRET, stripeEvent, testQueuePrefix, waitFor } from '@hookline/testkit'
import pg from 'pg'
import { Webhook } from 'standardwebhooks'
import Stripe from 'stripe'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { sseMessages, type SseMessage } from '../apps/hookline/src/commands/sse-reader.ts'
import { type RunningHookline, runHookline, startHookline } from './support/cli-process.ts'
import { type StartedService, startService } from './support/service-launcher.ts'

const TOKEN = 'listen-admin-token-0123456789abcdef'
const LISTEN_SECRET = 'whsec_listen_test_0123456789abcdef'
const dbName = `hookline_listen_${randomBytes(5).toString('hex')}`
const databaseUrl = `postgresql://postgres@127.0.0.1:5432/${dbName}`
const queue = testQueuePrefix()

/** What the local endpoint received: the path it was posted to, its headers and its exact body. */
interface Forwarded {
  path: string
  headers: Record<string, string>
  body: Buffer
}

const forwarded: Forwarded[] = []
let receiver: Awaited<ReturnType<typeof listenOnFreePort>>
let service: StartedService
let home: string
const running: RunningHookline[] = []

/** An event sent to the service: its provider's key and its exact body. */
interface Sent {
  key: string
  body: string
}

beforeAll(async () => {
  receiver = await listenOnFreePort((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      forwarded.push({ path: req.url ?? '', headers: req.headers as Record<string, string>, body: Buffer.concat(chunks) })
      res.writeHead(202).end()
    })
  })
  home = await mkdtemp(join(tmpdir(), 'hookline-listen-'))
  service = await startService({
    DATABASE_URL: databaseUrl,
    HOOKLINE_QUEUE_PREFIX: queue.prefix,
    HOOKLINE_ADMIN_TOKEN: TOKEN,
    STRIPE_WEBHOOK_SECRET: STRIPE_TEST_SECRET,
    GITHUB_WEBHOOK_SECRET: GITHUB_TEST_SECRET,
    STANDARD_WEBHOOKS_SECRET: STANDARD_WEBHOOKS_TEST_SECRET,
  })
})

afterAll(async () => {
  await Promise.all(running.map((r) => r.stop()))
  await service?.stop()
  await receiver?.close()
  await queue.cleanup()
  const admin = createPrismaClient('postgresql://postgres@127.0.0.1:5432/postgres')
  await admin.$executeRawUnsafe(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).finally(() => admin.$disconnect())
})

async function post(provider: string, body: string, headers: Record<string, string>, key: string): Promise<Sent> {
  const res = await fetch(`${service.url}/webhooks/${provider}`, { method: 'POST', body, headers })
  expect(res.status).toBe(200)
  return { key, body }
}

function sendStripe(): Promise<Sent> {
  const event = stripeEvent({ type: 'invoice.paid' })
  const { body, headers } = signedStripeDelivery(event, { secret: STRIPE_TEST_SECRET })
  return post('stripe', body, headers, String(event.id))
}

async function sendGithub(): Promise<Sent> {
  const { body, headers } = await signedGithubDelivery(githubPush(), { event: 'push', secret: GITHUB_TEST_SECRET })
  return post('github', body, headers, `${headers['x-github-hook-id']}:${headers['x-github-delivery']}`)
}

/** `hookline listen` forwarding to the receiver's `path`, its state in `cursorFile`. */
function listen(path: string, cursorFile: string, args: string[] = [], env: Record<string, string> = { HOOKLINE_LISTEN_SECRET: LISTEN_SECRET }): RunningHookline {
  const process = startHookline(['listen', '--forward-to', `${receiver.url}${path}`, '--cursor-file', join(home, cursorFile), ...args], { url: service.url, token: TOKEN, env: { HOME: home, ...env } })
  running.push(process)
  return process
}

const receivedAt = (path: string) => forwarded.filter((f) => f.path === path)

/** Waits until the receiver's `path` got `n` requests. */
async function untilForwarded(path: string, n: number, listener: RunningHookline): Promise<Forwarded[]> {
  await waitFor(async () => receivedAt(path).length >= n, { what: `${n} requests at ${path}:\n${listener.stdout()}\n${listener.stderr()}`, timeoutMs: 20_000 })
  return receivedAt(path)
}

/** The Stripe event `f` carries, verified with the SDK and the listen secret (throws when the signature is wrong). */
function verifiedStripe(f: Forwarded): { id: string } {
  return Stripe.webhooks.constructEvent(f.body, f.headers['stripe-signature']!, LISTEN_SECRET) as { id: string }
}

const early: Sent[] = []

it('forwards events re-signed with the listen secret, raw bodies byte for byte, --since reaching back before the first start', async () => {
  // Stored before the listener ever ran: only --since brings them.
  early.push(await sendStripe(), await sendStripe())
  const listener = listen('/all', 'all.json', ['--since', '1h'])
  await untilForwarded('/all', 2, listener)
  const live = [await sendStripe(), await sendGithub(), await sendStripe(), await sendStripe()]
  const got = await untilForwarded('/all', 6, listener)

  expect(got.map((f) => f.body.toString())).toEqual([...early, ...live].map((s) => s.body))
  for (const f of got.filter((f) => f.headers['stripe-signature'])) expect(verifiedStripe(f).id).toMatch(/^evt_/)
  const github = got.find((f) => f.headers['x-github-event'] === 'push')!
  expect(await verifyGithub(LISTEN_SECRET, github.body.toString(), github.headers['x-hub-signature-256']!)).toBe(true)
  expect(`${github.headers['x-github-hook-id']}:${github.headers['x-github-delivery']}`).toBe(live[1]!.key)
  // Signed afresh: the service's secret no longer verifies it.
  expect(() => Stripe.webhooks.constructEvent(got[0]!.body, got[0]!.headers['stripe-signature']!, STRIPE_TEST_SECRET)).toThrow()
  // Each line is printed once the endpoint answered, so just after the receiver saw the request.
  await waitFor(async () => listener.stdout().trim().split('\n').length === 6, { what: `six lines:\n${listener.stdout()}` })
  const lines = listener.stdout().trim().split('\n')
  expect(lines[3]).toMatch(new RegExp(`^\\S+ github push ${live[1]!.key} -> 202 \\(\\d+ ms\\)$`))
  expect(listener.stderr()).toContain('HOOKLINE_LISTEN_SECRET')
  expect(await listener.stop('SIGINT')).toBe(0)
})

it('forwards, once restarted, exactly the events that arrived while it was stopped', async () => {
  const before = receivedAt('/all').length
  const meanwhile = [await sendStripe(), await sendGithub(), await sendStripe()]
  const listener = listen('/all', 'all.json', ['--since', '1h'])
  await untilForwarded('/all', before + 3, listener)
  // A marker sent last: once it is in, anything forwarded twice would be too.
  const marker = await sendStripe()
  const got = await untilForwarded('/all', before + 4, listener)
  expect(got.slice(before).map((f) => f.body.toString())).toEqual([...meanwhile, marker].map((s) => s.body))
  expect(await listener.stop('SIGTERM')).toBe(0)
})

it('--provider forwards that provider\'s events only, signed with the secret it generated and --print-secret shows', async () => {
  const listener = listen('/github', 'github.json', ['--provider', 'github', '--since', '1h'], {})
  const marker = await sendGithub()
  const got = await untilForwarded('/github', 3, listener)
  expect(got.map((f) => f.headers['x-github-event'])).toEqual(['push', 'push', 'push'])
  expect(got.at(-1)!.body.toString()).toBe(marker.body)
  const printed = await runHookline(['listen', '--print-secret', '--provider', 'github', '--cursor-file', join(home, 'github.json')], { url: service.url, token: TOKEN, env: { HOME: home } })
  expect(printed.code).toBe(0)
  const secret = printed.stdout.trim()
  expect(listener.stderr()).toContain(`github ${secret}`)
  for (const f of got) expect(await verifyGithub(secret, f.body.toString(), f.headers['x-hub-signature-256']!)).toBe(true)
  expect(await listener.stop()).toBe(0)
})

/** The first `n` messages of the stream at `query`, `headers` sent with the request. */
async function streamed(query: string, n: number, headers: Record<string, string> = {}): Promise<SseMessage[]> {
  const stop = new AbortController()
  const res = await fetch(`${service.url}/admin/api/events/stream?${query}`, { headers: { authorization: `Bearer ${TOKEN}`, ...headers }, signal: stop.signal })
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
  const messages: SseMessage[] = []
  for await (const message of sseMessages(res.body!)) {
    messages.push(message)
    if (messages.length === n) break
  }
  stop.abort()
  return messages
}

it('streams the events as server-sent events, resuming after a cursor', async () => {
  const all = await streamed('since=1h&provider=stripe', 4)
  expect(all[0]!.event).toBe('ready')
  const events = all.slice(1).map((m) => JSON.parse(m.data) as { eventKey: string; body: string; bodyEncoding: string; bodySource: string; provider: string })
  expect(events.map((e) => e.eventKey).slice(0, 2)).toEqual([early[0]!.key, early[1]!.key])
  expect(events[0]).toMatchObject({ provider: 'stripe', bodyEncoding: 'base64', bodySource: 'raw' })
  expect(Buffer.from(events[0]!.body, 'base64').toString()).toBe(early[0]!.body)

  const resumed = await streamed(`since=1h&provider=stripe&after=${all[1]!.id}`, 3)
  expect(resumed[0]).toMatchObject({ event: 'ready', id: all[1]!.id })
  expect(resumed.slice(1).map((m) => m.id)).toEqual([all[2]!.id, all[3]!.id])
  // An EventSource reconnecting sends the last id it saw as a header, which wins over `after`.
  const reconnected = await streamed(`provider=stripe&after=${all[1]!.id}`, 2, { 'last-event-id': all[2]!.id! })
  expect(reconnected[1]!.id).toBe(all[3]!.id)

  const refused = await fetch(`${service.url}/admin/api/events/stream`)
  expect(refused.status).toBe(401)
  const badCursor = await fetch(`${service.url}/admin/api/events/stream?after=nope`, { headers: { authorization: `Bearer ${TOKEN}` } })
  expect(badCursor.status).toBe(400)
})

it('holds an event back while a transaction that started before it is open, then streams both in order', async () => {
  const stop = new AbortController()
  const res = await fetch(`${service.url}/admin/api/events/stream?type=listen.*`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: stop.signal })
  const messages: SseMessage[] = []
  const reading = (async () => {
    for await (const message of sseMessages(res.body!)) messages.push(message)
  })().catch(() => undefined)
  await waitFor(async () => messages.length === 1, { what: 'the ready message' })
  const held = new pg.Client({ connectionString: databaseUrl })
  await held.connect()
  try {
    await held.query('BEGIN')
    // Stamped with this transaction's start: earlier than the event below, committed after it.
    await held.query(`INSERT INTO hookline.hookline_events (provider, event_key, type, raw_body) VALUES ('stripe', 'evt_listen_held', 'listen.held', convert_to('{"id":"evt_listen_held"}', 'UTF8'))`)
    const later = stripeEvent({ id: 'evt_listen_later', type: 'listen.later' })
    const { body, headers } = signedStripeDelivery(later, { secret: STRIPE_TEST_SECRET })
    await post('stripe', body, headers, 'evt_listen_later')
    // Several polls of the stream go by; streaming the later event now would move its cursor past the held one.
    await sleep(3000)
    expect(messages).toHaveLength(1)
    await held.query('COMMIT')
  } finally {
    await held.end()
  }
  await waitFor(async () => messages.length === 3, { what: 'both events on the stream' })
  expect(messages.slice(1).map((m) => (JSON.parse(m.data) as { eventKey: string }).eventKey)).toEqual(['evt_listen_held', 'evt_listen_later'])
  stop.abort()
  await reading
})

it('signs a Standard Webhooks event in its scheme, keeping its message id; a secret it cannot sign with exits 2', async () => {
  const secret = `whsec_${randomBytes(24).toString('base64')}`
  const { body, headers } = signedStandardWebhook(STANDARD_WEBHOOK_SAMPLES.invoicePaid, { secret: STANDARD_WEBHOOKS_TEST_SECRET, id: 'msg_listen_1' })
  await post('standard', body, headers, 'msg_listen_1')
  const listener = listen('/standard', 'standard.json', ['--provider', 'standard', '--since', '1h'], { HOOKLINE_LISTEN_SECRET: secret })
  const [got] = await untilForwarded('/standard', 1, listener)
  expect(got!.body.toString()).toBe(body)
  expect(got!.headers['webhook-id']).toBe('msg_listen_1')
  expect(new Webhook(secret).verify(got!.body.toString(), got!.headers)).toEqual(STANDARD_WEBHOOK_SAMPLES.invoicePaid)
  expect(await listener.stop()).toBe(0)

  const unusable = listen('/unused', 'unusable.json', ['--provider', 'standard', '--since', '1h'], { HOOKLINE_LISTEN_SECRET: 'not-base64!' })
  expect(await unusable.exited).toBe(2)
  expect(unusable.stderr()).toContain('whsec_<base64>')
  expect(receivedAt('/unused')).toEqual([])
})

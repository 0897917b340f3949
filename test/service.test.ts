/**
 * The service as a user runs it: the command of `pnpm start` on a database that does not exist yet
 * (created and migrated), handlers from HOOKLINE_HANDLERS, a Stripe delivery processed end to end
 * by its worker process (its heap bounded), the metrics of both processes on one `/metrics`, a
 * worker process that dies restarted, and a clean stop of every process on SIGTERM.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { connect } from 'node:net'
import { createPrismaClient, type PrismaClient } from '@hookline/db'
import { freePort, signedStripeDelivery, STRIPE_TEST_SECRET, stripeEvent, TEST_REDIS_URL, testQueuePrefix, waitFor } from '@hookline/testkit'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { loadEnv } from '../apps/hookline/src/env.ts'
import { buildHookline } from '../apps/hookline/src/service.ts'
import { WORKER_HEAP_GROWING_PERCENT } from '../apps/hookline/src/worker-heap.ts'
import { ROOT_DIR, rootScript } from './support/root-script.ts'

const dbName = `hookline_svc_${randomBytes(5).toString('hex')}`
const databaseUrl = `postgresql://postgres@127.0.0.1:5432/${dbName}`
const queue = testQueuePrefix()
const ADMIN_TOKEN = 'service-admin-token-0123456789'
let service: ChildProcess
let baseUrl: string
let output = ''
let prisma: PrismaClient

async function admin(sql: string): Promise<void> {
  const client = createPrismaClient('postgresql://postgres@127.0.0.1:5432/postgres')
  try {
    await client.$executeRawUnsafe(sql)
  } finally {
    await client.$disconnect()
  }
}

beforeAll(async () => {
  const port = await freePort()
  baseUrl = `http://127.0.0.1:${port}`
  // Exactly the command of the root `start` script, run directly so that signals reach the service.
  const [command, args] = rootScript('start')
  service = spawn(command, args, {
    cwd: ROOT_DIR,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      PORT: String(port),
      DATABASE_URL: databaseUrl,
      REDIS_URL: TEST_REDIS_URL,
      HOOKLINE_QUEUE_PREFIX: queue.prefix,
      HOOKLINE_HANDLERS: 'test/fixtures/record-handlers.mjs',
      STRIPE_WEBHOOK_SECRET: `whsec_old_one,${STRIPE_TEST_SECRET}`,
      GITHUB_WEBHOOK_SECRET: 'gh-secret',
      SLACK_SIGNING_SECRET: 'slack-secret',
      STANDARD_WEBHOOKS_SECRET: '',
      HOOKLINE_BACKOFF_MS: '10',
      HOOKLINE_ADMIN_TOKEN: ADMIN_TOKEN,
      HOOKLINE_BREAKER_FAILURES: '2',
      HOOKLINE_BREAKER_COOLDOWN_MS: '120000',
      HOOKLINE_REQUEST_TIMEOUT_MS: '1500',
      HOOKLINE_HEADERS_TIMEOUT_MS: '1000',
    },
  })
  service.stdout!.on('data', (d) => (output += d))
  service.stderr!.on('data', (d) => (output += d))
  await waitFor(async () => (await fetch(`${baseUrl}/readyz`).catch(() => undefined))?.status === 200, { what: `the service to be ready:\n${output}`, timeoutMs: 45_000, intervalMs: 200 })
  prisma = createPrismaClient(databaseUrl)
  await prisma.$executeRawUnsafe(`CREATE TABLE effects (event_id uuid NOT NULL, label text)`)
})

afterAll(async () => {
  if (service?.exitCode === null) service.kill('SIGKILL')
  await prisma?.$disconnect()
  await queue.cleanup()
  await admin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`)
})

/** Pids of the worker processes the service has started so far, in order. */
function workerPids(): number[] {
  return [...output.matchAll(/"workerPid":(\d+),[^\n]*"msg":"worker process started"/g)].map((m) => Number(m[1]))
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

it('creates and migrates its database, logs the providers its secrets enable, and starts its worker process with its heap bounded', async () => {
  expect(output).toMatch(/applied migrations: \d+_init/)
  expect(output).toContain('"providers":["stripe","github","slack"]')
  expect(output).toContain('handlers loaded from test/fixtures/record-handlers.mjs: stripe:invoice.paid, stripe:customer.created, app:*, stripe:*')
  await waitFor(async () => workerPids().length === 1, { what: `the worker process:\n${output}` })
  expect(workerPids()[0]).not.toBe(service.pid)
  // The worker process bounds its heap's growth; the ingress keeps V8's default.
  await waitFor(async () => output.includes('"msg":"worker started"'), { what: `the worker to start:\n${output}` })
  expect(output).toMatch(new RegExp(`"pid":${workerPids()[0]},[^\n]*"heapGrowingPercent":${WORKER_HEAP_GROWING_PERCENT}[^\n]*"msg":"worker started"`))
})

it('processes a signed Stripe event with the configured handler', async () => {
  const { body, headers } = signedStripeDelivery(stripeEvent({ type: 'invoice.paid' }))
  const res = await fetch(`${baseUrl}/webhooks/stripe`, { method: 'POST', body, headers })
  expect(res.status).toBe(200)
  const { id } = (await res.json()) as { id: string }
  await waitFor(async () => (await prisma.event.findUnique({ where: { id } }))?.status === 'processed', { what: 'processed' })
  const effects = await prisma.$queryRawUnsafe<{ label: string }[]>(`SELECT label FROM effects WHERE event_id = $1::uuid`, id)
  expect(effects).toEqual([{ label: 'invoice.paid' }])
})

it('dead-letters what a handler module rejects by name, and shows it in /metrics', async () => {
  const { body, headers } = signedStripeDelivery(stripeEvent({ type: 'test.reject' }))
  const { id } = (await (await fetch(`${baseUrl}/webhooks/stripe`, { method: 'POST', body, headers })).json()) as { id: string }
  await waitFor(async () => (await prisma.event.findUnique({ where: { id } }))?.status === 'dead', { what: 'dead' })
  const metrics = await (await fetch(`${baseUrl}/metrics`)).text()
  // Received is counted by the ingress, dead by the worker process: one /metrics shows both, and
  // the DLQ depth, which both processes read, once.
  expect(metrics).toMatch(/hookline_webhooks_received_total\{provider="stripe"\} 2\n/)
  expect(metrics).toMatch(/hookline_events_dead_total\{provider="stripe"\} 1\n/)
  expect(metrics).toMatch(/hookline_dlq_depth 1\n/)
  expect(metrics).toContain('process_resident_memory_bytes')
})

it('relays what a handler emits to the application\'s own handler (the outbox)', async () => {
  const { body, headers } = signedStripeDelivery(stripeEvent({ type: 'customer.created', object: { id: 'cus_outbox', object: 'customer' } }))
  expect((await fetch(`${baseUrl}/webhooks/stripe`, { method: 'POST', body, headers })).status).toBe(200)
  await waitFor(async () => (await prisma.$queryRawUnsafe<unknown[]>(`SELECT 1 FROM effects WHERE label = 'app:customer.welcomed'`)).length === 1, { what: 'the emitted event handled' })
  const [app] = await prisma.$queryRawUnsafe<{ provider: string; source: string; entity_key: string }[]>(`SELECT provider, source::text, entity_key FROM hookline.hookline_events WHERE provider = 'app'`)
  expect(app).toEqual({ provider: 'app', source: 'outbox', entity_key: 'cus_outbox' })
  const metrics = await (await fetch(`${baseUrl}/metrics`)).text()
  expect(metrics).toMatch(/hookline_outbox_emitted_total 1\n/)
  expect(metrics).toMatch(/hookline_outbox_relayed_total 1\n/)
  expect(metrics).toMatch(/hookline_outbox_lag_seconds 0\n/)
})

it('cuts off a request whose body never finishes arriving (HOOKLINE_REQUEST_TIMEOUT_MS) with 408, and keeps serving', async () => {
  const { port } = new URL(baseUrl)
  const socket = connect(Number(port), '127.0.0.1')
  let answer = ''
  socket.on('data', (chunk) => (answer += chunk))
  const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now())))
  const started = Date.now()
  socket.write(`POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"id":`)
  const closedAt = await closed
  expect(answer).toMatch(/^HTTP\/1\.1 408/)
  // The request timeout (1.5 s), checked every quarter of the headers timeout.
  expect(closedAt - started).toBeLessThan(5_000)
  expect((await fetch(`${baseUrl}/healthz`)).status).toBe(200)
})

it('restarts a worker process that dies, and the new one processes events', async () => {
  const [first] = workerPids()
  process.kill(first!, 'SIGKILL')
  await waitFor(async () => workerPids().length === 2, { what: `a new worker process:\n${output}`, timeoutMs: 30_000 })
  expect(output).toMatch(/"signal":"SIGKILL"[^\n]*"msg":"worker process exited; restarting it"/)

  const { body, headers } = signedStripeDelivery(stripeEvent({ type: 'invoice.paid' }))
  const { id } = (await (await fetch(`${baseUrl}/webhooks/stripe`, { method: 'POST', body, headers })).json()) as { id: string }
  await waitFor(async () => (await prisma.event.findUnique({ where: { id } }))?.status === 'processed', { what: 'processed by the new worker process' })
})

it('opens a circuit breaker as HOOKLINE_BREAKER_FAILURES and _COOLDOWN_MS configure its worker process', async () => {
  for (let i = 0; i < 2; i++) {
    const { body, headers } = signedStripeDelivery(stripeEvent({ type: 'test.crm-down' }))
    expect((await fetch(`${baseUrl}/webhooks/stripe`, { method: 'POST', body, headers })).status).toBe(200)
  }
  // Two failures open it (the default is 10), for the configured cool-down.
  const breaker = await waitFor(
    async () => {
      const res = await fetch(`${baseUrl}/admin/api/breakers`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
      return ((await res.json()) as { breakers: { route: string; state: string; cooldownMs: number }[] }).breakers.find((b) => b.route === 'stripe:*' && b.state === 'open')
    },
    { what: 'the stripe:* breaker open' },
  )
  expect(breaker.cooldownMs).toBe(120_000)
  await waitFor(async () => /"route":"stripe:\*"[^\n]*"msg":"circuit breaker open"/.test(output), { what: `the breaker's log line:\n${output.slice(-2000)}` })
  expect(await (await fetch(`${baseUrl}/metrics`)).text()).toMatch(/hookline_breaker_state\{route="stripe:\*"\} 2\n/)
})

it('reads HOOKLINE_MAX_RETRY_AGE into the retry policy', async () => {
  const hookline = await buildHookline(loadEnv({ DATABASE_URL: databaseUrl, REDIS_URL: TEST_REDIS_URL, HOOKLINE_MAX_RETRY_AGE: '41h', HOOKLINE_LOG_LEVEL: 'silent' }))
  try {
    expect(hookline.policy.maxRetryAgeMs).toBe(41 * 3_600_000)
  } finally {
    await hookline.close()
  }
})

it('stops cleanly on SIGTERM, its worker process with it', async () => {
  const worker = workerPids().at(-1)!
  expect(isRunning(worker)).toBe(true)
  const exited = new Promise<number | null>((r) => service.once('exit', (code) => r(code)))
  service.kill('SIGTERM')
  expect(await exited).toBe(0)
  expect(isRunning(worker)).toBe(false)
})

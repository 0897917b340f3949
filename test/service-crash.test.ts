/**
 * The service as `pnpm start` runs it, its processes crashing: the ingress process killed with
 * SIGKILL is restarted on the same port while a provider keeps delivering (every delivery
 * acknowledged once, stored, processed once; the worker process untouched; /readyz and the merged
 * /metrics right after), and a worker process hit by an unhandled rejection logs it, exits 70 at
 * the bound of its close, and is restarted, the event it was running retried and processed once.
 * An ingress that cannot start at all ends `start` instead of being restarted forever.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createPrismaClient, type PrismaClient } from '@hookline/db'
import { freePort, signedStripeDelivery, stripeEvent, TEST_REDIS_URL, testQueuePrefix, waitFor } from '@hookline/testkit'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { FATAL_EXIT_CODE } from '../apps/hookline/src/process-failure.ts'
import { ROOT_DIR, rootScript } from './support/root-script.ts'

const dbName = `hookline_crash_${randomBytes(5).toString('hex')}`
const databaseUrl = `postgresql://postgres@127.0.0.1:5432/${dbName}`
const queue = testQueuePrefix()
let service: ChildProcess
let baseUrl: string
let output = ''
let prisma: PrismaClient

function startService(env: Record<string, string>): ChildProcess {
  const [command, args] = rootScript('start')
  return spawn(command, args, {
    cwd: ROOT_DIR,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DATABASE_URL: databaseUrl, REDIS_URL: TEST_REDIS_URL, HOOKLINE_QUEUE_PREFIX: queue.prefix, STRIPE_WEBHOOK_SECRET: 'whsec_test_secret', ...env },
  })
}

beforeAll(async () => {
  const port = await freePort()
  baseUrl = `http://127.0.0.1:${port}`
  service = startService({
    PORT: String(port),
    HOOKLINE_HANDLERS: 'test/fixtures/unhandled-rejection-handlers.mjs',
    HOOKLINE_LOCK_MS: '2000',
    HOOKLINE_FATAL_CLOSE_MS: '1000',
    HOOKLINE_BACKOFF_MS: '10',
  })
  service.stdout!.on('data', (d) => (output += d))
  service.stderr!.on('data', (d) => (output += d))
  await waitFor(async () => /"msg":"worker started"/.test(output) && (await fetch(`${baseUrl}/readyz`).catch(() => undefined))?.status === 200, { what: `the service to be ready:\n${output}`, timeoutMs: 45_000, intervalMs: 200 })
  prisma = createPrismaClient(databaseUrl)
  await prisma.$executeRawUnsafe(`CREATE TABLE effects (event_id uuid NOT NULL, label text)`)
})

afterAll(async () => {
  if (service?.exitCode === null) service.kill('SIGKILL')
  await prisma?.$disconnect()
  await queue.cleanup()
  const admin = createPrismaClient('postgresql://postgres@127.0.0.1:5432/postgres')
  await admin.$executeRawUnsafe(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).finally(() => admin.$disconnect())
})

/** Pids of the processes of `role` the service has started so far, in order. */
function pids(role: 'ingress' | 'worker'): number[] {
  return [...output.matchAll(new RegExp(`"${role}Pid":(\\d+)[^\\n]*"msg":"${role} process started"`, 'g'))].map((m) => Number(m[1]))
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Delivers one event as a provider does: again and again until it is acknowledged. Its inbox id. */
async function deliver(event: Record<string, unknown>): Promise<string> {
  const { body, headers } = signedStripeDelivery(event, { secret: 'whsec_test_secret' })
  return waitFor(async () => {
    const res = await fetch(`${baseUrl}/webhooks/stripe`, { method: 'POST', body, headers }).catch(() => undefined)
    return res?.status === 200 ? ((await res.json()) as { id: string }).id : undefined
  }, { what: 'the delivery to be acknowledged', timeoutMs: 30_000, intervalMs: 100 })
}

async function effectsOf(ids: string[]): Promise<number[]> {
  const rows = await prisma.$queryRawUnsafe<{ n: number }[]>(
    `SELECT count(e.event_id)::int AS n FROM unnest($1::uuid[]) AS i(id) LEFT JOIN effects e ON e.event_id = i.id GROUP BY i.id`,
    ids,
  )
  return rows.map((r) => r.n)
}

it('restarts a killed ingress on the same port while deliveries keep coming; nothing acknowledged is lost or doubled', async () => {
  const [ingress] = pids('ingress')
  const [worker] = pids('worker')
  expect(ingress).not.toBe(service.pid)
  const ids: string[] = []
  let killedAt = 0
  let firstAfterKill = 0
  for (let i = 0; i < 30; i++) {
    if (i === 10) {
      process.kill(ingress!, 'SIGKILL')
      killedAt = Date.now()
    }
    ids.push(await deliver(stripeEvent({ type: 'invoice.paid' })))
    if (killedAt && !firstAfterKill) firstAfterKill = Date.now()
  }
  expect(firstAfterKill - killedAt).toBeLessThan(10_000)
  expect(output).toMatch(/"signal":"SIGKILL"[^\n]*"msg":"ingress process exited; restarting it"/)
  expect(pids('ingress')).toHaveLength(2)
  expect(isRunning(ingress!)).toBe(false)
  // The worker process never noticed.
  expect(pids('worker')).toEqual([worker])

  for (const id of ids) await waitFor(async () => (await prisma.event.findUnique({ where: { id } }))?.status === 'processed', { what: `${id} processed` })
  expect(new Set(ids).size).toBe(30)
  expect(await effectsOf(ids)).toEqual(Array(30).fill(1))

  // The new ingress is ready, and its /metrics still merges the worker process's counters.
  expect((await fetch(`${baseUrl}/readyz`)).status).toBe(200)
  const metrics = await (await fetch(`${baseUrl}/metrics`)).text()
  const processed = /hookline_events_processed_total\{provider="stripe",outcome="succeeded"\} (\d+)/.exec(metrics)
  expect(Number(processed?.[1]), metrics).toBe(30)
  // The ingress's own counters start again with the new process (a counter reset, as Prometheus expects).
  const received = Number(/hookline_webhooks_received_total\{provider="stripe"\} (\d+)/.exec(metrics)?.[1])
  expect(received).toBeGreaterThan(0)
  expect(received).toBeLessThanOrEqual(20)
})

it('a worker process hit by an unhandled rejection logs it, exits 70, and is restarted; its event is retried and processed once', async () => {
  const [worker] = pids('worker')
  const id = await deliver(stripeEvent({ type: 'test.unhandled_rejection' }))
  await waitFor(async () => pids('worker').length === 2, { what: `a new worker process:\n${output}`, timeoutMs: 30_000 })
  expect(output).toMatch(new RegExp(`"level":60,[^\\n]*"pid":${worker},[^\\n]*"message":"boom outside the handler"[^\\n]*"msg":"unhandled rejection: closing, then exiting for a restart"`))
  expect(output).toMatch(new RegExp(`"workerPid":${worker},"code":${FATAL_EXIT_CODE},[^\\n]*"msg":"worker process exited; restarting it"`))

  const row = await waitFor(async () => {
    const event = await prisma.event.findUnique({ where: { id } })
    return event?.status === 'processed' ? event : undefined
  }, { what: 'the event processed by the new worker process', timeoutMs: 45_000 })
  expect(row.attempts).toBe(2)
  // The crashed attempt's transaction never committed.
  expect(await effectsOf([id])).toEqual([1])
})

it('stops cleanly on SIGTERM after the restarts, every process with it', async () => {
  const running = [pids('ingress').at(-1)!, pids('worker').at(-1)!]
  expect(running.every(isRunning)).toBe(true)
  const exited = new Promise<number | null>((r) => service.once('exit', (code) => r(code)))
  service.kill('SIGTERM')
  expect(await exited).toBe(0)
  expect(running.some(isRunning)).toBe(false)
})

it('ends, with the ingress exit code, when the ingress cannot start at all', async () => {
  const broken = startService({ PORT: String(await freePort()), HOOKLINE_HANDLERS: 'test/fixtures/missing-handlers.mjs' })
  let text = ''
  broken.stderr!.on('data', (d) => (text += d))
  const code = await new Promise<number | null>((r) => broken.once('exit', (c) => r(c)))
  expect(code).toBe(1)
  expect(text).toContain('HOOKLINE_HANDLERS: cannot import test/fixtures/missing-handlers.mjs')
  expect(text).toContain('the ingress process exited (code 1) before it listened')
})

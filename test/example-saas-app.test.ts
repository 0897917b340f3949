/**
 * The example SaaS app (examples/saas-app) as a user gets it: the packages packed into tarballs
 * (`pnpm pack:packages`), installed with npm into a copy of the example outside the workspace,
 * compiled with the example's own tsc and Prisma client, Hookline's tables migrated by the
 * installed `hookline` CLI and the app's by its own script, then run on plain `node` against real
 * Postgres and Redis. Signed Stripe events change the app's rows exactly once under 50 duplicate
 * deliveries; a failing handler leaves no partial write and is retried, then dead-lettered; the
 * app's own routes query its tables beside Hookline's.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { promisify } from 'node:util'
import { freePort, testQueuePrefix, waitFor } from '@hookline/testkit'
import pg from 'pg'
import Stripe from 'stripe'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { packPackages } from '../scripts/pack-packages.ts'
import { ROOT_DIR } from './support/root-script.ts'

const run = promisify(execFile)

const EXAMPLE_DIR = join(ROOT_DIR, 'examples/saas-app')
const SECRET = 'whsec_example_saas_app_0123456789'
const ADMIN_TOKEN = 'example-admin-token-0123456789abcdef'
const MAX_ATTEMPTS = 3
const BASE_URL = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres'

/** What the example leaves out of a copy: what `npm install` and its build produce. */
const NOT_COPIED = new Set(['node_modules', 'dist', 'src/generated', 'package-lock.json'])

/** The environment for npm and the app: the test's, without what pnpm set for its own scripts. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(npm|pnpm)_/i.test(key)))
  return { ...env, ...extra }
}

function withDatabase(database: string): string {
  const url = new URL(BASE_URL)
  url.pathname = `/${database}`
  return url.toString()
}

let workDir: string
let appDir: string
let databaseName: string
let databaseUrl: string
let queue: ReturnType<typeof testQueuePrefix>
let app: ChildProcess | undefined
let appUrl: string
let appLogs = ''
const timings: Record<string, number> = {}

/** The first TypeScript block of README's "Using it as a library" section. */
async function readmeLibraryExample(): Promise<string> {
  const readme = await readFile(join(ROOT_DIR, 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf('## Using it as a library'))
  const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1]
  if (!block) throw new Error("README has no TypeScript example under 'Using it as a library'")
  return block
}

async function timed<T>(phase: string, work: () => Promise<T>): Promise<T> {
  const start = Date.now()
  try {
    return await work()
  } finally {
    timings[phase] = Date.now() - start
  }
}

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'hookline-example-'))
  appDir = join(workDir, 'saas-app')
  databaseName = `hookline_test_saas_${randomBytes(6).toString('hex')}`
  databaseUrl = withDatabase(databaseName)
  queue = testQueuePrefix()

  const packed = await timed('pack', () => packPackages(join(workDir, 'tarballs')))
  await cp(EXAMPLE_DIR, appDir, { recursive: true, filter: (source) => !NOT_COPIED.has(relative(EXAMPLE_DIR, source)) })
  // Every package: the CLI's `send` signs the testkit's sample events (its vitest peer, for the
  // conformance suite only, is optional).
  const tarballs = packed.map((p) => p.tarball)
  const npmEnv = cleanEnv({})
  // --ignore-scripts: no install script is needed (Prisma's engines download could not run here).
  await timed('npm install', () =>
    run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', ...tarballs], { cwd: appDir, env: npmEnv, maxBuffer: 16 * 1024 * 1024 }),
  )
  // README's library example, compiled with the app (its `./db.js` is the app's Prisma client).
  await mkdir(join(appDir, 'src/readme'))
  await writeFile(join(appDir, 'src/readme/db.ts'), "import { createPrisma } from '../db.js'\nexport const prisma = createPrisma(process.env.DATABASE_URL!)\n")
  await writeFile(join(appDir, 'src/readme/library.ts'), await readmeLibraryExample())
  // `prisma generate` offline: no schema engine download, no update check.
  const buildEnv = cleanEnv({ PRISMA_SCHEMA_ENGINE_BINARY: '/bin/false', CHECKPOINT_DISABLE: '1', PRISMA_HIDE_UPDATE_MESSAGE: '1' })
  await timed('build', () => run('npm', ['run', 'build'], { cwd: appDir, env: buildEnv }))
  await timed('migrate', () => run('npm', ['run', 'migrate'], { cwd: appDir, env: cleanEnv({ DATABASE_URL: databaseUrl }) }))

  const port = await freePort()
  appUrl = `http://127.0.0.1:${port}`
  // Plain node, as the example's `npm start` runs it (no tsx, no workspace).
  app = spawn(process.execPath, ['--no-memory-reducer', 'dist/server.js'], {
    cwd: appDir,
    env: cleanEnv({
      DATABASE_URL: databaseUrl,
      REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
      PORT: String(port),
      STRIPE_WEBHOOK_SECRET: SECRET,
      HOOKLINE_ADMIN_TOKEN: ADMIN_TOKEN,
      HOOKLINE_QUEUE_PREFIX: queue.prefix,
      HOOKLINE_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
      HOOKLINE_BACKOFF_MS: '20',
    }),
  })
  app.stdout!.on('data', (d) => (appLogs += d))
  app.stderr!.on('data', (d) => (appLogs += d))
  await timed('ready', () =>
    waitFor(
      async () => {
        if (app!.exitCode !== null) throw new Error(`the app exited (${app!.exitCode}):\n${appLogs}`)
        const res = await fetch(`${appUrl}/readyz`).catch(() => undefined)
        return res?.status === 200
      },
      { what: 'the example app to be ready', timeoutMs: 30_000 },
    ),
  )
  console.info(`example-saas-app setup (ms): ${JSON.stringify(timings)}`)
}, 600_000)

afterAll(async () => {
  try {
    if (app && app.exitCode === null) {
      const exited = new Promise((resolve) => app!.once('exit', resolve))
      app.kill('SIGTERM')
      const timer = setTimeout(() => app!.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    }
    await queue?.cleanup()
  } finally {
    if (databaseName) {
      const admin = new pg.Client({ connectionString: withDatabase('postgres') })
      await admin.connect()
      try {
        await admin.query(`DROP DATABASE IF EXISTS ${admin.escapeIdentifier(databaseName)} WITH (FORCE)`)
      } finally {
        await admin.end()
      }
    }
    if (workDir) await rm(workDir, { recursive: true, force: true })
  }
}, 60_000)

/** A Stripe event as the API sends it. */
function stripeEvent(type: string, object: Record<string, unknown>, id = `evt_${randomBytes(12).toString('hex')}`): string {
  return JSON.stringify({ id, object: 'event', api_version: '2026-10-28.endive', created: Math.floor(Date.now() / 1000), type, livemode: false, pending_webhooks: 1, data: { object } })
}

/** Delivers `body` to the app's webhook route, signed afresh (as each of Stripe's retries is). */
async function deliver(body: string): Promise<{ status: number; body: { id: string; duplicate: boolean } }> {
  const signature = Stripe.webhooks.generateTestHeaderString({ payload: body, secret: SECRET })
  const res = await fetch(`${appUrl}/webhooks/stripe`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'stripe-signature': signature } })
  return { status: res.status, body: (await res.json()) as { id: string; duplicate: boolean } }
}

/** GET or POST on the app's own JSON API. */
async function api(path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${appUrl}/api${path}`, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })
  return { status: res.status, body: await res.json() }
}

/** Hookline's admin API in the app. */
async function admin(path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${appUrl}/admin/api${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  expect(res.status, `admin ${path}`).toBeLessThan(300)
  return res.json()
}

function waitForStatus(id: string, status: string): Promise<any> {
  return waitFor(
    async () => {
      const event = await admin(`/events/${id}`)
      return event.status === status ? event : undefined
    },
    { what: `event ${id} to be ${status}`, timeoutMs: 30_000 },
  )
}

async function createCustomer(stripeId: string): Promise<void> {
  const res = await deliver(stripeEvent('customer.created', { id: stripeId, object: 'customer', email: `${stripeId}@example.com`, name: 'Ada' }))
  expect(res.status).toBe(200)
  await waitForStatus(res.body.id, 'processed')
}

describe('the example SaaS app, installed from the packed packages', () => {
  it('runs its own routes and Prisma queries beside Hookline’s tables, and the installed CLI runs', async () => {
    const created = await api('/invoices', { stripeId: 'in_own_route', customerStripeId: 'cus_own_route', amountDue: 1500 })
    expect(created.status).toBe(201)
    expect(created.body).toMatchObject({ stripeId: 'in_own_route', status: 'open', amountPaid: 0 })
    expect((await api('/invoices', { stripeId: 'in_own_route', customerStripeId: 'cus_own_route', amountDue: 1500 })).status).toBe(409)
    expect((await api('/invoices/in_own_route')).body).toMatchObject({ amountDue: 1500 })
    expect((await api('/invoices/in_missing')).status).toBe(404)

    const client = new pg.Client({ connectionString: databaseUrl })
    await client.connect()
    try {
      // One database: the app's tables in `public`, Hookline's (and its history) in `hookline`.
      const { rows } = await client.query<{ name: string }>(
        `SELECT table_schema || '.' || table_name AS name FROM information_schema.tables
          WHERE table_schema IN ('public', 'hookline') AND table_name IN ('customers', 'invoices', 'app_migrations', '_prisma_migrations', 'hookline_events')
          ORDER BY 1`,
      )
      expect(rows.map((r) => r.name)).toEqual(['hookline._prisma_migrations', 'hookline.hookline_events', 'public.app_migrations', 'public.customers', 'public.invoices'])
    } finally {
      await client.end()
    }

    const help = await run(join(appDir, 'node_modules/.bin/hookline'), ['--help'], { cwd: appDir, env: cleanEnv({}) })
    expect(help.stdout).toMatch(/^Usage: hookline /)
    expect(help.stdout).toContain('migrate')
  })

  it('marks an invoice paid and counts its payment exactly once under 50 duplicate deliveries', async () => {
    // customer.created, 50 times at once: one customer.
    const customerEvent = stripeEvent('customer.created', { id: 'cus_dup', object: 'customer', email: 'dup@example.com', name: 'Dup' })
    const customerDeliveries = await Promise.all(Array.from({ length: 50 }, () => deliver(customerEvent)))
    expect(customerDeliveries.every((d) => d.status === 200)).toBe(true)
    await waitForStatus(customerDeliveries[0]!.body.id, 'processed')

    expect((await api('/invoices', { stripeId: 'in_dup', customerStripeId: 'cus_dup', amountDue: 4200 })).status).toBe(201)
    const paid = stripeEvent('invoice.paid', { id: 'in_dup', object: 'invoice', amount_paid: 4200, currency: 'usd', customer: 'cus_dup', status: 'paid' })
    const deliveries = await Promise.all(Array.from({ length: 50 }, () => deliver(paid)))
    expect(deliveries.map((d) => d.status)).toEqual(Array(50).fill(200))
    const ids = new Set(deliveries.map((d) => d.body.id))
    expect(ids.size).toBe(1)
    expect(deliveries.filter((d) => !d.body.duplicate)).toHaveLength(1)
    const [id] = [...ids] as [string]
    const event = await waitForStatus(id, 'processed')
    expect(event).toMatchObject({ attempts: 1, deliveries: 50 })

    // A late retry by Stripe after processing: acknowledged, not applied again.
    const late = await deliver(paid)
    expect(late).toEqual({ status: 200, body: { id, duplicate: true } })

    const customer = (await api('/customers/cus_dup')).body
    expect(customer).toMatchObject({ stripeId: 'cus_dup', email: 'dup@example.com', totalPaid: 4200 })
    expect(customer.invoices).toMatchObject([{ stripeId: 'in_dup', status: 'paid', amountDue: 4200, amountPaid: 4200 }])
  })

  it('a handler that fails half-way leaves no partial write; it is retried, dead-lettered, and applied once on replay', async () => {
    // The invoice exists, its customer not yet: the handler updates the invoice, then fails on
    // the customer. The invoice's update must roll back with it, on every attempt.
    expect((await api('/invoices', { stripeId: 'in_late', customerStripeId: 'cus_late', amountDue: 900 })).status).toBe(201)
    const res = await deliver(stripeEvent('invoice.paid', { id: 'in_late', object: 'invoice', amount_paid: 900, currency: 'usd', customer: 'cus_late' }))
    expect(res.status).toBe(200)
    const dead = await waitForStatus(res.body.id, 'dead')
    expect(dead.attempts).toBe(MAX_ATTEMPTS)
    expect(dead.attemptLog).toHaveLength(MAX_ATTEMPTS)
    for (const attempt of dead.attemptLog) expect(attempt.error).toContain('No record was found for an update')
    expect((await api('/invoices/in_late')).body).toMatchObject({ status: 'open', amountPaid: 0, paidAt: null })
    expect((await admin('/dlq')).events.map((e: { id: string }) => e.id)).toContain(res.body.id)

    // The customer arrives; support replays the dead letter: applied once.
    await createCustomer('cus_late')
    expect(await admin(`/events/${res.body.id}/replay`, {})).toMatchObject({ enqueued: true })
    await waitForStatus(res.body.id, 'processed')
    const customer = (await api('/customers/cus_late')).body
    expect(customer.totalPaid).toBe(900)
    expect(customer.invoices).toMatchObject([{ stripeId: 'in_late', status: 'paid', amountPaid: 900 }])
  })

  it('a PermanentError dead-letters at once: no retry, no row written', async () => {
    await createCustomer('cus_perm')
    const res = await deliver(stripeEvent('invoice.paid', { id: 'in_never_issued', object: 'invoice', amount_paid: 100, currency: 'usd', customer: 'cus_perm' }))
    const dead = await waitForStatus(res.body.id, 'dead')
    expect(dead.attempts).toBe(1)
    expect(dead.attemptLog[0].error).toContain('unknown invoice in_never_issued')
    expect((await api('/invoices/in_never_issued')).status).toBe(404)
    expect((await api('/customers/cus_perm')).body).toMatchObject({ totalPaid: 0, invoices: [] })
  })

  it('refuses a delivery signed with another secret, before any handler', async () => {
    expect((await api('/invoices', { stripeId: 'in_forged', customerStripeId: 'cus_perm', amountDue: 700 })).status).toBe(201)
    const forged = stripeEvent('invoice.paid', { id: 'in_forged', object: 'invoice', amount_paid: 700, currency: 'usd', customer: 'cus_perm' })
    const res = await fetch(`${appUrl}/webhooks/stripe`, {
      method: 'POST',
      body: forged,
      headers: { 'content-type': 'application/json', 'stripe-signature': Stripe.webhooks.generateTestHeaderString({ payload: forged, secret: 'whsec_not_the_apps_secret' }) },
    })
    expect(res.status).toBe(401)
    expect((await api('/invoices/in_forged')).body).toMatchObject({ status: 'open', amountPaid: 0 })
  })
})

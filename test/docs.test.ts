/**
 * The documented commands run as documented: every shell line of README's *Quick start* and every
 * command of docs/support-runbook.md (its `sh` blocks and the `pnpm hookline …` / `curl …` cells
 * of its tables), run through bash in the repository's root against the service started as
 * `pnpm start` starts it (its own database and queue prefix, real Postgres and Redis, the testkit's
 * fake Stripe API for reconciliation), with `HOOKLINE_URL` and `HOOKLINE_ADMIN_TOKEN` set as the
 * runbook says. Each must exit with 0, or with the code the runbook documents for it (a bulk replay
 * (a filter, or several ids) that is not confirmed: 5), so a documented command or flag that stops existing fails here
 * (commander refuses unknown options with a non-zero code).
 *
 * Not run, because they cannot run inside a test: `pnpm install` (the network), `pnpm start` with
 * or without a secret in front (the service itself, which this test starts the same way) and
 * `pnpm test` (this very suite). A command that cannot run offline or does not end by itself (a
 * listener, say) is marked in the markdown with `<!-- docs-check: skip -->`: on the line before its
 * fenced block, or at the end of its table row; a command still running after
 * {@link COMMAND_TIMEOUT_MS} fails with that hint. Placeholders become real values: `<id>` an event's inbox id
 * (a processed one for `events show` and `--force`, a dead one otherwise), `[<id> …]` and a
 * trailing `…` nothing, `<fingerprint>` the issue the dead events opened, and the README's `localhost:3000` the service's address. A trailing
 * `# {…}` comment is the JSON the command prints.
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { createPrismaClient } from '@hookline/db'
import { type FakeStripeApi, signedStripeDelivery, STRIPE_TEST_SECRET, startFakeStripeApi, stripeEvent, TEST_REDIS_URL, testQueuePrefix, waitFor } from '@hookline/testkit'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT_DIR } from './support/root-script.ts'
import { type StartedService, startService } from './support/service-launcher.ts'

const dbName = `hookline_docs_${randomBytes(5).toString('hex')}`
const databaseUrl = `postgresql://postgres@127.0.0.1:5432/${dbName}`
const queue = testQueuePrefix()
const ADMIN_TOKEN = 'docs-admin-token-0123456789abcdef'
const GITHUB_SECRET = 'docs-github-secret'
const TENANT = 'acct_1MqX'

/** Commands of the docs that this test does not run (see the header). */
const NOT_RUN = [/^pnpm install\b/, /(^|\s)pnpm start$/, /^pnpm test\b/]
/** The marker that leaves a fenced block or a table row out. */
const SKIP = '<!-- docs-check: skip -->'
/** How long one documented command may run. */
const COMMAND_TIMEOUT_MS = 20_000

let service: StartedService
let stripeApi: FakeStripeApi
let port: number
const ids: { processed: string[]; dead: string[] } = { processed: [], dead: [] }
/** The issue the dead events opened (what `<fingerprint>` becomes). */
let fingerprint = ''

/** One documented command: where it is, and the line as written. */
interface DocCommand {
  where: string
  line: string
}

/** The lines of the `sh` fenced blocks of `markdown`, but those of blocks marked {@link SKIP}. */
function fencedShellLines(markdown: string, where: string): DocCommand[] {
  const blocks = [...markdown.matchAll(/^(<!-- docs-check: skip -->\n)?```(?:sh|bash|shell)\n([\s\S]*?)^```$/gm)].filter((block) => !block[1])
  return blocks.flatMap((block) => block[2]!.split('\n').filter((line) => line.trim() !== '').map((line) => ({ where, line: line.trim() })))
}

/** The `pnpm hookline …` and `curl …` code spans of `markdown`'s table rows not marked {@link SKIP}. */
function tableCommands(markdown: string, where: string): DocCommand[] {
  const rows = markdown.split('\n').filter((line) => line.startsWith('|') && !line.includes(SKIP))
  return rows.flatMap((row) => [...row.matchAll(/`((?:pnpm hookline|curl) [^`]+)`/g)].map((m) => ({ where, line: m[1]! })))
}

function section(markdown: string, heading: string): string {
  const start = markdown.indexOf(`\n${heading}\n`)
  if (start < 0) throw new Error(`no section ${heading}`)
  const end = markdown.indexOf('\n## ', start + heading.length + 2)
  return markdown.slice(start, end < 0 ? undefined : end)
}

const readme = readFileSync(resolve(ROOT_DIR, 'README.md'), 'utf8')
const runbook = readFileSync(resolve(ROOT_DIR, 'docs/support-runbook.md'), 'utf8')
const documented: DocCommand[] = [
  ...fencedShellLines(section(readme, '## Quick start'), 'README.md, Quick start'),
  ...tableCommands(runbook, 'docs/support-runbook.md'),
  ...fencedShellLines(runbook, 'docs/support-runbook.md'),
]
const runnable = documented.filter((c) => !NOT_RUN.some((pattern) => pattern.test(c.line.replace(/\s+#\s.*$/, ''))))

/** The line with its placeholders filled in, ready for bash. */
function concrete(line: string): string {
  const pool = /\bevents show\b|--force/.test(line) ? ids.processed : ids.dead
  return line
    .replace(/ \[<id> …\]/g, '')
    .replace(/ …$/, '')
    .replace(/<id>/g, () => {
      const id = pool.shift()
      if (!id) throw new Error(`no event id left for: ${line}`)
      return id
    })
    .replace(/<fingerprint>/g, fingerprint)
    .replace(/localhost:3000/g, `127.0.0.1:${port}`)
}

/**
 * The exit code the runbook documents for `line`: a bulk replay (a filter, or several ids) asks
 * before it replays, and this test answers nothing, so 5; else 0.
 */
function expectedCode(line: string): number {
  const bulk = (/^pnpm hookline (dlq )?replay\b/.test(line) && (line.match(/<id>/g) ?? []).length !== 1) || /^pnpm hookline issues replay\b/.test(line)
  return bulk && !/--yes|--dry-run/.test(line) ? 5 : 0
}

function run(line: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn('bash', ['-c', line], {
    cwd: ROOT_DIR,
    // The environment the service runs with, as a user who runs the commands beside it has it.
    env: { ...process.env, HOOKLINE_URL: `http://127.0.0.1:${port}`, HOOKLINE_ADMIN_TOKEN: ADMIN_TOKEN, DATABASE_URL: databaseUrl, REDIS_URL: TEST_REDIS_URL, HOOKLINE_QUEUE_PREFIX: queue.prefix, STRIPE_WEBHOOK_SECRET: STRIPE_TEST_SECRET, GITHUB_WEBHOOK_SECRET: GITHUB_SECRET },
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => (stdout += d))
  child.stderr.on('data', (d) => (stderr += d))
  child.stdin.end('')
  const timer = setTimeout(() => {
    stderr += `\n(still running after ${COMMAND_TIMEOUT_MS} ms: a command that does not end by itself needs ${SKIP})`
    child.kill('SIGKILL')
  }, COMMAND_TIMEOUT_MS)
  return new Promise((done) =>
    child.on('close', (code) => {
      clearTimeout(timer)
      done({ code, stdout, stderr })
    }),
  )
}

async function deliver(type: string): Promise<string> {
  const { body, headers } = signedStripeDelivery(stripeEvent({ account: TENANT, type }))
  const res = await fetch(`http://127.0.0.1:${port}/webhooks/stripe`, { method: 'POST', body, headers })
  expect(res.status).toBe(200)
  return ((await res.json()) as { id: string }).id
}

async function admin(sql: string): Promise<void> {
  const client = createPrismaClient('postgresql://postgres@127.0.0.1:5432/postgres')
  try {
    await client.$executeRawUnsafe(sql)
  } finally {
    await client.$disconnect()
  }
}

beforeAll(async () => {
  stripeApi = await startFakeStripeApi([stripeEvent({ account: TENANT, type: 'invoice.paid' })])
  service = await startService({
    DATABASE_URL: databaseUrl,
    HOOKLINE_QUEUE_PREFIX: queue.prefix,
    HOOKLINE_HANDLERS: 'test/fixtures/record-handlers.mjs',
    STRIPE_WEBHOOK_SECRET: STRIPE_TEST_SECRET,
    STRIPE_API_KEY: 'sk_test_docs',
    STRIPE_API_BASE: stripeApi.url,
    GITHUB_WEBHOOK_SECRET: GITHUB_SECRET,
    SLACK_SIGNING_SECRET: '',
    STANDARD_WEBHOOKS_SECRET: '',
    HOOKLINE_ADMIN_TOKEN: ADMIN_TOKEN,
  })
  port = service.port
  // Events of the runbook's customer: processed ones (no handler but `stripe:*`'s, which passes)
  // and dead ones (`test.reject`, refused by the handler module as permanent).
  ids.processed.push(await deliver('customer.updated'), await deliver('customer.updated'))
  for (let i = 0; i < 4; i++) ids.dead.push(await deliver('test.reject'))
  const prisma = createPrismaClient(databaseUrl)
  try {
    const wanted = [...ids.processed, ...ids.dead]
    await waitFor(async () => (await prisma.$queryRawUnsafe<unknown[]>(`SELECT 1 FROM hookline.hookline_events WHERE id = ANY($1::uuid[]) AND status IN ('processed', 'dead')`, wanted)).length === wanted.length, { what: 'the seeded events to settle' })
  } finally {
    await prisma.$disconnect()
  }
  const issues = (await (await fetch(`http://127.0.0.1:${port}/admin/api/issues`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as { issues: { fingerprint: string }[] }
  fingerprint = issues.issues[0]!.fingerprint
}, 90_000)

afterAll(async () => {
  if (service?.child.exitCode === null) service.child.kill('SIGKILL')
  await stripeApi?.close()
  await queue.cleanup()
  await admin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`)
})

describe('documented commands', () => {
  it('finds the commands of the Quick start and of every runbook table', () => {
    expect(runnable.filter((c) => c.where.startsWith('README')).map((c) => c.line)).toContain('curl -s localhost:3000/readyz      # {"postgres":true,"redis":true}')
    expect(runnable.filter((c) => c.where.startsWith('docs/')).length).toBeGreaterThanOrEqual(15)
  })

  it('runs each one with the documented exit code, in the order of the docs', async () => {
    for (const { where, line } of runnable) {
      const result = await run(concrete(line))
      const context = `${where}: ${line}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`
      expect(result.code, context).toBe(expectedCode(line))
      const printed = /\s#\s+(\{.*\})$/.exec(line)?.[1]
      if (printed) expect(JSON.parse(result.stdout), context).toEqual(JSON.parse(printed))
      if (line.startsWith('curl ')) expect(() => JSON.parse(result.stdout), context).not.toThrow()
    }
  }, 90_000)
})

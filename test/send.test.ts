/**
 * `hookline send` (the real binary, `pnpm hookline`'s command) against a running service on real
 * Postgres and Redis: a signed sample of each provider is stored and processed, `--count` and
 * `--duplicate` make fresh events and byte-for-byte duplicates, `--payload` sends a file's bytes,
 * and a refused request (a wrong secret) exits 1.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Handler } from '@hookline/core'
import { githubAdapter } from '@hookline/github'
import { slackAdapter } from '@hookline/slack'
import { standardWebhooksAdapter } from '@hookline/standard-webhooks'
import { stripeAdapter } from '@hookline/stripe'
import { GITHUB_TEST_SECRET, SLACK_TEST_SECRET, STANDARD_WEBHOOKS_TEST_SECRET, STRIPE_TEST_SECRET, stripeEvent, waitFor } from '@hookline/testkit'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { type Harness, startHarness } from './support/harness.ts'
import { ROOT_DIR, rootScript } from './support/root-script.ts'

const handled: string[] = []
const handler: Handler = async (event) => {
  handled.push(`${event.provider}:${event.type}`)
}

let h: Harness

beforeAll(async () => {
  h = await startHarness({
    handlers: { '*': handler },
    adapters: [
      stripeAdapter({ secrets: [STRIPE_TEST_SECRET] }),
      githubAdapter({ secrets: [GITHUB_TEST_SECRET] }),
      slackAdapter({ secrets: [SLACK_TEST_SECRET] }),
      standardWebhooksAdapter({ name: 'acme', secrets: [STANDARD_WEBHOOKS_TEST_SECRET] }),
    ],
  })
})
afterAll(async () => {
  await h?.close()
})

function send(args: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [command, rest] = rootScript('hookline')
  const child = spawn(command, [...rest, 'send', ...args], {
    cwd: ROOT_DIR,
    env: {
      ...process.env,
      HOOKLINE_URL: h.url,
      STRIPE_WEBHOOK_SECRET: STRIPE_TEST_SECRET,
      GITHUB_WEBHOOK_SECRET: GITHUB_TEST_SECRET,
      SLACK_SIGNING_SECRET: SLACK_TEST_SECRET,
      STANDARD_WEBHOOKS_SECRET: STANDARD_WEBHOOKS_TEST_SECRET,
      STANDARD_WEBHOOKS_NAME: 'acme',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => (stdout += d))
  child.stderr.on('data', (d) => (stderr += d))
  return new Promise((done) => child.on('close', (code) => done({ code, stdout, stderr })))
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/

/** The processed event's row, once it is processed. */
async function processed(id: string): Promise<{ provider: string; type: string; tenant: string | null; event_key: string }> {
  await h.waitForStatus(id, 'processed')
  const rows = await h.prisma.$queryRawUnsafe<{ provider: string; type: string; tenant: string | null; event_key: string }[]>(
    `SELECT provider, type, tenant, event_key FROM hookline.hookline_events WHERE id = $1::uuid`,
    id,
  )
  return rows[0]!
}

/** The stored ids a run printed, in order. */
function idsOf(stdout: string): string[] {
  return stdout.trim().split('\n').map((line) => UUID.exec(line)?.[0] ?? `no id in: ${line}`)
}

it.each([
  ['stripe', 'invoice.payment_failed', 'stripe:invoice.payment_failed'],
  ['github', 'push', 'github:push'],
  ['slack', 'reaction_added', 'slack:reaction_added'],
  ['standard-webhooks', 'email.bounced', 'acme:email.bounced'],
])('sends a signed %s %s sample that is stored and processed', async (provider, type, handledAs) => {
  const run = await send([provider, type])
  expect(run.stderr).toBe('')
  expect(run.code).toBe(0)
  expect(run.stdout).toMatch(new RegExp(`^200 ${UUID.source}\\n$`))
  const [id] = idsOf(run.stdout)
  const row = await processed(id!)
  expect(`${row.provider}:${row.type}`).toBe(handledAs)
  expect(handled).toContain(handledAs)
})

it('sends a Slack slash command, answered as Slack expects (no id in the answer), stored and processed', async () => {
  const run = await send(['slack', 'command'])
  expect(run.code).toBe(0)
  expect(run.stdout).toBe('200 stored (the answer to /webhooks/slack carries no event id)\n')
  await waitFor(async () => (await h.count(`SELECT count(*)::int AS n FROM hookline.hookline_events WHERE provider = 'slack' AND type = 'command.deploy' AND status = 'processed'`)) === 1, { what: 'the slash command processed' })
})

it('sends the provider\'s default sample without a type', async () => {
  const run = await send(['github'])
  expect(run.code).toBe(0)
  const row = await processed(idsOf(run.stdout)[0]!)
  expect(row.type).toBe('push')
})

it('--count sends fresh events, --duplicate each one twice (the second a duplicate of the same row)', async () => {
  const run = await send(['stripe', 'customer.created', '--count', '3', '--duplicate'])
  expect(run.code).toBe(0)
  const lines = run.stdout.trim().split('\n')
  expect(lines).toHaveLength(6)
  const ids = idsOf(run.stdout)
  expect(new Set(ids).size).toBe(3)
  for (let i = 0; i < 6; i += 2) {
    expect(ids[i + 1]).toBe(ids[i])
    expect(lines[i]).not.toContain('duplicate')
    expect(lines[i + 1]).toMatch(/ duplicate$/)
  }
})

it('--payload sends the file\'s exact bytes, signed', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hookline-send-'))
  const file = join(dir, 'event.json')
  const event = stripeEvent({ type: 'charge.refunded', account: 'acct_send_payload' })
  await writeFile(file, JSON.stringify(event, null, 4))
  const run = await send(['stripe', '--payload', file])
  expect(run.code).toBe(0)
  const row = await processed(idsOf(run.stdout)[0]!)
  expect(row).toMatchObject({ type: 'charge.refunded', tenant: 'acct_send_payload', event_key: event.id })
})

it('exits 1 and prints the refusal when the service refuses the signature', async () => {
  const run = await send(['stripe'], { STRIPE_WEBHOOK_SECRET: 'whsec_not_the_one' })
  expect(run.code).toBe(1)
  expect(run.stdout).toMatch(/^401 /)
  expect(run.stderr).toContain('1 request(s) refused')
})

it('exits 2 on an unknown provider, sample type, or a provider without a secret', async () => {
  const [provider, type, secret] = await Promise.all([
    send(['paypal']),
    send(['github', 'no_such_event']),
    send(['slack'], { SLACK_SIGNING_SECRET: undefined }),
  ])
  expect(provider.code).toBe(2)
  expect(provider.stderr).toContain('unknown provider "paypal"')
  expect(type.code).toBe(2)
  expect(type.stderr).toContain('no github sample "no_such_event": push, ping, issues, pull_request, check_run')
  expect(secret.code).toBe(2)
  expect(secret.stderr).toContain('set SLACK_SIGNING_SECRET')
})

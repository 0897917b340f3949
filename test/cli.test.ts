/**
 * The support commands of the real `hookline` binary (`pnpm hookline …`'s command) against a
 * running service (the service's own app with an admin token) on real Postgres and Redis: listings
 * as tables and JSON, event detail, replays with dry run and confirmation, the DLQ, exit codes,
 * and terminal-safe output of attacker-controlled fields.
 */
import { spawn } from 'node:child_process'
import { type Handler, PermanentError } from '@hookline/core'
import { listenOnFreePort, signedStripeDelivery, stripeEvent } from '@hookline/testkit'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../apps/hookline/src/service.ts'
import { type Harness, startHarness } from './support/harness.ts'
import { ROOT_DIR, rootScript } from './support/root-script.ts'

const TOKEN = 'cli-admin-token-0123456789abcdef'
const broken = new Set<string>()

const handler: Handler = async (event, { tx }) => {
  if (broken.has(event.eventKey)) throw new PermanentError('downstream refused')
  await tx.$executeRawUnsafe(`INSERT INTO effects (event_id, label) VALUES ($1::uuid, $2)`, event.id, `g${event.generation}`)
}

let h: Harness
let service: { url: string; close(): Promise<void> }

beforeAll(async () => {
  h = await startHarness({ handlers: { '*': handler }, replay: { ratePerSecond: 1000 } })
  service = await listenOnFreePort(createApp(h.hookline, { adminToken: TOKEN }))
})
afterAll(async () => {
  await service?.close()
  await h?.close()
})

/** Runs `hookline <args>`; `input` is written to its stdin (the confirmation answer). */
function hookline(args: string[], options: { input?: string; env?: Record<string, string | undefined> } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [command, rest] = rootScript('hookline')
  const child = spawn(command, [...rest, ...args], {
    cwd: ROOT_DIR,
    env: { ...process.env, HOOKLINE_URL: service.url, HOOKLINE_ADMIN_TOKEN: TOKEN, ...options.env },
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => (stdout += d))
  child.stderr.on('data', (d) => (stderr += d))
  child.stdin.end(options.input ?? '')
  return new Promise((done) => child.on('close', (code) => done({ code, stdout, stderr })))
}

async function deliver(tenant: string, options: { fail?: boolean; object?: Record<string, unknown> } = {}): Promise<string> {
  const event = stripeEvent({ account: tenant, type: 'invoice.paid', ...(options.object ? { object: options.object } : {}) })
  if (options.fail) broken.add(event.id as string)
  const { body, headers } = signedStripeDelivery(event)
  const res = await h.post('stripe', body, headers)
  await h.waitForStatus(res.body.id, options.fail ? 'dead' : 'processed')
  return res.body.id
}

async function statusOf(id: string): Promise<{ status: string; generation: number }> {
  const rows = await h.prisma.$queryRawUnsafe<{ status: string; generation: number }[]>(`SELECT status::text, generation FROM hookline.hookline_events WHERE id = $1::uuid`, id)
  return rows[0]!
}

async function fix(id: string): Promise<void> {
  const rows = await h.prisma.$queryRawUnsafe<{ event_key: string }[]>(`SELECT event_key FROM hookline.hookline_events WHERE id = $1::uuid`, id)
  broken.delete(rows[0]!.event_key)
}

describe('help and usage', () => {
  it('every support command has --help, and every listing offers --json', async () => {
    const helps = await Promise.all([['events', 'list'], ['events', 'show'], ['replay'], ['dlq', 'list'], ['dlq', 'replay'], ['dlq', 'ignore']].map((c) => hookline([...c, '--help'])))
    for (const help of helps) {
      expect(help.code).toBe(0)
      expect(help.stdout).toMatch(/^Usage: hookline /)
    }
    expect(helps[0]!.stdout).toContain('--json')
    expect(helps[3]!.stdout).toContain('--json')
    expect(helps[2]!.stdout).toContain('--dry-run')
  })

  it('exits 2 on usage errors and 4 without a usable token', async () => {
    const [noSelection, badOption, noToken, wrongToken] = await Promise.all([
      hookline(['replay']),
      hookline(['events', 'list', '--bogus']),
      hookline(['events', 'list'], { env: { HOOKLINE_ADMIN_TOKEN: undefined } }),
      hookline(['events', 'list'], { env: { HOOKLINE_ADMIN_TOKEN: 'wrong' } }),
    ])
    expect(noSelection.code).toBe(2)
    expect(noSelection.stderr).toContain('give event ids, or at least one filter')
    expect(badOption.code).toBe(2)
    expect(noToken.code).toBe(4)
    expect(noToken.stderr).toContain('HOOKLINE_ADMIN_TOKEN')
    expect(wrongToken.code).toBe(4)
  })
})

describe('events', () => {
  let ok: string
  let dead: string
  beforeAll(async () => {
    ok = await deliver('acct_cli_list')
    dead = await deliver('acct_cli_list', { fail: true, object: { description: 'evil \u001b[2J\u001b]0;pwned\u0007 \u009b31m text' } })
  })

  it('lists as a table, and as the API JSON with --json', async () => {
    const tableRun = await hookline(['events', 'list', '--tenant', 'acct_cli_list'])
    expect(tableRun.code).toBe(0)
    const lines = tableRun.stdout.trim().split('\n')
    expect(lines[0]).toMatch(/^ID\s+RECEIVED\s+PROVIDER\s+TENANT\s+TYPE\s+STATUS/)
    expect(lines).toHaveLength(3)
    expect(lines[1]).toContain(dead)
    expect(lines[1]).toContain('dead')
    expect(lines[1]).toContain('PermanentError: downstream refused')

    const jsonRun = await hookline(['events', 'list', '--tenant', 'acct_cli_list', '--status', 'processed', '--json'])
    expect(jsonRun.code).toBe(0)
    const page = JSON.parse(jsonRun.stdout)
    expect(page).toEqual({ events: [expect.objectContaining({ id: ok, status: 'processed', tenant: 'acct_cli_list' })], nextCursor: null })
  })

  it('pages with --limit and --cursor', async () => {
    const first = await hookline(['events', 'list', '--tenant', 'acct_cli_list', '--limit', '1'])
    const cursor = /--cursor (\S+)/.exec(first.stderr)?.[1]
    expect(cursor).toBeDefined()
    const second = JSON.parse((await hookline(['events', 'list', '--tenant', 'acct_cli_list', '--limit', '1', '--cursor', cursor!, '--json'])).stdout)
    expect(second.events.map((e: any) => e.id)).toEqual([ok])
  })

  it('shows an event with its error and payload, and never passes control characters to the terminal', async () => {
    const run = await hookline(['events', 'show', dead])
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/status:\s+dead/)
    expect(run.stdout).toContain('PermanentError: downstream refused')
    expect(run.stdout).toContain('"account": "acct_cli_list"')
    expect(run.stdout).toContain('\\u001b[2J')
    expect(run.stdout).toContain('\\u009b31m')
    expect(run.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/)

    const asJson = await hookline(['events', 'show', dead, '--json'])
    const detail = JSON.parse(asJson.stdout)
    expect(detail.payload.data.object.description).toBe('evil \u001b[2J\u001b]0;pwned\u0007 \u009b31m text')
    expect(asJson.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/)

    const missing = await hookline(['events', 'show', '7d1f9a34-52a6-4c1f-9c6c-0b0e8f8d7a11'])
    expect(missing.code).toBe(3)
    expect(missing.stderr).toContain('no event with id')
  })
})

describe('replay', () => {
  it('replays one dead event once fixed, skips a processed one, and forces a second generation', async () => {
    const id = await deliver('acct_cli_one', { fail: true })
    await fix(id)
    const run = await hookline(['replay', id, '--note', 'fixed the handler'])
    expect(run.code).toBe(0)
    expect(run.stdout.trim()).toBe(`replayed ${id} (generation 1)`)
    await h.waitForStatus(id, 'processed')

    const skipped = await hookline(['replay', id])
    expect(skipped.code).toBe(0)
    expect(skipped.stdout).toContain(`skipped ${id}: already processed`)

    const forced = await hookline(['replay', id, '--force', '--json'])
    expect(JSON.parse(forced.stdout)).toEqual({ id, enqueued: true, status: 'received', generation: 2 })
    await h.waitForStatus(id, 'processed')
    expect(await statusOf(id)).toEqual({ status: 'processed', generation: 2 })
    const audit = await h.prisma.$queryRawUnsafe<{ actor: string; note: string | null }[]>(`SELECT actor, note FROM hookline.hookline_audit_log WHERE event_id = $1::uuid ORDER BY id`, id)
    expect(audit.map((a) => a.note)).toEqual(['fixed the handler', null])
    expect(audit[0]!.actor).toMatch(/^cli:/)
  })

  it('a bulk replay shows a dry run, asks, and does nothing when declined', async () => {
    const ids = [await deliver('acct_cli_bulk', { fail: true }), await deliver('acct_cli_bulk', { fail: true })]
    for (const id of ids) await fix(id)

    const dry = await hookline(['replay', '--tenant', 'acct_cli_bulk', '--dry-run', '--json'])
    expect(dry.code).toBe(0)
    expect(JSON.parse(dry.stdout)).toEqual({ dryRun: true, matched: 2, replayable: 2, enqueued: 0, byStatus: { dead: 2 } })

    const declined = await hookline(['replay', '--tenant', 'acct_cli_bulk'], { input: 'n\n' })
    expect(declined.code).toBe(5)
    expect(declined.stdout).toMatch(/matched:\s+2 \(dead 2\)/)
    expect(declined.stderr).toContain('Replay 2 event(s)? [y/N]')
    expect(declined.stderr).toContain('aborted')
    const noAnswer = await hookline(['replay', '--tenant', 'acct_cli_bulk'])
    expect(noAnswer.code).toBe(5)
    for (const id of ids) expect((await statusOf(id)).status).toBe('dead')

    const accepted = await hookline(['replay', '--tenant', 'acct_cli_bulk'], { input: 'y\n' })
    expect(accepted.code).toBe(0)
    expect(accepted.stdout).toMatch(/replayed:\s+2/)
    for (const id of ids) await h.waitForStatus(id, 'processed')

    const nothing = await hookline(['replay', '--tenant', 'acct_cli_bulk', '--yes'])
    expect(nothing.code).toBe(0)
    expect(nothing.stderr).toContain('already processed (use --force')
  })
})

describe('dlq', () => {
  it('lists the dead events with the depth, replays them with --yes, and ignores with a required note', async () => {
    const a = await deliver('acct_cli_dlq', { fail: true })
    const b = await deliver('acct_cli_dlq', { fail: true })
    const list = await hookline(['dlq', 'list', '--tenant', 'acct_cli_dlq', '--json'])
    expect(list.code).toBe(0)
    const page = JSON.parse(list.stdout)
    expect(page.events.map((e: any) => e.id)).toEqual([b, a])
    expect(page.depth).toBeGreaterThanOrEqual(2)
    expect((await hookline(['dlq', 'list', '--tenant', 'acct_cli_dlq'])).stderr).toMatch(/DLQ depth: \d+/)

    const noNote = await hookline(['dlq', 'ignore', b])
    expect(noNote.code).toBe(2)
    const ignored = await hookline(['dlq', 'ignore', b, '--note', 'test account'])
    expect(ignored.code).toBe(0)
    expect(ignored.stdout.trim()).toBe(`ignored ${b}`)
    expect((await statusOf(b)).status).toBe('ignored')

    await fix(a)
    const replay = await hookline(['dlq', 'replay', '--tenant', 'acct_cli_dlq', '--yes', '--json'])
    expect(replay.code).toBe(0)
    expect(JSON.parse(replay.stdout)).toMatchObject({ matched: 1, enqueued: 1 })
    await h.waitForStatus(a, 'processed')
    expect((await statusOf(b)).status).toBe('ignored')

    // Ignoring what is already processed is refused by the service: exit 1, reason on stderr.
    const refused = await hookline(['dlq', 'ignore', a, '--note', 'too late'])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('cannot ignore an event that is processed')
  })
})

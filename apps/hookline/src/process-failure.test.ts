/**
 * The policy on an error nothing caught, in real processes: logged without the error's other
 * properties, closed, exit 70; a close that never ends is cut off at the bound.
 */
import { spawnSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { FATAL_EXIT_CODE } from './process-failure.ts'

/** Runs `body` in a process that installed the policy (log lines on stdout as JSON); its exit code and lines. */
function runWithPolicy(body: string, close: string): { status: number | null; lines: Record<string, any>[] } {
  const code = `
    const { exitOnUncaughtError } = await import(${JSON.stringify(new URL('./process-failure.ts', import.meta.url).href)})
    const logger = { fatal: (fields, msg) => console.log(JSON.stringify({ ...fields, msg })) }
    exitOnUncaughtError({ logger, closeTimeoutMs: 300, close: ${close} })
    ${body}`
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { encoding: 'utf8', timeout: 20_000 })
  return { status: run.status, lines: run.stdout.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line)) }
}

describe('exitOnUncaughtError', () => {
  it('logs an uncaught exception, closes, and exits with 70', () => {
    const { status, lines } = runWithPolicy(
      `setTimeout(() => { throw Object.assign(new Error('boom'), { code: 'E_BOOM', headers: { authorization: 'Bearer sk_live_secret' }, body: '{"card":"4242"}' }) }, 10)`,
      `async () => console.log(JSON.stringify({ msg: 'closed' }))`,
    )
    expect(status).toBe(FATAL_EXIT_CODE)
    expect(lines.map((l) => l.msg)).toEqual(['uncaught exception: closing, then exiting for a restart', 'closed'])
    expect(lines[0]).toMatchObject({ error: { type: 'Error', code: 'E_BOOM', message: 'boom' }, exitCode: FATAL_EXIT_CODE })
    expect(lines[0]!.error.stack).toContain('boom')
    expect(JSON.stringify(lines)).not.toMatch(/sk_live_secret|4242/)
  })

  it('exits at the bound when the close never ends, logging a second error on the way', () => {
    const started = Date.now()
    const { status, lines } = runWithPolicy(
      `setTimeout(() => Promise.reject(new Error('first')), 10); setTimeout(() => Promise.reject('second'), 50)`,
      `() => new Promise(() => setInterval(() => {}, 1000))`,
    )
    expect(status).toBe(FATAL_EXIT_CODE)
    expect(lines.map((l) => [l.msg, l.error.message])).toEqual([
      ['unhandled rejection: closing, then exiting for a restart', 'first'],
      ['unhandled rejection while closing', 'second'],
    ])
    expect(Date.now() - started).toBeLessThan(10_000)
  })
})

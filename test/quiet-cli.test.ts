/**
 * `pnpm hookline …` as a user types it (the real pnpm, not the script's command): only the
 * command's own output, no pnpm echo line and no ELIFECYCLE line, and the documented exit codes.
 */
import { spawn } from 'node:child_process'
import { expect, it } from 'vitest'
import { ROOT_DIR } from './support/root-script.ts'

function pnpm(args: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn('pnpm', args, { cwd: ROOT_DIR, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => (stdout += d))
  child.stderr.on('data', (d) => (stderr += d))
  return new Promise((done) => child.on('close', (code) => done({ code, stdout, stderr })))
}

it('prints only the help for `pnpm hookline --help`, exit 0', async () => {
  const { code, stdout, stderr } = await pnpm(['hookline', '--help'])
  expect(code).toBe(0)
  expect(stdout).toMatch(/^Usage: hookline /)
  expect(stderr).toBe('')
})

it('prints only the command\'s own error on a failure, with its exit code (4: no admin token)', async () => {
  const { code, stdout, stderr } = await pnpm(['hookline', 'events', 'list'], { HOOKLINE_ADMIN_TOKEN: undefined, HOOKLINE_URL: 'http://127.0.0.1:9' })
  expect(code).toBe(4)
  expect(stdout).toBe('')
  expect(stderr).toBe("set HOOKLINE_ADMIN_TOKEN to the service's admin token (and HOOKLINE_URL to its address)\n")
})

it('keeps the usage exit code (2) and prints help without pnpm\'s lines', async () => {
  const { code, stdout, stderr } = await pnpm(['hookline', 'no-such-command'])
  expect(code).toBe(2)
  expect(stdout + stderr).not.toMatch(/ELIFECYCLE|\$ node/)
  expect(stderr).toContain("unknown command 'no-such-command'")
})

/**
 * @module The real `hookline` binary (`pnpm hookline …`'s command) for tests of the support
 * commands: run against a service's admin API, its output and exit code collected.
 */
import { spawn } from 'node:child_process'
import { ROOT_DIR, rootScript } from './root-script.ts'

/** What a command printed, and how it exited. */
export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

/**
 * Runs `hookline <args>` with `HOOKLINE_URL` and `HOOKLINE_ADMIN_TOKEN` set to `target`'s;
 * `input` is written to its stdin (a confirmation's answer), which is closed either way.
 *
 * @example
 * const { code, stdout } = await runHookline(['events', 'list'], { url: service.url, token: TOKEN })
 */
export function runHookline(args: string[], target: { url: string; token: string; input?: string }): Promise<CliResult> {
  const [command, rest] = rootScript('hookline')
  const child = spawn(command, [...rest, ...args], { cwd: ROOT_DIR, env: { ...process.env, HOOKLINE_URL: target.url, HOOKLINE_ADMIN_TOKEN: target.token } })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => (stdout += d))
  child.stderr.on('data', (d) => (stderr += d))
  child.stdin.end(target.input ?? '')
  return new Promise((done) => child.on('close', (code) => done({ code, stdout, stderr })))
}

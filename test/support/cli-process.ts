/**
 * @module The real `hookline` binary (`pnpm hookline …`'s command) for tests of the support
 * commands: run against a service's admin API, its output and exit code collected; or started
 * and left running (`listen`), to be stopped with a signal.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { ROOT_DIR, rootScript } from './root-script.ts'

/** What a command printed, and how it exited. */
export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

/** The service a command talks to, and what else its environment holds. */
export interface CliTarget {
  url: string
  token: string
  /** Written to its stdin (a confirmation's answer), which is closed either way. */
  input?: string
  /** More environment variables (`HOME`, a secret…). */
  env?: Record<string, string>
}

function spawnHookline(args: string[], target: CliTarget): ChildProcess {
  const [command, rest] = rootScript('hookline')
  const child = spawn(command, [...rest, ...args], { cwd: ROOT_DIR, env: { ...process.env, HOOKLINE_URL: target.url, HOOKLINE_ADMIN_TOKEN: target.token, ...target.env } })
  child.stdin!.end(target.input ?? '')
  return child
}

/**
 * Runs `hookline <args>` with `HOOKLINE_URL` and `HOOKLINE_ADMIN_TOKEN` set to `target`'s;
 * `input` is written to its stdin (a confirmation's answer), which is closed either way.
 *
 * @example
 * const { code, stdout } = await runHookline(['events', 'list'], { url: service.url, token: TOKEN })
 */
export function runHookline(args: string[], target: CliTarget): Promise<CliResult> {
  const child = spawnHookline(args, target)
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (d) => (stdout += d))
  child.stderr!.on('data', (d) => (stderr += d))
  return new Promise((done) => child.on('close', (code) => done({ code, stdout, stderr })))
}

/** A `hookline` command left running. */
export interface RunningHookline {
  child: ChildProcess
  /** What it printed to stdout so far. */
  stdout(): string
  /** What it printed to stderr so far. */
  stderr(): string
  /** Its exit code, once it has exited by itself or been stopped. */
  exited: Promise<number | null>
  /** Sends `signal` (default SIGTERM) and resolves with the exit code once it has exited. */
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

/**
 * Starts `hookline <args>` as {@link runHookline} runs it, without waiting for its end.
 *
 * @example
 * const listen = startHookline(['listen', '--forward-to', receiver.url], { url: service.url, token: TOKEN })
 * expect(await listen.stop('SIGINT')).toBe(0)
 */
export function startHookline(args: string[], target: CliTarget): RunningHookline {
  const child = spawnHookline(args, target)
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (d) => (stdout += d))
  child.stderr!.on('data', (d) => (stderr += d))
  const exited = new Promise<number | null>((done) => child.on('close', (code) => done(code)))
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      return exited
    },
  }
}

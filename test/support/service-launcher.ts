/**
 * @module The service as a user starts it, for tests: the root `start` script's command on a free
 * port with the given environment, its output collected, resolved once `/readyz` answers 200.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { freePort, TEST_REDIS_URL, waitFor } from '@hookline/testkit'
import { ROOT_DIR, rootScript } from './root-script.ts'

/** A running `pnpm start`. */
export interface StartedService {
  url: string
  port: number
  child: ChildProcess
  /** Everything it wrote to stdout and stderr so far. */
  output(): string
  /** SIGTERM, and waits for the exit (nothing when it has exited). */
  stop(): Promise<void>
}

/**
 * Starts `pnpm start`'s command with this process's environment, `REDIS_URL` the test Redis, and
 * `env` on top (the database, queue prefix, secrets and handlers of the test).
 *
 * @example
 * const service = await startService({ DATABASE_URL: databaseUrl, HOOKLINE_QUEUE_PREFIX: queue.prefix })
 */
export async function startService(env: Record<string, string>): Promise<StartedService> {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const [command, args] = rootScript('start')
  const child = spawn(command, args, { cwd: ROOT_DIR, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PORT: String(port), REDIS_URL: TEST_REDIS_URL, ...env } })
  let output = ''
  child.stdout!.on('data', (d) => (output += d))
  child.stderr!.on('data', (d) => (output += d))
  await waitFor(async () => (await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200, { what: `the service to be ready:\n${output}`, timeoutMs: 45_000, intervalMs: 200 })
  return {
    url,
    port,
    child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGTERM')
      await exited
    },
  }
}

/**
 * @module `hookline work` processes for tests that kill workers: the real binary on a harness's
 * database and queue prefix, with a short job lock so that another worker takes over quickly.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { TEST_REDIS_URL } from '@hookline/testkit'
import { ROOT_DIR, rootScript } from './root-script.ts'

/**
 * Spawns `hookline work` with `handlers` (a HOOKLINE_HANDLERS path) on the database and queue of
 * `target`; `env` adds or overrides variables. Its stderr is piped, unread unless the test reads it.
 *
 * @example
 * const worker = spawnWorkerProcess(h, 'test/fixtures/crash-handlers.ts', { CRASH_MARKER: marker })
 */
export function spawnWorkerProcess(target: { databaseUrl: string; queuePrefix: string }, handlers: string, env: Record<string, string> = {}): ChildProcess {
  const [command, args] = rootScript('hookline')
  return spawn(command, [...args, 'work'], {
    cwd: ROOT_DIR,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      ...process.env,
      DATABASE_URL: target.databaseUrl,
      REDIS_URL: TEST_REDIS_URL,
      HOOKLINE_QUEUE_PREFIX: target.queuePrefix,
      HOOKLINE_HANDLERS: handlers,
      HOOKLINE_LOCK_MS: '2000',
      HOOKLINE_LOG_LEVEL: 'warn',
      ...env,
    },
  })
}

/** SIGKILLs `child` unless it has exited, and waits for its exit. */
export async function killProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((r) => child.once('exit', r))
  child.kill('SIGKILL')
  await exited
}

/**
 * @module The service as users run it: the root `start` script's command (`pnpm start`: migrate,
 * then the ingress and its worker processes under the supervisor), with default settings, on a
 * sandbox, and the pids of its ingress and worker processes read from its log.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { freePort, STRIPE_TEST_SECRET } from '@hookline/testkit'
import { ROOT_DIR, rootScript } from '../../test/support/root-script.ts'
import { sleep } from './child.ts'
import { REDIS_URL, type Sandbox } from './infra.ts'

/** A running `pnpm start`. */
export interface ServiceProcess {
  url: string
  /** The supervisor's pid. */
  pid: number
  ingressPid: number
  workerPids: number[]
  /** SIGTERM, and wait for the exit. */
  stop(): Promise<void>
}

/**
 * Starts `pnpm start`'s command with only the environment a user sets (database, Redis, the Stripe
 * secret, a port) and waits until it is ready.
 *
 * @example
 * const service = await startService(await infra.sandbox())
 */
export async function startService(sandbox: Sandbox, env: Record<string, string> = {}): Promise<ServiceProcess> {
  const port = await freePort()
  const [command, args] = rootScript('start')
  const child: ChildProcess = spawn(command, args, {
    cwd: ROOT_DIR,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '',
      PORT: String(port),
      DATABASE_URL: sandbox.databaseUrl,
      REDIS_URL,
      HOOKLINE_QUEUE_PREFIX: sandbox.queuePrefix,
      STRIPE_WEBHOOK_SECRET: STRIPE_TEST_SECRET,
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('HOOKLINE_'))),
      ...env,
    },
  })
  let output = ''
  child.stdout!.on('data', (d) => (output += d))
  child.stderr!.on('data', (d) => (output += d))
  const url = `http://127.0.0.1:${port}`
  const deadline = performance.now() + 60_000
  const pids = (role: string) => [...output.matchAll(new RegExp(`"${role}Pid":(\\d+),[^\\n]*"msg":"${role} process started"`, 'g'))].map((m) => Number(m[1]))
  for (;;) {
    const ready = (await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200
    if (ready && pids('ingress').length > 0 && pids('worker').length > 0) break
    if (child.exitCode !== null || performance.now() > deadline) throw new Error(`pnpm start did not become ready:\n${output}`)
    await sleep(200)
  }
  return {
    url,
    pid: child.pid!,
    ingressPid: pids('ingress').at(-1)!,
    workerPids: pids('worker'),
    async stop() {
      if (child.exitCode !== null) return
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGTERM')
      await exited
    },
  }
}

/**
 * @module Child processes of the benchmark: every measured server, worker and load generator runs
 * in a process of its own (so that its CPU and memory are its own), driven over Node's IPC channel
 * with a tiny request/response protocol. This is the parent's side; the child's is
 * `serve-parent.ts`, kept apart so that no child loads the bundler.
 */
import { fork } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bundle } from '../../scripts/bundle.ts'
import type { CallMessage, ChildMessage } from './serve-parent.ts'

/** A running child process. */
export interface Child<Ready> {
  /** Process id. */
  pid: number
  /** What the child announced once ready (e.g. its port). */
  ready: Ready
  /** Calls one of the child's methods and resolves with its result. */
  call<T>(method: string, args?: unknown): Promise<T>
  /** The child's peak resident set size so far, in bytes. */
  peakRssBytes(): Promise<number>
  /** Asks the child to close cleanly, then kills it if it has not exited after 10 s. */
  stop(): Promise<void>
}

/** How to start a child. */
export interface ForkOptions {
  /** Extra environment variables. */
  env?: NodeJS.ProcessEnv
  /** Extra Node flags, e.g. `--cpu-prof` (not allowed in `NODE_OPTIONS`). */
  nodeArgs?: string[]
}

let profileDir: string | undefined

/**
 * Node flags of every measured target, Hookline's and the baselines' alike: those of package.json's
 * `start` script, so that Hookline is measured as it ships and the baselines under the same runtime.
 */
const TARGET_NODE_FLAGS: string[] = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: { start: string } }).scripts.start
  .split(' ')
  .filter((word) => word.startsWith('--'))

/** Makes every target process forked from now on write a V8 CPU profile into `dir` when it exits. */
export function profileTargets(dir: string): void {
  profileDir = dir
}

const bundles = new Map<string, Promise<string>>()

/**
 * `script` (a path relative to `bench/`) compiled once per run, as `pnpm build` compiles the
 * service: no child carries tsx and its loader thread (~90 MB of RSS under load), so each target's
 * memory is what it would be in production.
 */
function compiled(script: string): Promise<string> {
  let path = bundles.get(script)
  if (!path) {
    const name = script.replace(/\.ts$/, '')
    const outdir = fileURLToPath(new URL(`../results/.bundles/${name}`, import.meta.url))
    path = bundle(fileURLToPath(new URL(`../${script}`, import.meta.url)), outdir).then(() => join(outdir, `${basename(name)}.mjs`))
    bundles.set(script, path)
  }
  return path
}

/**
 * Forks `script` (a path relative to `bench/`), compiled, and waits until it calls
 * {@link serveParent}.
 *
 * @example
 * const server = await forkChild<{ port: number }>('targets/ingest-server.ts', { mode: 'bare' })
 */
export async function forkChild<Ready>(script: string, config: unknown, options: ForkOptions = {}): Promise<Child<Ready>> {
  const proc = fork(await compiled(script), [JSON.stringify(config)], {
    execArgv: [
      ...(script.startsWith('targets/') ? [...TARGET_NODE_FLAGS, ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])] : []),
      ...(options.nodeArgs ?? []),
    ],
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const pending = new Map<number, { resolve(value: unknown): void; reject(err: Error): void }>()
  let nextId = 0
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)))
  const ready = await new Promise<Ready>((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`${script} exited with ${code} before it was ready`)))
    proc.on('message', (raw) => {
      const msg = raw as ChildMessage
      if (msg.kind === 'ready') resolve(msg.value as Ready)
      else {
        const waiter = pending.get(msg.id)
        pending.delete(msg.id)
        if (msg.error !== undefined) waiter?.reject(new Error(`${script}: ${msg.error}`))
        else waiter?.resolve(msg.value)
      }
    })
  })
  void exited.then((code) => {
    for (const waiter of pending.values()) waiter.reject(new Error(`${script} exited with ${code}`))
    pending.clear()
  })
  const call = <T>(method: string, args?: unknown): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject })
      proc.send({ kind: 'call', id, method, args } satisfies CallMessage)
    })
  return {
    pid: proc.pid!,
    ready,
    call,
    peakRssBytes: () => call<number>('peakRss'),
    async stop() {
      if (proc.exitCode !== null) return
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000)
      await call('close').catch(() => undefined)
      await exited
      clearTimeout(timer)
    },
  }
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

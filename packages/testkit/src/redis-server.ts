/**
 * @module A throwaway `redis-server` process on a free port, for tests that stop and restart
 * Redis (it keeps nothing on disk, so a restart loses every job, as a real outage can).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { Redis } from 'ioredis'

/** A private Redis that a test can kill and start again on the same port. */
export interface DisposableRedis {
  url: string
  port: number
  /** Kills the server (SIGKILL): every connection drops and all data is gone. */
  kill(): Promise<void>
  /** Starts a fresh, empty server on the same port. */
  start(): Promise<void>
}

/** Finds a free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number }
      srv.close(() => resolve(port))
    })
  })
}

/**
 * Starts `redis-server` (from PATH) on a free port.
 *
 * @example
 * const redis = await startDisposableRedis()
 * await redis.kill(); await redis.start()
 */
export async function startDisposableRedis(): Promise<DisposableRedis> {
  const port = await freePort()
  let child: ChildProcess | undefined
  const handle: DisposableRedis = {
    url: `redis://127.0.0.1:${port}`,
    port,
    async kill() {
      // A server that was killed already has a signal code and no exit code.
      if (!child || child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise((r) => child!.once('exit', r))
      child.kill('SIGKILL')
      await exited
    },
    async start() {
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
      await waitForPing(handle.url)
    },
  }
  await handle.start()
  return handle
}

async function waitForPing(url: string): Promise<void> {
  const deadline = Date.now() + 10_000
  for (;;) {
    const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
    redis.on('error', () => undefined)
    try {
      await redis.connect()
      await redis.ping()
      return
    } catch (err) {
      if (Date.now() > deadline) throw err
      await new Promise((r) => setTimeout(r, 50))
    } finally {
      redis.disconnect()
    }
  }
}

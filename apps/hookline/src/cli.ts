#!/usr/bin/env -S node --import tsx
/**
 * @module The `hookline` command line: `migrate`, `serve`, `work`, and `start` (all of them: the
 * ingress with its worker processes, what `pnpm start` runs); and the support commands `events`,
 * `replay`, `dlq` and `reconcile`, which talk to the admin API of the running service.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Hookline } from '@hookline/core'
import { Command } from 'commander'
import { registerDlqCommands } from './commands/dlq.ts'
import { EXIT, exitCodeOf } from './commands/errors.ts'
import { registerEventsCommands } from './commands/events.ts'
import { registerReconcileCommand } from './commands/reconcile.ts'
import { registerReplayCommand } from './commands/replay.ts'
import { type Env, loadEnv } from './env.ts'
import { loadDatabase, loadService } from './lazy-service.ts'
import { boundWorkerHeapGrowth } from './worker-heap.ts'
import { answerIngress, WorkerProcesses } from './worker-processes.ts'

async function runMigrations(env: Env): Promise<void> {
  const { ensureDatabase, migrate } = await loadDatabase()
  await ensureDatabase(env.DATABASE_URL)
  const { applied } = await migrate(env.DATABASE_URL, { schema: env.HOOKLINE_SCHEMA })
  console.error(applied.length ? `applied migrations: ${applied.join(', ')}` : 'database is up to date')
}

async function listen(hookline: Hookline, env: Env): Promise<Server> {
  const { createApp } = await loadService()
  const requestTimeout = env.HOOKLINE_REQUEST_TIMEOUT_MS
  const headersTimeout = Math.min(env.HOOKLINE_HEADERS_TIMEOUT_MS, requestTimeout)
  const server = createServer(
    {
      requestTimeout,
      headersTimeout,
      keepAliveTimeout: env.HOOKLINE_KEEP_ALIVE_TIMEOUT_MS,
      // Node looks for timed-out requests this often (30 s by default, longer than the timeouts).
      connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(headersTimeout / 4))),
    },
    createApp(hookline, { adminToken: env.HOOKLINE_ADMIN_TOKEN, adminTokens: env.HOOKLINE_ADMIN_TOKENS }),
  )
  return new Promise((resolve) => {
    server.listen(env.PORT, () => {
      const { port: actual } = server.address() as AddressInfo
      hookline.logger.info({ port: actual, providers: [...hookline.adapters.keys()] }, `listening on :${actual}`)
      resolve(server)
    })
  })
}

/**
 * Stops cleanly on SIGINT/SIGTERM (or when `answerIngress` reports the ingress gone): no new
 * requests, running jobs finish (worker processes' too), connections close.
 */
function stopper(hookline: Hookline, server?: Server, workers?: WorkerProcesses): () => Promise<void> {
  let stopping: Promise<void> | undefined
  const stop = async () => {
    hookline.logger.info('shutting down')
    await Promise.all([new Promise((r) => (server ? server.close(r) : r(undefined))), workers?.stop()])
    await hookline.close()
    process.exit(0)
  }
  return () => (stopping ??= stop())
}

async function run(mode: { serve: boolean; work: boolean; migrate: boolean }): Promise<void> {
  const env = loadEnv()
  if (mode.migrate) await runMigrations(env)
  const { buildHookline } = await loadService()
  const hookline = await buildHookline(env)
  if (hookline.adapters.size === 0 && mode.serve) {
    hookline.logger.warn('no provider is enabled: set STRIPE_WEBHOOK_SECRET (see README)')
  }
  const server = mode.serve ? await listen(hookline, env) : undefined
  // `start` runs its worker in processes of its own: requests and batches then do not share one
  // event loop (received→processed p99 8× lower under load, docs/performance.md).
  const workers = mode.serve && mode.work && env.HOOKLINE_WORKER_PROCESSES > 0
    ? new WorkerProcesses({ count: env.HOOKLINE_WORKER_PROCESSES, logger: hookline.logger })
    : undefined
  const stop = stopper(hookline, server, workers)
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  if (workers) {
    hookline.metrics.includeProcesses(() => workers.snapshots())
    workers.start()
  } else if (mode.work) {
    // The process runs the worker (`work`, or `start` with no worker process): its heap is bounded.
    const heapGrowingPercent = boundWorkerHeapGrowth()
    await hookline.startWorker()
    hookline.logger.info({ concurrency: env.HOOKLINE_CONCURRENCY, heapGrowingPercent }, 'worker started')
    answerIngress(() => hookline.metrics.snapshot(), stop)
  }
}

const program = new Command('hookline')
  .description('Durable webhook inbox: receive, verify, store and process provider webhooks exactly once.')
  .showHelpAfterError()
  // Usage errors exit with 2 (help and --version with 0); inherited by every subcommand.
  .exitOverride((err) => process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage))

program
  .command('migrate')
  .description('create the database if missing and apply pending migrations')
  .action(async () => runMigrations(loadEnv()))

program
  .command('serve')
  .description('run the HTTP ingress only (POST /webhooks/:provider, /healthz, /readyz, /metrics)')
  .action(async () => run({ serve: true, work: false, migrate: false }))

program
  .command('work')
  .description('run the worker only (processing, retries, dead letters, sweeper)')
  .action(async () => run({ serve: false, work: true, migrate: false }))

program
  .command('start')
  .description('apply migrations, then serve, with the worker in HOOKLINE_WORKER_PROCESSES processes of its own (0: in this process)')
  .action(async () => run({ serve: true, work: true, migrate: true }))

registerEventsCommands(program)
registerReplayCommand(program)
registerDlqCommands(program)
registerReconcileCommand(program)

program.parseAsync().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err))
  process.exit(exitCodeOf(err))
})

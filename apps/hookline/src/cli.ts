#!/usr/bin/env -S node --import tsx
/**
 * @module The `hookline` command line: `migrate`, `serve`, `work`, and `start` (all of them: the
 * ingress and its worker processes under a supervisor, what `pnpm start` runs); and the support
 * commands `events`, `replay`, `dlq`, `issues`, `pause`, `resume`, `pauses`, `breakers`,
 * `reconcile` and `prune`, which talk to the admin API of the running service; `send`, which
 * posts signed sample events to it; and `listen`, which forwards the events it stores to a local
 * endpoint.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Hookline } from '@hookline/core'
import { Command } from 'commander'
import { registerDlqCommands } from './commands/dlq.ts'
import { CliError, EXIT, exitCodeOf } from './commands/errors.ts'
import { registerEventsCommands } from './commands/events.ts'
import { registerIssuesCommands } from './commands/issues.ts'
import { registerListenCommand } from './commands/listen.ts'
import { registerPauseCommands } from './commands/pauses.ts'
import { registerPruneCommand } from './commands/prune.ts'
import { registerReconcileCommand } from './commands/reconcile.ts'
import { registerReplayCommand } from './commands/replay.ts'
import { registerSendCommand } from './commands/send.ts'
import { type Env, loadEnv } from './env.ts'
import { loadDatabase, loadLogger, loadService } from './lazy-service.ts'
import { exitOnUncaughtError } from './process-failure.ts'
import { answerMetrics, reportListening, stopWithSupervisor, supervisorMetrics } from './supervised.ts'
import { runToEnd, Supervisor } from './supervisor.ts'
import { boundWorkerHeapGrowth } from './worker-heap.ts'
import { lowerWorkerPriority } from './worker-priority.ts'

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
    createApp(hookline, { adminToken: env.HOOKLINE_ADMIN_TOKEN, adminTokens: env.HOOKLINE_ADMIN_TOKENS, redact: env.HOOKLINE_REDACT }),
  )
  return new Promise((resolve, reject) => {
    // A port in use fails the command (exit 1, the reason on stderr), not the process's policy.
    server.once('error', reject)
    server.listen(env.PORT, () => {
      server.off('error', reject)
      const { port: actual } = server.address() as AddressInfo
      hookline.logger.info({ port: actual, providers: [...hookline.adapters.keys()] }, `listening on :${actual}`)
      resolve(server)
    })
  })
}

/**
 * Closes what this process runs, once (calling it again returns the same promise): no new
 * requests, the running ones and the running jobs finish, connections and pools close.
 */
function closer(hookline: Hookline, server: () => Server | undefined): () => Promise<void> {
  let closing: Promise<void> | undefined
  const close = async () => {
    hookline.logger.info('shutting down')
    // Open event streams never end by themselves: they end first, or the server would wait for them.
    hookline.feed.close()
    const listening = server()
    if (listening) await new Promise((r) => listening.close(r))
    await hookline.close()
  }
  return () => (closing ??= close())
}

/** Calls `stop` on SIGINT and SIGTERM. */
function onStopSignals(stop: () => void): void {
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

/**
 * `serve`, `work`, and the processes of `start`: the ingress (`serve`, with the worker when
 * `start` runs no worker process) and its worker processes (`work`). Each stops cleanly on
 * SIGINT/SIGTERM or when its supervisor is gone (exit 0), and on an error nothing caught closes
 * within `HOOKLINE_FATAL_CLOSE_MS` and exits with FATAL_EXIT_CODE, for a restart.
 */
async function run(mode: { serve: boolean; work: boolean }): Promise<void> {
  const env = loadEnv()
  const { buildHookline } = await loadService()
  const hookline = await buildHookline(env)
  let server: Server | undefined
  const close = closer(hookline, () => server)
  exitOnUncaughtError({ logger: hookline.logger, close, closeTimeoutMs: env.HOOKLINE_FATAL_CLOSE_MS })
  const stop = () => void close().then(() => process.exit(EXIT.ok))
  onStopSignals(stop)
  stopWithSupervisor(stop)
  if (mode.serve) {
    if (hookline.adapters.size === 0) hookline.logger.warn('no provider is enabled: set STRIPE_WEBHOOK_SECRET (see README)')
    // Under `start`, the worker processes' metrics are on this process's /metrics.
    const peers = supervisorMetrics()
    if (peers) hookline.metrics.includeProcesses(peers)
    server = await listen(hookline, env)
    reportListening((server.address() as AddressInfo).port)
  }
  if (mode.work) {
    // The process runs the worker (`work`, or `start` with no worker process): its heap is bounded.
    const heapGrowingPercent = boundWorkerHeapGrowth()
    const niceness = mode.serve ? undefined : workerNiceness(hookline, env.HOOKLINE_WORKER_NICE)
    await hookline.startWorker()
    hookline.logger.info({ concurrency: env.HOOKLINE_CONCURRENCY, heapGrowingPercent, niceness }, 'worker started')
    if (!mode.serve) answerMetrics(() => hookline.metrics.snapshot())
  }
}

/** Lowers a worker process's CPU priority; a system that refuses is logged, not fatal. */
function workerNiceness(hookline: Hookline, niceness: number): number | undefined {
  try {
    return lowerWorkerPriority(niceness)
  } catch (err) {
    hookline.logger.warn({ err: err instanceof Error ? err.message : String(err), niceness }, 'the worker process could not lower its CPU priority; it runs at the same priority as the ingress')
    return undefined
  }
}

/**
 * `start`: the migrations (run to their end in a process of their own), then the service as
 * supervised processes: the ingress, and the worker in `HOOKLINE_WORKER_PROCESSES` processes of its
 * own (docs/performance.md: requests and batches then do not share one event loop, received→processed
 * p99 8× lower under load). This process only supervises: it restarts whichever dies, and stops
 * them all on SIGINT/SIGTERM.
 */
async function supervise(): Promise<void> {
  const env = loadEnv()
  const migrated = await runToEnd(['migrate'])
  if (migrated !== EXIT.ok) throw new CliError('hookline.cli.migrate_failed', migrated, 'the migrations failed: the service is not started')
  const { createLogger } = await loadLogger()
  const logger = createLogger(env)
  const supervisor = new Supervisor({ workers: env.HOOKLINE_WORKER_PROCESSES, logger })
  let stopping: Promise<void> | undefined
  const close = () => {
    if (!stopping) logger.info('shutting down')
    return (stopping ??= supervisor.stop())
  }
  exitOnUncaughtError({ logger, close, closeTimeoutMs: env.HOOKLINE_FATAL_CLOSE_MS })
  onStopSignals(() => void close().then(() => process.exit(EXIT.ok)))
  await supervisor.start()
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
  .action(async () => run({ serve: true, work: false }))

program
  .command('work')
  .description('run the worker only (processing, retries, dead letters, sweeper)')
  .action(async () => run({ serve: false, work: true }))

program
  .command('start')
  .description('apply migrations, then serve, with the worker in HOOKLINE_WORKER_PROCESSES processes of its own (0: in the ingress process), restarting any process that dies')
  .action(async () => supervise())

// The ingress process of `start`, forked by its supervisor: `serve`, and the worker too when
// HOOKLINE_WORKER_PROCESSES is 0.
program
  .command('ingress', { hidden: true })
  .action(async () => run({ serve: true, work: loadEnv().HOOKLINE_WORKER_PROCESSES === 0 }))

registerEventsCommands(program)
registerReplayCommand(program)
registerDlqCommands(program)
registerPauseCommands(program)
registerIssuesCommands(program)
registerReconcileCommand(program)
registerPruneCommand(program)
registerSendCommand(program)
registerListenCommand(program)

program.parseAsync().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err))
  process.exit(exitCodeOf(err))
})

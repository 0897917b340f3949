/**
 * @module The policy of a Hookline process (`serve`, `work`, `start` and the processes `start`
 * runs) for an error nothing caught: an `uncaughtException` or an `unhandledRejection`. Its state
 * is then unknown, so it does not limp on: it logs the error, closes as it would on SIGTERM (no new
 * requests or jobs, the running ones finish, pools close) for a bounded time, and exits with
 * {@link FATAL_EXIT_CODE} for its supervisor (`start`'s, systemd, Kubernetes…) to restart it.
 * Nothing acknowledged is lost: what was answered 2xx is committed in Postgres, and the sweeper or
 * BullMQ's stalled-job check runs again whatever the process was processing.
 */

/**
 * Exit code of a process that stopped on an error nothing caught (`EX_SOFTWARE` of sysexits.h):
 * apart from a configuration error's `1`, and from `0`, a requested stop.
 */
export const FATAL_EXIT_CODE = 70

/** What the policy logs through (the service's pino logger fits). */
export interface FatalLogger {
  fatal(fields: object, message: string): void
}

/** Options of {@link exitOnUncaughtError}. */
export interface FailurePolicyOptions {
  logger: FatalLogger
  /** Closes the process's work as on SIGTERM; the process exits once it resolves, or at the bound. */
  close: () => Promise<unknown>
  /**
   * Longest the close may take before the process exits anyway (a handler that never returns, a
   * database that no longer answers): what is still running then is retried elsewhere.
   * @defaultValue 10000
   */
  closeTimeoutMs?: number
}

/** Defaults of {@link FailurePolicyOptions}. */
export const DEFAULT_FAILURE_POLICY = { closeTimeoutMs: 10_000 } as const satisfies Partial<FailurePolicyOptions>

/** Longest message or stack logged: enough to find the bug, never a whole payload a message quoted. */
const MAX_LOGGED_CHARS = 2000

/**
 * Installs the policy in this process: on the first error nothing caught, log it (its name, code,
 * message and stack, cut short; never the error object itself, whose other properties may hold a
 * request, its headers or a body), close, exit with {@link FATAL_EXIT_CODE}. Errors while closing
 * are logged and change nothing.
 *
 * @example
 * exitOnUncaughtError({ logger: hookline.logger, close: () => hookline.close() })
 */
export function exitOnUncaughtError(options: FailurePolicyOptions): void {
  const { logger, close, closeTimeoutMs } = { ...DEFAULT_FAILURE_POLICY, ...options }
  let failed = false
  const onFatal = (kind: 'uncaught exception' | 'unhandled rejection') => (error: unknown) => {
    logger.fatal({ error: describe(error), closeTimeoutMs, exitCode: FATAL_EXIT_CODE }, failed ? `${kind} while closing` : `${kind}: closing, then exiting for a restart`)
    if (failed) return
    failed = true
    const exit = () => process.exit(FATAL_EXIT_CODE)
    setTimeout(exit, closeTimeoutMs)
    void Promise.resolve()
      .then(close)
      .catch((err: unknown) => logger.fatal({ error: describe(err) }, 'closing after an uncaught error failed'))
      .finally(exit)
  }
  process.on('uncaughtException', onFatal('uncaught exception'))
  process.on('unhandledRejection', onFatal('unhandled rejection'))
}

function describe(error: unknown): { type: string; code?: unknown; message: string; stack?: string } {
  if (!(error instanceof Error)) return { type: typeof error, message: cut(String(error)) }
  const code = (error as { code?: unknown }).code
  return {
    type: error.name,
    ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
    message: cut(error.message),
    ...(error.stack ? { stack: cut(error.stack) } : {}),
  }
}

function cut(text: string): string {
  return text.length > MAX_LOGGED_CHARS ? `${text.slice(0, MAX_LOGGED_CHARS)}…` : text
}

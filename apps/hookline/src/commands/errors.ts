/**
 * @module The support commands' errors and exit codes: each failure maps to one documented exit
 * code, so that scripts can tell "nothing matched" from "wrong token" from "service down".
 */

/** Exit codes of the support commands (`events`, `replay`, `dlq`). */
export const EXIT = {
  /** Done (a replay that was skipped, e.g. an already processed event, is still a success). */
  ok: 0,
  /** The service refused the action (409) or failed, or could not be reached. */
  failed: 1,
  /** Bad arguments or filters (the API's 400 too). */
  usage: 2,
  /** No event with that id. */
  notFound: 3,
  /** `HOOKLINE_ADMIN_TOKEN` missing, or refused by the service. */
  unauthorized: 4,
  /** The confirmation of a bulk replay was declined (or could not be read). */
  aborted: 5,
} as const

/** A support command failure, carrying its exit code. */
export class CliError extends Error {
  /** Namespaced identifier, e.g. `hookline.cli.unauthorized`. */
  readonly code: string
  /** The process exit code (see {@link EXIT}). */
  readonly exitCode: number

  constructor(code: string, exitCode: number, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'CliError'
    this.code = code
    this.exitCode = exitCode
  }
}

/** The admin API answered with an error (`{ error: { code, message } }`). */
export class AdminApiError extends CliError {
  /** HTTP status of the answer. */
  readonly status: number

  constructor(status: number, code: string, message: string) {
    super(code, exitCodeForStatus(status), message)
    this.name = 'AdminApiError'
    this.status = status
  }
}

function exitCodeForStatus(status: number): number {
  if (status === 400) return EXIT.usage
  if (status === 401) return EXIT.unauthorized
  if (status === 404) return EXIT.notFound
  return EXIT.failed
}

/** The exit code for anything a command threw (1 when it is not a {@link CliError}). */
export function exitCodeOf(err: unknown): number {
  return err instanceof CliError ? err.exitCode : EXIT.failed
}

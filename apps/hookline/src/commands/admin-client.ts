/**
 * @module The support commands' client of the running service's admin API (`HOOKLINE_URL` +
 * `HOOKLINE_ADMIN_TOKEN`): the CLI replays through the same code path as the console, and needs
 * no database or Redis credentials.
 */
import { userInfo } from 'node:os'
import type { Env } from '../env.ts'
import { AdminApiError, CliError, EXIT } from './errors.ts'

/** `T` as the admin API sends it over JSON: its dates become ISO strings. */
export type Wire<T> = T extends Date ? string : T extends readonly (infer U)[] ? Wire<U>[] : T extends object ? { [K in keyof T]: Wire<T[K]> } : T

/** Query values: arrays are sent comma-separated, undefined ones are left out. */
export type Query = Record<string, string | number | boolean | string[] | undefined>

/**
 * Calls `/admin/api` with the bearer token and the audit actor.
 *
 * @example
 * const client = adminClient(loadEnv())
 * const { events } = await client.get<{ events: unknown[] }>('/events', { tenant: 'acct_1' })
 */
export class AdminClient {
  constructor(
    /** The service's base URL, e.g. `http://127.0.0.1:3000`. */
    readonly baseUrl: string,
    private readonly token: string,
    /** Written to the audit log as who acted. */
    readonly actor: string,
  ) {}

  /** GET with a query string. */
  get<T>(path: string, query: Query = {}): Promise<T> {
    const params = new URLSearchParams()
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) params.set(key, Array.isArray(value) ? value.join(',') : String(value))
    }
    const search = params.size > 0 ? `?${params}` : ''
    return this.send<T>('GET', `${path}${search}`)
  }

  /** POST with a JSON body. */
  post<T>(path: string, body: unknown): Promise<T> {
    return this.send<T>('POST', path, body)
  }

  private async send<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = `${this.baseUrl.replace(/\/+$/, '')}/admin/api${path}`
    let res: Response
    try {
      res = await fetch(url, {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          'x-hookline-actor': this.actor,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? null : JSON.stringify(body),
      })
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause
      const reason = cause?.code ?? cause?.message ?? (err as Error).message
      throw new CliError('hookline.cli.unreachable', EXIT.failed, `cannot reach the admin API at ${this.baseUrl} (${reason}): is the service running, and is HOOKLINE_URL right?`, { cause: err })
    }
    const text = await res.text()
    const parsed = parseJson(text)
    if (res.ok) return parsed as T
    const error = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error
    if (res.status === 404 && error === undefined) {
      // Not an admin API answer: the service has no admin token configured (the API does not exist).
      throw new CliError('hookline.cli.admin_disabled', EXIT.failed, `${this.baseUrl} has no admin API: start the service with HOOKLINE_ADMIN_TOKEN set`)
    }
    throw new AdminApiError(res.status, error?.code ?? 'hookline.cli.http_error', error?.message ?? `HTTP ${res.status}`)
  }
}

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined
  } catch {
    return undefined
  }
}

/**
 * The client for this configuration: `HOOKLINE_URL` (default `http://127.0.0.1:$PORT`) and
 * `HOOKLINE_ADMIN_TOKEN` (required). The audit actor is `cli:<login name>`.
 *
 * @example
 * const client = adminClient(loadEnv())
 */
export function adminClient(env: Env): AdminClient {
  if (!env.HOOKLINE_ADMIN_TOKEN) {
    throw new CliError('hookline.cli.no_token', EXIT.unauthorized, 'set HOOKLINE_ADMIN_TOKEN to the service\'s admin token (and HOOKLINE_URL to its address)')
  }
  return new AdminClient(env.HOOKLINE_URL ?? `http://127.0.0.1:${env.PORT}`, env.HOOKLINE_ADMIN_TOKEN, `cli:${loginName()}`)
}

function loginName(): string {
  try {
    return userInfo().username
  } catch {
    return 'unknown'
  }
}

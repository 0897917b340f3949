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
    return this.send<T>('GET', `${path}${searchOf(query)}`)
  }

  /**
   * Opens a server-sent events stream (`GET` with `Accept: text/event-stream`) and resolves to the
   * answer once it is 200, for its body to be read; an error answer throws as {@link get} does.
   */
  async stream(path: string, query: Query, signal: AbortSignal): Promise<Response> {
    const res = await this.request('GET', `${path}${searchOf(query)}`, undefined, { accept: 'text/event-stream' }, signal)
    if (res.ok) return res
    throw await this.failure(res)
  }

  /** POST with a JSON body. */
  post<T>(path: string, body: unknown): Promise<T> {
    return this.send<T>('POST', path, body)
  }

  private async send<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.request(method, path, body)
    if (!res.ok) throw await this.failure(res)
    return parseJson(await res.text()) as T
  }

  private async request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
    const url = `${this.baseUrl.replace(/\/+$/, '')}/admin/api${path}`
    try {
      return await fetch(url, {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          'x-hookline-actor': this.actor,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        body: body === undefined ? null : JSON.stringify(body),
        ...(signal ? { signal } : {}),
      })
    } catch (err) {
      if (signal?.aborted) throw err
      const cause = (err as { cause?: { code?: string; message?: string } }).cause
      const reason = cause?.code ?? cause?.message ?? (err as Error).message
      throw new CliError('hookline.cli.unreachable', EXIT.failed, `cannot reach the admin API at ${this.baseUrl} (${reason}): is the service running, and is HOOKLINE_URL right?`, { cause: err })
    }
  }

  /** The error an answer that is not 2xx stands for. */
  private async failure(res: Response): Promise<CliError> {
    const parsed = parseJson(await res.text())
    const error = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error
    if (res.status === 404 && error === undefined) {
      // Not an admin API answer: the service has no admin token configured (the API does not exist).
      return new CliError('hookline.cli.admin_disabled', EXIT.failed, `${this.baseUrl} has no admin API: start the service with HOOKLINE_ADMIN_TOKEN set`)
    }
    return new AdminApiError(res.status, error?.code ?? 'hookline.cli.http_error', error?.message ?? `HTTP ${res.status}`)
  }
}

/** `?…` of `query` (arrays comma-separated, undefined values left out), or nothing. */
function searchOf(query: Query): string {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined) params.set(key, Array.isArray(value) ? value.join(',') : String(value))
  }
  return params.size > 0 ? `?${params}` : ''
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

/**
 * @module A local stand-in for the two Slack Web API methods Hookline's Slack reconciliation calls
 * — `auth.test` and `conversations.history` — for the official `WebClient` pointed at it. Calls
 * arrive as form POSTs to `/api/<method>` and are answered like Slack's: HTTP 200 with `ok`, the
 * messages of a channel newest first, cursor paging; 429s, 5xx, `ok: false` errors and hanging
 * pages can be injected.
 */
import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { listenFake, NextRequests, PageGate } from './fake-server.ts'
import { SLACK_TEST_TEAM_ID } from './slack-fixtures.ts'

/** A running fake. */
export interface FakeSlackApi {
  /** Base URL to give the client (`slackApiUrl` / SLACK_API_URL), ending in `/api/`. */
  url: string
  /** Messages by channel id, in any order (they are served newest first); change them freely. */
  channels: Map<string, Record<string, unknown>[]>
  /** Every call received: the method, its form parameters and the bearer token. */
  requests: { method: string; params: Record<string, string>; token: string | null }[]
  /**
   * The next `count` calls (of `method` only, when given: Slack limits each method on its own)
   * answer HTTP 429 with `Retry-After: seconds`.
   */
  rateLimitNext(count: number, retryAfterSeconds: number, method?: string): void
  /**
   * The next `count` calls (Infinity: all; of `method` only, when given) fail: with HTTP 500, or,
   * given `error`, with Slack's HTTP 200 `{ ok: false, error }`.
   */
  failNext(count: number, options?: { error?: string; method?: string }): void
  /**
   * How calls for any page but a channel's first (those with a `cursor`) are answered: `serve`
   * (normal), `hold` (never: a stuck connection, until {@link FakeSlackApi.dropHeld}) or `fail`
   * (HTTP 500).
   */
  followingPages(mode: 'serve' | 'hold' | 'fail'): void
  /** Cuts the connections of held calls. */
  dropHeld(): void
  close(): Promise<void>
}

/** Options of {@link startFakeSlackApi}. */
export interface FakeSlackApiOptions {
  /** The only token accepted (others get `invalid_auth`); any token when absent. */
  token?: string
  /** The workspace `auth.test` reports. @defaultValue {@link SLACK_TEST_TEAM_ID} */
  teamId?: string
}

/**
 * Starts the fake on a free port.
 *
 * @example
 * const api = await startFakeSlackApi({ token: 'xoxb-test' })
 * api.channels.set('C0123456789', [slackHistoryMessage({ ts: '1700000000.000100' })])
 * slackAdapter({ secrets, api: { token: 'xoxb-test', apiUrl: api.url, channels: ['C0123456789'], retries: 0 } })
 */
export async function startFakeSlackApi(options: FakeSlackApiOptions = {}): Promise<FakeSlackApi> {
  const rateLimits = new NextRequests<{ method: string | undefined; retryAfter: number }>()
  const failures = new NextRequests<{ method: string | undefined; error: string | undefined }>()
  const gate = new PageGate()
  const teamId = options.teamId ?? SLACK_TEST_TEAM_ID

  const api: Omit<FakeSlackApi, 'url' | 'close'> = {
    channels: new Map(),
    requests: [],
    rateLimitNext(count, seconds, method) {
      rateLimits.arm(count, { method, retryAfter: seconds })
    },
    failNext(count, options = {}) {
      failures.arm(count, { method: options.method, error: options.error })
    },
    followingPages(mode) {
      gate.mode = mode
    },
    dropHeld() {
      gate.dropHeld()
    },
  }

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'x-slack-req-id': randomUUID(), ...headers })
    res.end(JSON.stringify(body))
  }

  const history = (params: Record<string, string>) => {
    const messages = params.channel === undefined ? undefined : api.channels.get(params.channel)
    if (!messages) return { ok: false, error: 'channel_not_found' }
    const inclusive = params.inclusive === 'true' || params.inclusive === '1'
    const oldest = tsOrder(params.oldest ?? '0')
    const latest = params.latest === undefined ? Number.POSITIVE_INFINITY : tsOrder(params.latest)
    const limit = Math.min(Math.max(Number(params.limit ?? 100) || 100, 1), 999)
    const matching = messages
      .filter((m) => {
        const at = tsOrder(m.ts as string)
        return inclusive ? at >= oldest && at <= latest : at > oldest && at < latest
      })
      .sort((a, b) => tsOrder(b.ts as string) - tsOrder(a.ts as string))
    // Slack's cursors are base64 of `next_ts:<ts>`: the newest message of the next page.
    let start = 0
    if (params.cursor) {
      const next = /^next_ts:(\d+\.\d+)$/.exec(Buffer.from(params.cursor, 'base64').toString('utf8'))
      if (!next) return { ok: false, error: 'invalid_cursor' }
      const from = tsOrder(next[1]!)
      start = matching.findIndex((m) => tsOrder(m.ts as string) <= from)
      if (start < 0) start = matching.length
    }
    const page = matching.slice(start, start + limit)
    const nextNewest = matching[start + limit]
    return {
      ok: true,
      messages: page,
      has_more: nextNewest !== undefined,
      pin_count: 0,
      channel_actions_ts: null,
      channel_actions_count: 0,
      response_metadata: { next_cursor: nextNewest ? Buffer.from(`next_ts:${nextNewest.ts as string}`).toString('base64') : '' },
    }
  }

  const answer = (res: ServerResponse, method: string, params: Record<string, string>, token: string | null) => {
    api.requests.push({ method, params, token })
    // A fault armed for one method leaves the others alone.
    const forThisMethod = (fault: { method: string | undefined }) => (fault.method ?? method) === method
    const limit = rateLimits.take(forThisMethod)
    if (limit) return send(res, 429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(limit.retryAfter) })
    const failure = failures.take(forThisMethod)
    if (failure) return failure.error === undefined ? send(res, 500, { ok: false, error: 'internal_error' }) : send(res, 200, { ok: false, error: failure.error })
    if (options.token !== undefined && token !== options.token) return send(res, 200, { ok: false, error: 'invalid_auth' })
    switch (method) {
      case 'auth.test':
        return send(res, 200, {
          ok: true,
          url: 'https://hookline-test.slack.com/',
          team: 'Hookline Test',
          user: 'hookline',
          team_id: teamId,
          user_id: 'U0HKLNBOT1',
          bot_id: 'B0HKLNBOT1',
          is_enterprise_install: false,
        })
      case 'conversations.history':
        if (params.cursor && gate.hold(res)) return
        if (params.cursor && gate.mode === 'fail') return send(res, 500, { ok: false, error: 'internal_error' })
        return send(res, 200, history(params))
      default:
        return send(res, 200, { ok: false, error: 'unknown_method' })
    }
  }

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://localhost')
      const method = url.pathname.startsWith('/api/') ? url.pathname.slice('/api/'.length) : ''
      const params = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')))
      const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')
      if (req.method !== 'POST' || !method) return send(res, 404, { ok: false, error: 'unknown_method' })
      answer(res, method, params, bearer?.[1] ?? params.token ?? null)
    })
  }

  const server = await listenFake(handle)
  return { ...api, url: `http://127.0.0.1:${server.port}/api/`, close: server.close }
}

/**
 * A user's message as `conversations.history` lists it (no `channel` or `event_ts`: those are
 * added by the Events API envelope).
 *
 * @example
 * api.channels.set('C1', [slackHistoryMessage({ ts: '1700000000.000100', text: 'deployed' })])
 */
export function slackHistoryMessage(options: { ts: string; text?: string; user?: string; teamId?: string }): Record<string, unknown> {
  const text = options.text ?? `message ${options.ts}`
  return {
    type: 'message',
    user: options.user ?? 'U0HKLNUSR1',
    text,
    ts: options.ts,
    client_msg_id: randomUUID(),
    team: options.teamId ?? SLACK_TEST_TEAM_ID,
    blocks: [{ type: 'rich_text', block_id: options.ts.replace('.', ''), elements: [{ type: 'rich_text_section', elements: [{ type: 'text', text }] }] }],
  }
}

/** A Slack timestamp (`seconds.micros`) as a number that orders like it (microsecond precision). */
function tsOrder(ts: string): number {
  const [seconds = '0', micros = ''] = ts.split('.')
  return Number(seconds) * 1e6 + Number(micros.padEnd(6, '0').slice(0, 6))
}

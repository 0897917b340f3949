/**
 * @module `hookline listen --forward-to <url>`: follows the running service's event stream
 * (`GET /admin/api/events/stream`) and posts each stored event's body to a local endpoint,
 * re-signed in its provider's scheme with the listen secret, as `stripe listen` does. The position
 * is kept after every forwarded event, so a restart goes on where the last run stopped.
 */
import { isUtf8 } from 'node:buffer'
import { setTimeout as sleep } from 'node:timers/promises'
import { type Command, InvalidArgumentError } from 'commander'
import { type Env, loadEnv } from '../env.ts'
import { type AdminClient, adminClient } from './admin-client.ts'
import { AdminApiError, CliError, EXIT } from './errors.ts'
import { signedHeaders, schemeOf, type StreamedEvent } from './listen-signing.ts'
import { defaultStateFile, type ListenState, loadState, saveState, SCHEMES, type Scheme } from './listen-state.ts'
import { sseMessages } from './sse-reader.ts'

/** Options of `listen`. */
interface ListenOptions {
  forwardTo?: string
  provider?: string
  type?: string
  since?: string
  printSecret?: boolean
  cursorFile?: string
}

/** An event as the stream sends it (the fields `listen` uses). */
interface WireEvent extends StreamedEvent {
  body: string | null
  payloadPruned: boolean
}

/** Timing of `listen`'s retries and its watch on the stream. */
interface ListenTimings {
  /**
   * First wait before reconnecting to the stream or retrying a local endpoint that cannot be
   * reached; it doubles up to `maxBackoffMs`.
   * @defaultValue 500
   */
  backoffMs: number
  /** @defaultValue 30000 */
  maxBackoffMs: number
  /**
   * A stream silent this long is taken for dead and reopened (the service sends a heartbeat every 15 s).
   * @defaultValue 45000
   */
  silentMs: number
  /**
   * Longest wait for the local endpoint's answer before the event is sent again.
   * @defaultValue 30000
   */
  forwardTimeoutMs: number
}

/** Defaults of {@link ListenTimings}. */
const DEFAULT_LISTEN_TIMINGS = { backoffMs: 500, maxBackoffMs: 30_000, silentMs: 45_000, forwardTimeoutMs: 30_000 } as const satisfies ListenTimings

function httpUrl(value: string): string {
  if (!URL.canParse(value) || !/^https?:$/.test(new URL(value).protocol)) throw new InvalidArgumentError('an http:// or https:// URL')
  return value
}

/**
 * Adds `listen` to `program`.
 *
 * @example
 * registerListenCommand(program) // hookline listen --forward-to http://localhost:4000/webhooks
 */
export function registerListenCommand(program: Command): void {
  program
    .command('listen')
    .description('forward the events the service stores to a local endpoint, re-signed with the listen secret, as they arrive')
    .option('--forward-to <url>', 'where to post each event (required unless --print-secret)', httpUrl)
    .option('--provider <name>', 'only this provider\'s events')
    .option('--type <type>', 'only this event type, or a prefix ending in * (invoice.*)')
    .option('--since <time>', 'also forward the events stored since then (a duration such as 30m, or an ISO date), on a first run')
    .option('--print-secret', 'print the signing secret(s) and exit (with --provider, only its secret)')
    .option('--cursor-file <path>', 'where the position and the generated secrets are kept (default: ~/.hookline/listen-<host:port>.json)')
    .addHelpText('after', [
      '\nEach event is posted with its original body (byte for byte) and its provider\'s event headers, signed afresh in',
      'its provider\'s scheme (Stripe, GitHub, Slack; Standard Webhooks for any other) with HOOKLINE_LISTEN_SECRET, or',
      'without it a secret generated per scheme and kept in the cursor file: configure your local endpoint with it.',
      'Prints one line per event: <time> <provider> <type> <key> -> <status> (<ms> ms).',
      'The position is saved after each event: a restart forwards what arrived meanwhile, once. An endpoint that cannot be',
      'reached is retried (the position waits); any answer, an error status too, moves on. Stop with Ctrl-C (exit 0).',
      '\nExamples:\n  pnpm hookline listen --forward-to http://localhost:4000/webhooks/stripe --provider stripe\n  pnpm hookline listen --forward-to http://localhost:4000/hooks --since 30m\n  pnpm hookline listen --print-secret --provider stripe',
    ].join('\n'))
    .action(async (options: ListenOptions) => {
      const env = loadEnv()
      const client = adminClient(env)
      const file = options.cursorFile ?? defaultStateFile(client.baseUrl)
      const state = await loadState(file)
      const secrets = secretsOf(env, state)
      if (options.printSecret) {
        if (options.provider !== undefined) console.log(secrets[schemeOf(options.provider)])
        else if (env.HOOKLINE_LISTEN_SECRET) console.log(env.HOOKLINE_LISTEN_SECRET)
        else for (const scheme of SCHEMES) console.log(`${scheme} ${secrets[scheme]}`)
        return
      }
      if (options.forwardTo === undefined) throw new CliError('hookline.cli.no_forward_to', EXIT.usage, 'listen needs --forward-to <url> (or --print-secret)')
      const stop = new AbortController()
      const onSignal = () => stop.abort()
      process.once('SIGINT', onSignal)
      process.once('SIGTERM', onSignal)
      console.error(`Ready: forwarding the events of ${client.baseUrl} to ${options.forwardTo} (Ctrl-C to stop)`)
      if (env.HOOKLINE_LISTEN_SECRET) console.error('Signing secret: HOOKLINE_LISTEN_SECRET')
      else console.error(`Signing secrets (kept in ${file}):\n${SCHEMES.map((scheme) => `  ${scheme} ${secrets[scheme]}`).join('\n')}`)
      await new Listener({ ...options, forwardTo: options.forwardTo }, client, file, state, secrets, stop.signal).run()
    })
}

/** The secret of each scheme: `HOOKLINE_LISTEN_SECRET` for all of them, else the generated ones. */
function secretsOf(env: Env, state: ListenState): Record<Scheme, string> {
  const shared = env.HOOKLINE_LISTEN_SECRET
  return shared ? Object.fromEntries(SCHEMES.map((scheme) => [scheme, shared])) as Record<Scheme, string> : state.secrets
}

/** Why a stream or a forward ended early: the reason is printed before the retry. */
class Interrupted extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'Interrupted'
  }
}

/** One run of `listen`: the stream, reopened whenever it drops, and each event forwarded in order. */
class Listener {
  private readonly timings: ListenTimings = DEFAULT_LISTEN_TIMINGS
  /** The wait before the next reconnection: back to the first once a connection is open. */
  private backoff = this.timings.backoffMs

  constructor(
    private readonly options: ListenOptions & { forwardTo: string },
    private readonly client: AdminClient,
    private readonly file: string,
    private readonly state: ListenState,
    private readonly secrets: Record<Scheme, string>,
    private readonly stopped: AbortSignal,
  ) {}

  /** Follows the stream until stopped; throws only what a retry cannot mend (a refused token, a bad filter). */
  async run(): Promise<void> {
    while (!this.stopped.aborted) {
      try {
        await this.follow()
      } catch (err) {
        if (this.stopped.aborted) return
        // 401, 403, 400: the token or the filter is wrong, and stays so; as does a secret that cannot sign.
        if (err instanceof AdminApiError && err.status >= 400 && err.status < 500) throw err
        if (err instanceof CliError && err.code === 'hookline.cli.listen_secret_unusable') throw err
        console.error(`stream interrupted (${(err as Error).message}): reconnecting in ${this.backoff} ms`)
      }
      await this.pause(this.backoff)
      this.backoff = Math.min(this.backoff * 2, this.timings.maxBackoffMs)
    }
  }

  /** Reads one connection of the stream until it drops (it throws why) or `listen` is stopped. */
  private async follow(): Promise<void> {
    const connection = new AbortController()
    const signal = AbortSignal.any([this.stopped, connection.signal])
    let silence: NodeJS.Timeout | undefined
    const heard = () => {
      clearTimeout(silence)
      silence = setTimeout(() => connection.abort(new Interrupted(`nothing from the stream for ${this.timings.silentMs} ms`)), this.timings.silentMs)
    }
    try {
      heard()
      const res = await this.client.stream('/events/stream', { after: this.state.cursor, provider: this.options.provider, type: this.options.type, since: this.options.since }, signal)
      for await (const message of sseMessages(res.body!, heard)) {
        if (message.event === 'ready') this.backoff = this.timings.backoffMs
        else if (message.event === 'message') await this.forward(JSON.parse(message.data) as WireEvent)
        else continue
        // The position moves on only once the event was answered (or is one that cannot be sent).
        if (message.id) {
          this.state.cursor = message.id
          await saveState(this.file, this.state)
        }
      }
      if (!this.stopped.aborted) throw new Interrupted('the service closed the stream')
    } catch (err) {
      if (connection.signal.aborted && !this.stopped.aborted) throw connection.signal.reason
      throw err
    } finally {
      clearTimeout(silence)
      connection.abort()
    }
  }

  /** Posts one event to the local endpoint until it answers (any status), and prints the line. */
  private async forward(event: WireEvent): Promise<void> {
    const label = `${event.provider} ${event.type} ${event.eventKey}`
    const bytes = event.body === null ? null : Buffer.from(event.body, 'base64')
    if (bytes === null) return this.print(`${label} -> skipped (${event.payloadPruned ? 'payload pruned by retention' : 'no body'})`)
    // The signers sign text; a body that is not UTF-8 would not be signed as sent.
    if (!isUtf8(bytes)) return this.print(`${label} -> skipped (the body is not UTF-8 text)`)
    const body = bytes.toString('utf8')
    const scheme = schemeOf(event.provider)
    let backoff = this.timings.backoffMs
    for (;;) {
      if (this.stopped.aborted) throw new Interrupted('stopped')
      // Signed for each try: the signatures' timestamps must be fresh.
      const headers = await signedHeaders(event, body, this.secrets[scheme]).catch((err: unknown) => {
        throw new CliError('hookline.cli.listen_secret_unusable', EXIT.usage, `cannot sign ${label} in the ${scheme} scheme (${(err as Error).message}): Standard Webhooks needs a whsec_<base64> secret`, { cause: err })
      })
      const started = performance.now()
      try {
        const res = await fetch(this.options.forwardTo, { method: 'POST', body: bytes, headers, signal: AbortSignal.any([this.stopped, AbortSignal.timeout(this.timings.forwardTimeoutMs)]) })
        await res.arrayBuffer()
        return this.print(`${label} -> ${res.status} (${Math.round(performance.now() - started)} ms)`)
      } catch (err) {
        if (this.stopped.aborted) throw new Interrupted('stopped')
        const cause = (err as { cause?: { code?: string; message?: string } }).cause
        const reason = (err as Error).name === 'TimeoutError' ? `no answer in ${this.timings.forwardTimeoutMs} ms` : (cause?.code ?? cause?.message ?? (err as Error).message)
        console.error(`${label} -> cannot reach ${this.options.forwardTo} (${reason}): retrying in ${backoff} ms`)
      }
      await this.pause(backoff)
      backoff = Math.min(backoff * 2, this.timings.maxBackoffMs)
    }
  }

  private print(line: string): void {
    console.log(`${new Date().toISOString()} ${line}`)
  }

  /** Waits `ms`, or less when stopped. */
  private pause(ms: number): Promise<void> {
    return sleep(ms, undefined, { signal: this.stopped }).catch(() => undefined)
  }
}

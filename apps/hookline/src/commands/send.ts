/**
 * @module `hookline send <provider> [type]`: posts a signed sample event (or your own payload) to
 * the service, as the provider would, and prints what the service answered.
 */
import { readFile } from 'node:fs/promises'
import { type Command, InvalidArgumentError } from 'commander'
import { type Env, loadEnv } from '../env.ts'
import { CliError, EXIT } from './errors.ts'
import { isSampleProvider, type SampleProvider, sampleBody, sampleTypes, signSample } from './send-samples.ts'

/** Options of `send`. */
interface SendOptions {
  payload?: string
  count: number
  duplicate?: boolean
  to?: string
}

/** The configured secret (the first, the one a rotation signs with) of `provider`, and its path. */
function providerConfig(provider: SampleProvider, env: Env): { secret: string | undefined; variable: string; path: string } {
  switch (provider) {
    case 'stripe':
      return { secret: env.STRIPE_WEBHOOK_SECRET[0], variable: 'STRIPE_WEBHOOK_SECRET', path: 'stripe' }
    case 'github':
      return { secret: env.GITHUB_WEBHOOK_SECRET[0], variable: 'GITHUB_WEBHOOK_SECRET', path: 'github' }
    case 'slack':
      return { secret: env.SLACK_SIGNING_SECRET[0], variable: 'SLACK_SIGNING_SECRET', path: 'slack' }
    case 'standard-webhooks':
      return { secret: env.STANDARD_WEBHOOKS_SECRET[0], variable: 'STANDARD_WEBHOOKS_SECRET', path: env.STANDARD_WEBHOOKS_NAME }
  }
}

function positiveInt(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new InvalidArgumentError('a whole number from 1 to 10000')
  return n
}

/** One request's outcome, as printed. */
interface Sent {
  status: number | 'unreachable'
  line: string
}

async function post(url: string, body: string, headers: Record<string, string>): Promise<Sent> {
  let res: Response
  try {
    res = await fetch(url, { method: 'POST', body, headers })
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause
    return { status: 'unreachable', line: `cannot reach ${url} (${cause?.code ?? cause?.message ?? (err as Error).message}): is the service running, or is --to right?` }
  }
  const text = await res.text()
  let answer: { id?: string; duplicate?: boolean; error?: { code?: string; message?: string } } | undefined
  try {
    answer = JSON.parse(text)
  } catch {
    answer = undefined
  }
  if (res.ok && answer?.id) return { status: res.status, line: `${res.status} ${answer.id}${answer.duplicate ? ' duplicate' : ''}` }
  // Slack's slash commands and interactivity get the provider's own (empty) answer, without the id.
  if (res.ok) return { status: res.status, line: `${res.status} stored (the answer to ${new URL(url).pathname} carries no event id)` }
  const reason = answer?.error ? `${answer.error.code}: ${answer.error.message}` : text.slice(0, 200)
  return { status: res.status, line: `${res.status} ${reason}` }
}

/**
 * Adds `send` to `program`.
 *
 * @example
 * registerSendCommand(program) // hookline send stripe invoice.paid --count 3
 */
export function registerSendCommand(program: Command): void {
  program
    .command('send')
    .description('sign a sample event (or --payload) with the configured secret and post it to the service, as the provider would')
    .argument('<provider>', 'stripe, github, slack or standard-webhooks')
    .argument('[type]', 'the sample type (default: the provider\'s first; GitHub: the X-GitHub-Event)')
    .option('--payload <file>', 'send this JSON file\'s exact bytes instead of a sample')
    .option('--count <n>', 'send this many events (fresh ids for samples)', positiveInt, 1)
    .option('--duplicate', 'send each request twice, byte for byte (the second is a duplicate)')
    .option('--to <url>', 'where to post (default: the service\'s /webhooks/<provider>, HOOKLINE_URL or 127.0.0.1:PORT)')
    .addHelpText('after', [
      '\nSample types:',
      ...(['stripe', 'github', 'slack', 'standard-webhooks'] as const).map((p) => `  ${p}: ${sampleTypes(p).join(', ')}`),
      '\nPrints one line per request: the HTTP status and the stored event\'s id (or the refusal).',
      'Exit code 1 when any request was refused.',
      '\nExamples:\n  pnpm hookline send stripe invoice.payment_failed\n  pnpm hookline send github push --count 5 --duplicate\n  pnpm hookline send stripe --payload ./event.json',
    ].join('\n'))
    .action(async (provider: string, type: string | undefined, options: SendOptions) => {
      const env = loadEnv()
      if (!isSampleProvider(provider)) throw new CliError('hookline.cli.unknown_provider', EXIT.usage, `unknown provider "${provider}": stripe, github, slack or standard-webhooks`)
      const { secret, variable, path } = providerConfig(provider, env)
      if (!secret) throw new CliError('hookline.cli.no_secret', EXIT.usage, `set ${variable} (the secret the service verifies ${provider} with) to sign for it`)
      const sampleType = type ?? sampleTypes(provider)[0]!
      const payload = options.payload === undefined ? undefined : await readPayload(options.payload)
      if (payload === undefined && sampleBody(provider, sampleType) === undefined) {
        throw new CliError('hookline.cli.unknown_sample', EXIT.usage, `no ${provider} sample "${sampleType}": ${sampleTypes(provider).join(', ')} (or --payload)`)
      }
      const url = options.to ?? `${(env.HOOKLINE_URL ?? `http://127.0.0.1:${env.PORT}`).replace(/\/+$/, '')}/webhooks/${encodeURIComponent(path)}`
      let refused = 0
      for (let i = 0; i < options.count; i++) {
        const { body, headers } = await signSample(provider, payload ?? sampleBody(provider, sampleType)!, secret, sampleType)
        for (let copy = 0; copy < (options.duplicate ? 2 : 1); copy++) {
          const sent = await post(url, body, headers)
          if (sent.status === 'unreachable') throw new CliError('hookline.cli.unreachable', EXIT.failed, sent.line)
          if (sent.status < 200 || sent.status > 299) refused++
          console.log(sent.line)
        }
      }
      if (refused > 0) throw new CliError('hookline.cli.refused', EXIT.failed, `${refused} request(s) refused`)
    })
}

async function readPayload(file: string): Promise<string> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    throw new CliError('hookline.cli.payload_unreadable', EXIT.usage, `cannot read ${file}: ${(err as Error).message}`, { cause: err })
  }
  try {
    JSON.parse(text)
  } catch {
    throw new CliError('hookline.cli.payload_not_json', EXIT.usage, `${file} is not JSON`)
  }
  return text
}

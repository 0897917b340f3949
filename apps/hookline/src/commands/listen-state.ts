/**
 * @module What `hookline listen` keeps between runs, in one file per service
 * (`~/.hookline/listen-<host:port>.json`): the stream position of the last event it forwarded, and
 * the signing secrets it generated, so that a restart forwards what arrived meanwhile and the
 * local endpoint's secrets stay the same.
 */
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { CliError, EXIT } from './errors.ts'

/** The signature schemes `listen` signs with. */
export const SCHEMES = ['stripe', 'github', 'slack', 'standard-webhooks'] as const

/** A provider's signature scheme. */
export type Scheme = (typeof SCHEMES)[number]

/** The file's content. */
export interface ListenState {
  /** The stream cursor of the last event forwarded (or of the stream's start); none before the first run. */
  cursor?: string | undefined
  /** A generated secret per scheme (unused while `HOOKLINE_LISTEN_SECRET` is set). */
  secrets: Record<Scheme, string>
}

/**
 * The default state file for the service at `baseUrl`: `listen-<host>:<port>.json` in
 * `~/.hookline` (`HOME` honoured).
 *
 * @example
 * defaultStateFile('http://127.0.0.1:3000') // '/home/ada/.hookline/listen-127.0.0.1:3000.json'
 */
export function defaultStateFile(baseUrl: string): string {
  const url = new URL(baseUrl)
  const port = url.port || (url.protocol === 'https:' ? '443' : '80')
  const host = `${url.hostname}:${port}`.replace(/[^\w.:-]/g, '_')
  return join(homedir(), '.hookline', `listen-${host}.json`)
}

/** A fresh secret in each scheme's own format: `whsec_…` for Stripe and Standard Webhooks, hex for GitHub and Slack. */
function generatedSecrets(): Record<Scheme, string> {
  return {
    stripe: `whsec_${randomBytes(32).toString('hex')}`,
    github: randomBytes(20).toString('hex'),
    slack: randomBytes(16).toString('hex'),
    'standard-webhooks': `whsec_${randomBytes(24).toString('base64')}`,
  }
}

/** The state in `file`; a new one (fresh secrets, no cursor), written at once, when there is none. */
export async function loadState(file: string): Promise<ListenState> {
  let text: string | undefined
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new CliError('hookline.cli.listen_state_unreadable', EXIT.failed, `cannot read ${file}: ${(err as Error).message}`, { cause: err })
  }
  if (text === undefined) {
    const state: ListenState = { secrets: generatedSecrets() }
    await saveState(file, state)
    return state
  }
  let parsed: Partial<ListenState>
  try {
    parsed = JSON.parse(text) as Partial<ListenState>
  } catch (err) {
    throw new CliError('hookline.cli.listen_state_unreadable', EXIT.failed, `${file} is not JSON: remove it to start afresh (new secrets, forwarding from now on)`, { cause: err })
  }
  // A secret missing from an edited file is generated again rather than refused.
  const state: ListenState = { cursor: typeof parsed.cursor === 'string' ? parsed.cursor : undefined, secrets: { ...generatedSecrets(), ...parsed.secrets } }
  if (SCHEMES.some((scheme) => parsed.secrets?.[scheme] === undefined)) await saveState(file, state)
  return state
}

/** Writes `state` to `file` (readable by its owner only), whole or not at all: a crash mid-write leaves the previous one. */
export async function saveState(file: string, state: ListenState): Promise<void> {
  try {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 })
    const partial = `${file}.${process.pid}.tmp`
    await writeFile(partial, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 })
    await rename(partial, file)
  } catch (err) {
    throw new CliError('hookline.cli.listen_state_unwritable', EXIT.failed, `cannot write ${file}: ${(err as Error).message}`, { cause: err })
  }
}

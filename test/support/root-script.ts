/**
 * @module The root package's scripts as commands a test can spawn directly (so that signals reach
 * the process itself, not pnpm).
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'

/** The repository's root directory: where the scripts run. */
export const ROOT_DIR = resolve(import.meta.dirname, '../..')

/**
 * The root `package.json` script `name` (e.g. `hookline`: `node apps/hookline/bundle/cli.mjs`) as an
 * executable and its arguments, `node` being this very Node.
 *
 * @example
 * const [command, args] = rootScript('start')
 * spawn(command, args, { cwd: ROOT_DIR })
 */
export function rootScript(name: string): [command: string, args: string[]] {
  const pkg = JSON.parse(readFileSync(resolve(ROOT_DIR, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
  const script = pkg.scripts[name]
  if (!script) throw new Error(`package.json has no script "${name}"`)
  const [command, ...args] = script.split(' ')
  return [command === 'node' ? process.execPath : command!, args]
}

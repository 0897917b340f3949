/**
 * @module The confirmation asked before a bulk replay: a yes/no question on stderr, answered on
 * stdin (a terminal, or a pipe in scripts and tests).
 */
import { createInterface } from 'node:readline/promises'

/**
 * Asks `question` and resolves true only for `y` or `yes`; end of input counts as no.
 *
 * @example
 * if (!(await confirm('Replay 12 events? [y/N] '))) process.exit(5)
 */
export async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: Boolean(process.stdin.isTTY) })
  const closed = new Promise<string>((resolve) => rl.once('close', () => resolve('')))
  try {
    const answer = await Promise.race([rl.question(question), closed])
    return /^(y|yes)$/i.test(answer.trim())
  } finally {
    rl.close()
  }
}

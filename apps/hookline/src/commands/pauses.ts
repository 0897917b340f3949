/**
 * @module `hookline pause|resume|pauses|breakers`: hold a provider's events while something is
 * fixed, let them run again, and see what is held (pauses, circuit breakers).
 */
import type { BreakerState, Pause } from '@hookline/core'
import type { Command } from 'commander'
import { loadEnv } from '../env.ts'
import { adminClient, type Wire } from './admin-client.ts'
import { json, table } from './output.ts'

interface ScopeOptions {
  type?: string
  note?: string
  json?: boolean
}

/**
 * Adds `pause`, `resume`, `pauses` and `breakers` to `program`.
 *
 * @example
 * registerPauseCommands(program) // hookline pause stripe --type "invoice.*" --note "billing migration"
 */
export function registerPauseCommands(program: Command): void {
  program
    .command('pause')
    .description("hold a provider's events (all, one type, or a prefix ending in *): still received and stored, none run, no attempt spent")
    .argument('<provider>', 'provider name, e.g. stripe')
    .option('--type <type>', 'only this event type, or a prefix ending in * (e.g. "invoice.*")')
    .option('--note <text>', 'why, for the audit log')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  pnpm hookline pause stripe --note "CRM migration"\n  pnpm hookline pause stripe --type "customer.*"')
    .action(async (provider: string, options: ScopeOptions) => {
      const { pause } = await adminClient(loadEnv()).post<{ pause: Wire<Pause> }>('/pause', scopeBody(provider, options))
      if (options.json) console.log(json(pause))
      else console.log(`paused ${scopeText(pause)} since ${pause.since}`)
    })

  program
    .command('resume')
    .description('lift a pause: its held events run, oldest first (per entity in order)')
    .argument('<provider>', 'provider name, e.g. stripe')
    .option('--type <type>', 'the type (or prefix) the pause was given')
    .option('--note <text>', 'why, for the audit log')
    .option('--json', 'print JSON')
    .action(async (provider: string, options: ScopeOptions) => {
      const result = await adminClient(loadEnv()).post<{ released: number }>('/resume', scopeBody(provider, options))
      if (options.json) console.log(json(result))
      else console.log(`resumed ${scopeText({ provider, type: options.type })}: ${result.released} held event(s) queued`)
    })

  program
    .command('pauses')
    .description('list the pauses in force')
    .option('--json', 'print JSON ({ pauses })')
    .action(async (options: { json?: boolean }) => {
      const answer = await adminClient(loadEnv()).get<{ pauses: Wire<Pause>[] }>('/pauses')
      if (options.json) return console.log(json(answer))
      console.log(
        answer.pauses.length === 0
          ? 'nothing is paused'
          : table(answer.pauses, [
              { title: 'PROVIDER', value: (p) => p.provider },
              { title: 'TYPE', value: (p) => p.type ?? '(all)' },
              { title: 'SINCE', value: (p) => p.since },
              { title: 'BY', value: (p) => p.actor },
              { title: 'NOTE', value: (p) => p.note, max: 60 },
            ]),
      )
    })

  program
    .command('breakers')
    .description('list the circuit breakers (per route or downstream) and their state')
    .option('--json', 'print JSON ({ breakers })')
    .action(async (options: { json?: boolean }) => {
      const answer = await adminClient(loadEnv()).get<{ breakers: Wire<BreakerState>[] }>('/breakers')
      if (options.json) return console.log(json(answer))
      console.log(
        answer.breakers.length === 0
          ? 'no breaker has counted a failure'
          : table(answer.breakers, [
              { title: 'ROUTE', value: (b) => b.route },
              { title: 'STATE', value: (b) => b.state },
              { title: 'FAILURES', value: (b) => b.failures },
              { title: 'OPEN UNTIL', value: (b) => b.openUntil },
            ]),
      )
    })
}

function scopeBody(provider: string, options: ScopeOptions): Record<string, string> {
  return { provider, ...(options.type ? { type: options.type } : {}), ...(options.note ? { note: options.note } : {}) }
}

function scopeText(scope: { provider: string; type?: string | undefined | null }): string {
  return scope.type ? `${scope.provider} ${scope.type}` : scope.provider
}

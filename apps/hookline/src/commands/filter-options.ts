/**
 * @module The event filter as command-line options (`--tenant`, `--since`…), shared by listing
 * and replay commands, and its translation into the admin API's filter fields. Values are passed
 * through as typed: the service validates them (and accepts `24h`/`7d` as well as ISO dates).
 */
import type { Command } from 'commander'

/** The filter options as commander parses them. */
export interface FilterOptions {
  provider?: string
  tenant?: string
  status?: string
  type?: string
  since?: string
  until?: string
  key?: string
}

/** The admin API's filter fields. */
export interface ApiFilter {
  provider?: string
  tenant?: string
  status?: string[]
  type?: string
  since?: string
  until?: string
  key?: string
}

/**
 * Adds the filter options to `command` (`--status` left out when the command fixes the status).
 *
 * @example
 * withFilterOptions(program.command('list'))
 */
export function withFilterOptions(command: Command, options: { status?: boolean } = {}): Command {
  command
    .option('--provider <name>', 'provider, e.g. stripe')
    .option('--tenant <id>', "the customer's account at the provider (Stripe Connect account…)")
  if (options.status !== false) {
    command.option('--status <list>', 'comma-separated: received, processing, processed, skipped_stale, failed, dead, ignored')
  }
  return command
    .option('--type <type>', 'event type, or a prefix ending in * (invoice.*)')
    .option('--since <time>', 'received at or after: ISO date/time, or a duration back from now (90m, 24h, 7d)')
    .option('--until <time>', 'received before: ISO date/time or a duration back from now')
    .option('--key <text>', "part of the provider's event key, or an inbox id")
}

/** The API filter of the parsed options (undefined fields left out). */
export function apiFilter(options: FilterOptions): ApiFilter {
  const filter: ApiFilter = {}
  if (options.provider !== undefined) filter.provider = options.provider
  if (options.tenant !== undefined) filter.tenant = options.tenant
  if (options.status !== undefined) filter.status = options.status.split(',').map((s) => s.trim()).filter(Boolean)
  if (options.type !== undefined) filter.type = options.type
  if (options.since !== undefined) filter.since = options.since
  if (options.until !== undefined) filter.until = options.until
  if (options.key !== undefined) filter.key = options.key
  return filter
}

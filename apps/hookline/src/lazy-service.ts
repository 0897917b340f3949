/**
 * @module On-demand loading of the service's heavy modules (Prisma, BullMQ, the provider SDKs),
 * so that the support commands, which only call the admin API, start three times faster.
 */
// Kept out of cli.ts on purpose: tsx's dynamic-import transform fails to parse a module that
// starts with a shebang line, so the CLI entry point must not load modules on demand itself.

/**
 * The service module (`buildHookline`, `createApp`).
 *
 * @example
 * const { buildHookline } = await loadService()
 */
export function loadService(): Promise<typeof import('./service.ts')> {
  return import('./service.ts')
}

/**
 * The database package (`ensureDatabase`, `migrate`).
 *
 * @example
 * const { migrate } = await loadDatabase()
 */
export function loadDatabase(): Promise<typeof import('@hookline/db')> {
  return import('@hookline/db')
}

/**
 * The logger module (`createLogger`), for the supervisor of `start`, which loads no service.
 *
 * @example
 * const { createLogger } = await loadLogger()
 */
export function loadLogger(): Promise<typeof import('./logger.ts')> {
  return import('./logger.ts')
}

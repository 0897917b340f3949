/**
 * @module The service's logger: pino, JSON lines on stdout, named `hookline`, at
 * `HOOKLINE_LOG_LEVEL`; the same in every process of the service.
 */
import { type Logger, pino } from 'pino'
import type { Env } from './env.ts'

/**
 * The logger of this process.
 *
 * @example
 * createLogger(loadEnv()).info('started')
 */
export function createLogger(env: Pick<Env, 'HOOKLINE_LOG_LEVEL'>): Logger {
  return pino({ name: 'hookline', level: env.HOOKLINE_LOG_LEVEL })
}

/**
 * @module A transaction on one connection of Hookline's `pg` pool, for the inbox's own statements
 * that must commit together (a reconciled page and its recorded progress) without the ORM's
 * per-query work: Prisma's interactive transaction was ~15 % of a reconciliation's CPU, measured.
 */
import type { Queryable } from './sql-runner.ts'

/** A connection checked out of the pool (`pg.PoolClient` is one). */
export interface PooledConnection extends Queryable {
  query(config: { name?: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>
  query(text: string): Promise<unknown>
  /** Returns the connection to the pool; with an error, the pool discards it instead. */
  release(err?: Error | boolean): void
  on(event: 'error', listener: (err: Error) => void): unknown
  off(event: 'error', listener: (err: Error) => void): unknown
}

/** A pool of connections (`pg.Pool` is one). */
export interface ConnectionPool extends Queryable {
  connect(): Promise<PooledConnection>
}

/** Keeps a connection's own `error` event (its socket closing while no query waits) from crashing the process. */
const ignoreConnectionError = (): void => undefined

/**
 * Runs `fn` inside `BEGIN … COMMIT` on one pooled connection; rolls back and rethrows if `fn`
 * throws. A connection whose rollback failed too (the server ended the session, say) is
 * discarded rather than reused: the caller sees the statement's own error.
 *
 * @example
 * const ids = await inPoolTransaction(pool, (tx) => new Inbox(tx).insertMany(deliveries, graceMs, 'skip'))
 */
export async function inPoolTransaction<R>(pool: ConnectionPool, fn: (tx: PooledConnection) => Promise<R>): Promise<R> {
  const connection = await pool.connect()
  // The pool listens for errors of idle connections only; this one is checked out.
  connection.on('error', ignoreConnectionError)
  let result: R
  try {
    await connection.query('BEGIN')
    result = await fn(connection)
    await connection.query('COMMIT')
  } catch (err) {
    const rolledBack = await connection.query('ROLLBACK').then(
      () => true,
      () => false,
    )
    connection.off('error', ignoreConnectionError)
    connection.release(rolledBack ? undefined : (err as Error))
    throw err
  }
  connection.off('error', ignoreConnectionError)
  connection.release()
  return result
}

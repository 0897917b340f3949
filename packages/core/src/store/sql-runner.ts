/**
 * @module The one way core runs SQL: a statement with positional parameters, on Hookline's `pg`
 * pool (prepared once per connection, no ORM work per query) or on a Prisma client or transaction
 * (a handler's transaction may be the application's own). Statements name Hookline's tables as
 * `hookline.<table>` (the default schema; the runner renames it for another), and alias their
 * columns in camelCase (`event_key AS "eventKey"`), so rows come back in the shape callers use.
 */
import { createHash } from 'node:crypto'
import { DEFAULT_SCHEMA } from '@hookline/db'
import type { TransactionClient } from '../handler.ts'

/** The part of a Prisma client the store uses (satisfied by every generated PrismaClient). */
export interface SqlClient extends TransactionClient {
  $transaction<R>(fn: (tx: TransactionClient) => Promise<R>, options?: { maxWait?: number; timeout?: number }): Promise<R>
}

/** A `pg` pool or client: what the store's own statements prefer. */
export interface Queryable {
  query(config: { name?: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>
}

/** Where statements run: a `pg` pool or connection, or a Prisma client or transaction. */
export type SqlTarget = Queryable | TransactionClient

/** Runs one statement with positional parameters and resolves to its rows. */
export type Sql = <R = unknown>(text: string, ...values: unknown[]) => Promise<R[]>

/** Statement names by text, shared by every runner: each connection parses and plans a text once. */
const statementNames = new Map<string, string>()

function statementName(text: string): string {
  let name = statementNames.get(text)
  if (name === undefined) statementNames.set(text, (name = `hookline_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`))
  return name
}

/** `hookline.` where it qualifies a name (not inside another identifier or a quoted one). */
const DEFAULT_QUALIFIER = /(?<![\w."])hookline\./g

/** Statement texts in another schema, by schema and default text. */
const renamed = new Map<string, Map<string, string>>()

/** `text` with its tables in `schema` instead of the default one (computed once per text). */
function inSchema(text: string, schema: string): string {
  let texts = renamed.get(schema)
  if (!texts) renamed.set(schema, (texts = new Map()))
  let result = texts.get(text)
  if (result === undefined) texts.set(text, (result = text.replace(DEFAULT_QUALIFIER, `"${schema.replaceAll('"', '""')}".`)))
  return result
}

/**
 * The runner of `db`, for Hookline's tables in `schema`. On a `pg` pool, statements are prepared
 * (parsed and planned once per connection) unless `prepared` is false: support's searches, whose
 * best plan depends on the values (a tenant's share of the inbox, a time window), are planned for
 * each request instead, as Postgres does for an unnamed statement.
 *
 * @example
 * const sql = sqlRunner(pool)
 * const rows = await sql<{ eventKey: string }>(`SELECT event_key AS "eventKey" FROM hookline.hookline_events LIMIT $1`, 10)
 */
export function sqlRunner(db: SqlTarget, schema: string = DEFAULT_SCHEMA, prepared = true): Sql {
  const textOf = schema === DEFAULT_SCHEMA ? (text: string) => text : (text: string) => inSchema(text, schema)
  if ('query' in db && typeof db.query === 'function') {
    const pool = db as Queryable
    return async <R>(text: string, ...values: unknown[]) => {
      const sql = textOf(text)
      return (await pool.query(prepared ? { name: statementName(sql), text: sql, values } : { text: sql, values })).rows as R[]
    }
  }
  const prisma = db as TransactionClient
  return <R>(text: string, ...values: unknown[]) => prisma.$queryRawUnsafe<R[]>(textOf(text), ...values)
}

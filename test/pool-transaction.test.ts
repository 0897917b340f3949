/**
 * @module `inPoolTransaction` against a real Postgres: what commits, what rolls back, and what
 * happens to the connection (back to the pool, or discarded when it broke mid-transaction).
 */
import { inPoolTransaction, type PooledConnection } from '@hookline/core/internal'
import { createTestDatabase } from '@hookline/testkit'
import pg from 'pg'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'

let db: Awaited<ReturnType<typeof createTestDatabase>>
let pool: pg.Pool

beforeAll(async () => {
  db = await createTestDatabase()
  pool = new pg.Pool({ connectionString: db.url, max: 2 })
  pool.on('error', () => undefined)
  await pool.query('CREATE TABLE page_rows (n int NOT NULL)')
})

afterAll(async () => {
  await pool?.end()
  await db?.drop()
})

beforeEach(async () => {
  await pool.query('TRUNCATE page_rows')
})

const rows = async (): Promise<number[]> => (await pool.query<{ n: number }>('SELECT n FROM page_rows ORDER BY n')).rows.map((r) => r.n)
const checkedOut = (): number => pool.totalCount - pool.idleCount
const insertPair = (tx: PooledConnection, a: number, b: number) => tx.query({ name: 'insert_pair', text: 'INSERT INTO page_rows (n) VALUES ($1), ($2)', values: [a, b] })

describe('inPoolTransaction', () => {
  it('commits every statement of the function together and returns its result', async () => {
    const result = await inPoolTransaction(pool, async (tx) => {
      await insertPair(tx, 1, 2)
      return 'done'
    })

    expect(result).toBe('done')
    expect(await rows()).toEqual([1, 2])
    expect(checkedOut()).toBe(0)
  })

  it('rolls everything back and rethrows when the function throws; the connection serves again', async () => {
    const failure = new Error('lost the lease')
    const thrown = await inPoolTransaction(pool, async (tx) => {
      await insertPair(tx, 1, 2)
      throw failure
    }).catch((err: unknown) => err)

    expect(thrown).toBe(failure)
    expect(await rows()).toEqual([])
    expect(checkedOut()).toBe(0)
    await inPoolTransaction(pool, (tx) => insertPair(tx, 3, 4))
    expect(await rows()).toEqual([3, 4])
  })

  it('rolls back after a statement Postgres refused', async () => {
    const thrown = await inPoolTransaction(pool, async (tx) => {
      await insertPair(tx, 1, 2)
      await tx.query({ name: 'insert_null', text: 'INSERT INTO page_rows (n) VALUES ($1)', values: [null] })
    }).catch((err: unknown) => err)

    expect(thrown).toMatchObject({ code: '23502' })
    expect(await rows()).toEqual([])
    expect(checkedOut()).toBe(0)
  })

  it('discards a connection that broke mid-transaction, and the next transaction gets a sound one', async () => {
    const thrown = await inPoolTransaction(pool, async (tx) => {
      await insertPair(tx, 1, 2)
      // The server ends this very session (as a Postgres restart or failover would).
      await tx.query('SELECT pg_terminate_backend(pg_backend_pid())')
    }).catch((err: unknown) => err)

    expect(thrown).toBeInstanceOf(Error)
    expect(checkedOut()).toBe(0)
    await inPoolTransaction(pool, (tx) => insertPair(tx, 5, 6))
    expect(await rows()).toEqual([5, 6])
  })
})

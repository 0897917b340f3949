/** @module Every model through the generated client on a migrated database (adapter-pg, no native engine). */
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDatabase, createPrismaClient, EventStatus, Prisma, type PrismaClient } from './index.ts'
import { migrate } from './migrate.ts'

const SERVER_URL = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres'
const name = `hookline_db_client_${randomBytes(6).toString('hex')}`
const url = new URL(SERVER_URL)
url.pathname = `/${name}`

let prisma: PrismaClient

beforeAll(async () => {
  await migrate(url.toString())
  prisma = createPrismaClient(url.toString(), { poolMax: 2 })
})

afterAll(async () => {
  await prisma?.$disconnect()
  const admin = new pg.Client({ connectionString: SERVER_URL })
  await admin.connect()
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
  } finally {
    await admin.end()
  }
})

describe('createPrismaClient', () => {
  it('writes and reads an event with its database defaults', async () => {
    const rawBody = Buffer.from('{"id":"evt_1"}')
    const created = await prisma.event.create({
      data: { provider: 'stripe', eventKey: 'evt_1', type: 'invoice.paid', payload: { id: 'evt_1' }, rawBody },
    })

    expect(created.id).toMatch(/^[0-9a-f-]{36}$/)
    expect(created).toMatchObject({
      status: EventStatus.received,
      source: 'webhook',
      headers: {},
      attempts: 0,
      deliveries: 1,
      generation: 1,
      stale: false,
    })
    const read = await prisma.event.findUniqueOrThrow({
      where: { provider_eventKey: { provider: 'stripe', eventKey: 'evt_1' } },
    })
    expect(Buffer.from(read.rawBody!)).toEqual(rawBody)
  })

  it('rejects a second event with the same (provider, event_key) as P2002', async () => {
    const data = { provider: 'stripe', eventKey: 'evt_dup', type: 't', payload: {} }
    await prisma.event.create({ data })

    const error = await prisma.event.create({ data }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(Prisma.PrismaClientKnownRequestError)
    expect(error).toMatchObject({ code: 'P2002' })
  })

  it('records attempts, cascading when their event is deleted', async () => {
    const event = await prisma.event.create({
      data: { provider: 'stripe', eventKey: 'evt_att', type: 't', payload: {} },
    })
    await prisma.attempt.create({ data: { eventId: event.id, n: 1, outcome: 'failed', error: 'boom' } })

    const withLog = await prisma.event.findUniqueOrThrow({ where: { id: event.id }, include: { attemptLog: true } })
    expect(withLog.attemptLog).toMatchObject([{ n: 1, outcome: 'failed', error: 'boom', finishedAt: null }])
    expect(typeof withLog.attemptLog[0]!.id).toBe('bigint')

    await prisma.event.delete({ where: { id: event.id } })
    expect(await prisma.attempt.count({ where: { eventId: event.id } })).toBe(0)
  })

  it('upserts entity versions on their composite key', async () => {
    const key = { provider: 'stripe', entityKey: 'sub_1' }
    const first = new Date('2026-01-01T00:00:00.000Z')
    const later = new Date('2026-01-02T00:00:00.000Z')
    const eventId = '00000000-0000-4000-8000-000000000001'
    await prisma.entityVersion.create({ data: { ...key, occurredAt: first, eventId } })
    await prisma.entityVersion.update({ where: { provider_entityKey: key }, data: { occurredAt: later } })

    const read = await prisma.entityVersion.findUniqueOrThrow({ where: { provider_entityKey: key } })
    expect(read.occurredAt).toEqual(later)
  })

  it('appends to the audit log with a JSON filter', async () => {
    const entry = await prisma.auditLog.create({
      data: { actor: 'support@example.com', action: 'replay', filter: { status: 'dead' }, count: 3 },
    })

    expect(await prisma.auditLog.findUniqueOrThrow({ where: { id: entry.id } })).toMatchObject({
      actor: 'support@example.com',
      action: 'replay',
      filter: { status: 'dead' },
      count: 3,
      eventId: null,
    })
  })
})

describe('createDatabase', () => {
  it('runs Prisma on the very pool it returns: both count against one connection limit, and close ends both', async () => {
    const db = createDatabase(url.toString(), { poolMax: 2 })
    const held = [await db.pool.connect(), await db.pool.connect()]
    let answered = false
    const viaPrisma = db.prisma.$queryRawUnsafe<{ n: number }[]>('SELECT 1::int AS n').then((rows) => {
      answered = true
      return rows
    })
    await new Promise((r) => setTimeout(r, 200))
    // Both connections of the pool are taken: Prisma waits for one.
    expect(answered).toBe(false)
    expect(db.pool.waitingCount).toBe(1)
    held[0]!.release()
    expect(await viaPrisma).toEqual([{ n: 1 }])
    held[1]!.release()
    expect(db.pool.totalCount).toBeLessThanOrEqual(2)
    await db.close()
    await expect(db.pool.query('SELECT 1')).rejects.toThrow()
  })
})

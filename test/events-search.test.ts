/**
 * The support listing's free-text search (`q`) against real Postgres: whether the page is found
 * among the newest rows or by finding the matches first (a window of a few rows forces the
 * latter), every page and cursor is the one the filter's meaning gives.
 */
import { EventQuery, type EventListRequest, type EventSummary, type SqlClient } from '@hookline/core/internal'
import { createPrismaClient } from '@hookline/db'
import { createTestDatabase } from '@hookline/testkit'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

interface Row {
  id: string
  key: string
  tenant: string
  at: number
}

let db: Awaited<ReturnType<typeof createTestDatabase>>
let prisma: ReturnType<typeof createPrismaClient>
let rows: Row[]
/** The client as Hookline types its database (the service does the same cast). */
let sql: SqlClient

beforeAll(async () => {
  db = await createTestDatabase()
  prisma = createPrismaClient(db.url)
  sql = prisma as unknown as SqlClient
  // 240 events one second apart, newest first by i: every 4th of the 200 "dense" keys contains
  // "pat"; five "rare" keys sit among the oldest; a key with a literal % that only '%' matches.
  await prisma.$executeRawUnsafe(
    `INSERT INTO hookline.hookline_events (provider, event_key, type, tenant, source, headers, raw_body, status, processed_at, received_at)
     SELECT 'stripe', k, 'invoice.paid', 'acct_' || (i % 3), 'webhook', '{}', convert_to('{}', 'UTF8'), 'processed', t, t
       FROM (SELECT i, now() - i * interval '1 second' AS t,
                    CASE WHEN i < 200 THEN 'evt_dense_' || lpad(i::text, 3, '0') || CASE WHEN i % 4 = 0 THEN '_pat' ELSE '' END
                         WHEN i IN (205, 217, 226, 233, 239) THEN 'evt_RARE_' || i
                         WHEN i = 210 THEN 'evt_100%_' || i
                         ELSE 'evt_old_' || i END AS k
               FROM generate_series(0, 239) AS i) AS g`,
  )
  rows = (
    await prisma.$queryRawUnsafe<{ id: string; key: string; tenant: string; at: Date }[]>(
      `SELECT id::text AS id, event_key AS key, tenant, received_at AS at FROM hookline.hookline_events`,
    )
  ).map((r) => ({ ...r, at: r.at.getTime() }))
})
afterAll(async () => {
  await prisma?.$disconnect()
  await db?.drop()
})

/** Every page of `request`, following the cursors. */
async function allPages(query: EventQuery, request: EventListRequest): Promise<EventSummary[][]> {
  const pages: EventSummary[][] = []
  let cursor: string | undefined
  do {
    const page = await query.list({ ...request, ...(cursor ? { cursor } : {}) })
    pages.push(page.events)
    cursor = page.nextCursor ?? undefined
  } while (cursor && pages.length < 100)
  return pages
}

/** The event keys `q` (with `tenant`) means, newest first, cut into pages of `limit`. */
function expected(q: string, limit: number, tenant?: string): string[][] {
  const keys = rows
    .filter((r) => (r.key.toLowerCase().includes(q.toLowerCase()) || r.id === q.toLowerCase()) && (tenant === undefined || r.tenant === tenant))
    .sort((a, b) => b.at - a.at || (a.id < b.id ? 1 : -1))
    .map((r) => r.key)
  const pages: string[][] = []
  for (let i = 0; i < keys.length; i += limit) pages.push(keys.slice(i, i + limit))
  return pages.length > 0 ? pages : [[]]
}

describe('free-text search in the support listing', () => {
  const cases: { name: string; q: () => string; limit: number; tenant?: string }[] = [
    { name: 'sparse matches among the oldest rows', q: () => 'rare', limit: 2 },
    { name: 'dense matches, several pages', q: () => 'pat', limit: 20 },
    { name: 'matches in every row', q: () => 'evt_', limit: 50 },
    { name: 'exactly a page of matches, then none', q: () => 'dense_00', limit: 10 },
    { name: 'sparse matches with a tenant', q: () => 'Rare_2', limit: 1, tenant: 'acct_2' },
    { name: 'an exact inbox id', q: () => rows.find((r) => r.key === 'evt_dense_150')!.id, limit: 10 },
    { name: 'a literal %', q: () => '%', limit: 10 },
    { name: 'no match', q: () => 'nowhere', limit: 10 },
  ]
  for (const c of cases) {
    it(`${c.name}: the same pages whichever way they are found`, async () => {
      const request: EventListRequest = { q: c.q(), limit: c.limit, ...(c.tenant ? { tenant: c.tenant } : {}) }
      const want = expected(request.q!, c.limit, c.tenant)
      for (const windowRows of [3, 50, 10_000]) {
        const pages = await allPages(new EventQuery(sql, windowRows), request)
        expect(pages.map((page) => page.map((e) => e.eventKey)), `window of ${windowRows} rows`).toEqual(want)
      }
    })
  }

  it('refuses a window that is not a positive integer', () => {
    expect(() => new EventQuery(sql, 0)).toThrow(TypeError)
  })
})

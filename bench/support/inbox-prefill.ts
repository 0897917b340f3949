/**
 * @module A large inbox for the ingest cases (`--inbox-rows`): a sandbox's `hookline.hookline_events`
 * filled with processed events before the load, so that inserts meet indexes of a realistic size,
 * and a `CHECKPOINT` before each measured window, so that the window pays the full-page images a
 * steady-state server pays after every checkpoint. Without it the bench's tables start empty.
 */
import pg from 'pg'

/** Rows written per statement while filling (one transaction each). */
const FILL_CHUNK = 250_000

/** Runs `fn` on a connection of its own to `databaseUrl`, closed afterwards. */
async function withClient(databaseUrl: string, fn: (client: pg.Client) => Promise<void>): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    await fn(client)
  } finally {
    await client.end()
  }
}

/**
 * Fills the inbox of `databaseUrl` with `rows` processed events: random Stripe-like event keys,
 * ids from the table's own default, arrival times spread over 30 days (ending `olderThanDays` ago), a small raw body
 * (the heap only grows at its end; the indexes are what a large inbox changes), then `VACUUM
 * ANALYZE` so the planner sees the table's real size.
 *
 * @example
 * await prefillInbox(sandbox.databaseUrl, 2_000_000)
 */
export async function prefillInbox(databaseUrl: string, rows: number, options: { olderThanDays?: number } = {}): Promise<void> {
  if (rows <= 0) return
  await withClient(databaseUrl, async (client) => {
    for (let done = 0; done < rows; done += FILL_CHUNK) {
      // The arrival time is drawn in the row's own subquery: a volatile expression in an
      // uncorrelated LATERAL would be evaluated once for every row.
      await client.query(
        `INSERT INTO hookline.hookline_events (provider, event_key, type, tenant, entity_key, occurred_at, received_at, source,
                                      headers, raw_body, status, processed_at)
         SELECT 'stripe', 'evt_' || md5(random()::text), 'invoice.paid', 'acct_' || (g % 500), 'in_' || md5(random()::text),
                t, t, 'webhook', '{}', convert_to('{}', 'UTF8'), 'processed', t
           FROM (SELECT g, now() - $2::int * interval '1 day' - random() * interval '30 days' AS t FROM generate_series(1, $1::int) AS g) AS drawn`,
        [Math.min(FILL_CHUNK, rows - done), options.olderThanDays ?? 0],
      )
    }
    await client.query('VACUUM ANALYZE hookline.hookline_events')
  })
}

/**
 * Flushes every dirty page of the server (`CHECKPOINT`, which needs a superuser or, on
 * PostgreSQL 15+, `pg_checkpoint`): the next write to each page logs a full-page image again.
 */
export async function checkpoint(databaseUrl: string): Promise<void> {
  await withClient(databaseUrl, async (client) => {
    await client.query('CHECKPOINT')
  })
}

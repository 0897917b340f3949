/**
 * @module BASELINE, NOT HOOKLINE: the "naive correct pipeline" a careful developer writes by hand,
 * measured beside Hookline in the same run. Per request: verify with
 * `stripe.webhooks.constructEvent`, one `INSERT … ON CONFLICT` into the same inbox table (through
 * `pg` directly, with no ORM in the way), one `Queue.add`, then 200. It keeps the durability rule
 * (200 only after the insert; 503 when Postgres fails; Redis failures still 200) but shares
 * nothing between requests.
 */
import { Queue } from 'bullmq'
import express, { type Express } from 'express'
import { Redis } from 'ioredis'
import pg from 'pg'
import Stripe from 'stripe'

/** What the naive pipeline connects to. */
export interface NaivePipelineConfig {
  databaseUrl: string
  redisUrl: string
  queuePrefix: string
  stripeSecret: string
  /** Connections in the `pg` pool (Hookline's default pool is worker concurrency + 10 = 20). */
  poolMax: number
}

const INSERT = `WITH ev AS (
  INSERT INTO hookline.hookline_events
    (provider, event_key, type, tenant, entity_key, occurred_at, source, headers, raw_body, payload)
  VALUES ('stripe', $1, $2, $3, $4, to_timestamp($5), 'webhook', $6::jsonb, $7, $8::jsonb)
  ON CONFLICT (provider, event_key) DO UPDATE
    SET deliveries = hookline_events.deliveries + 1, last_delivered_at = now()
  RETURNING id, (xmax = 0) AS inserted
), due AS (
  INSERT INTO hookline.hookline_due_events (event_id, due_at) SELECT id, now() + interval '60 seconds' FROM ev WHERE inserted
)
SELECT id::text, inserted FROM ev`

/**
 * Builds the naive baseline's Express app and a function that closes its connections.
 *
 * @example
 * const { app } = naivePipeline({ databaseUrl, redisUrl, queuePrefix, stripeSecret, poolMax: 20 })
 */
export function naivePipeline(config: NaivePipelineConfig): { app: Express; close(): Promise<void> } {
  const pool = new pg.Pool({ connectionString: config.databaseUrl, max: config.poolMax })
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false })
  redis.on('error', () => undefined)
  const queue = new Queue('events', { connection: redis, prefix: config.queuePrefix })
  queue.on('error', () => undefined)
  const app = express()
  app.post('/webhooks/stripe', express.raw({ type: () => true, limit: 1024 * 1024 }), async (req, res) => {
    let event: Stripe.Event
    try {
      event = Stripe.webhooks.constructEvent(req.body as Buffer, String(req.headers['stripe-signature']), config.stripeSecret)
    } catch {
      res.status(401).json({ error: 'bad signature' })
      return
    }
    let row: { id: string; inserted: boolean }
    try {
      const object = event.data.object as { id?: string }
      const headers = { 'content-type': req.headers['content-type'], 'stripe-signature': req.headers['stripe-signature'] }
      const result = await pool.query<{ id: string; inserted: boolean }>(INSERT, [
        event.id, event.type, event.account ?? null, object.id ?? null, event.created, JSON.stringify(headers), req.body, JSON.stringify(event),
      ])
      row = result.rows[0]!
    } catch {
      res.status(503).json({ error: 'database unavailable' })
      return
    }
    if (row.inserted) {
      await queue.add('process', { id: row.id }, { jobId: row.id, removeOnComplete: true, removeOnFail: true }).catch(() => undefined)
    }
    res.status(200).json({ id: row.id, duplicate: !row.inserted })
  })
  return {
    app,
    async close() {
      await queue.close().catch(() => undefined)
      redis.disconnect()
      await pool.end()
    },
  }
}

/**
 * @module The outbox relay: moves committed outbox rows into the inbox, where the worker handles
 * them as events of the outbox provider. Woken by `LISTEN/NOTIFY`, with polling as the fallback;
 * several relays (one per worker process, say) run at once safely.
 */
import type { Database } from '@hookline/db'
import type { Logger } from 'pino'
import type { HooklineMetrics } from '../metrics.ts'
import type { Dispatcher } from '../queue/dispatcher.ts'
import { enqueueStored } from '../queue/enqueue-stored.ts'
import { type BatchDelivery, Inbox } from '../store/inbox.ts'
import { OutboxStore, type OutboxRow } from '../store/outbox.ts'
import { inPoolTransaction } from '../store/pool-transaction.ts'
import { NOTIFY_EVERY_MS } from './emit.ts'
import type { OutboxOptions } from './outbox-options.ts'
import { OutboxPublisher } from './outbox-publisher.ts'

type Pool = Database['pool']

/** The connection that listens (a `pg.PoolClient`). */
interface Listener {
  query(text: string): Promise<unknown>
  on(event: 'notification', listener: () => void): unknown
  on(event: 'error', listener: (err: Error) => void): unknown
  removeAllListeners(event: 'notification'): unknown
  release(err?: Error | boolean): void
}

/** What the relay uses. */
export interface OutboxRelayDeps {
  pool: Pool
  schema: string
  /** The `NOTIFY` channel emits wake the relays on. */
  channel: string
  options: OutboxOptions
  redisUrl: string
  dispatcher: Pick<Dispatcher, 'enqueueBatch'>
  metrics: HooklineMetrics
  logger: Logger
  /** The sweeper's grace: how long a relayed event may wait for its job before it is dispatched again. */
  graceMs: number
}

/** Pause before listening again after the listening connection broke. */
const RELISTEN_MS = 1000

/**
 * Moves outbox rows into the inbox, a batch per transaction: the rows are deleted in the
 * transaction that stores them (and, with `publish`, after they are added to the application's
 * queue), so a crash repeats a batch (deduped by the inbox on the event id) and never loses one.
 *
 * @example
 * const relay = new OutboxRelay(deps)
 * await relay.start()
 */
export class OutboxRelay {
  private readonly inbox: Inbox
  private readonly publisher: OutboxPublisher | undefined
  private listener: Listener | undefined
  private timer: NodeJS.Timeout | undefined
  private relisten: NodeJS.Timeout | undefined
  private soon: NodeJS.Timeout | undefined
  private draining: Promise<void> | undefined
  private readonly dropped = new WeakSet<Listener>()
  private again = false
  private stopped = false

  constructor(private readonly deps: OutboxRelayDeps) {
    this.inbox = new Inbox(deps.pool, deps.schema)
    this.publisher = deps.options.publish ? new OutboxPublisher(deps.options.publish, deps.redisUrl) : undefined
  }

  /** Listens for emits, starts the polling fallback and relays what is waiting already. */
  async start(): Promise<void> {
    if (this.timer) return
    this.timer = setInterval(() => this.kick(), this.deps.options.pollIntervalMs)
    this.timer.unref()
    await this.listen()
    this.kick()
  }

  /** Relays what is committed now (again, once the current pass ends, if one is running). */
  kick(): void {
    if (this.stopped) return
    if (this.draining) {
      this.again = true
      return
    }
    this.draining = this.drain().finally(() => {
      this.draining = undefined
      if (this.again) {
        this.again = false
        this.kick()
      }
    })
  }

  /**
   * Relays until no full batch is left; resolves when done (failures are logged and retried by the
   * next pass). A pass that moved rows is followed by another one shortly: a busy emitter does not
   * notify every commit (see `NOTIFY_EVERY_MS`).
   */
  async drain(): Promise<void> {
    try {
      let moved = 0
      for (let n = this.deps.options.batchSize; n === this.deps.options.batchSize && !this.stopped; moved += n) n = await this.relayBatch()
      if (moved > 0) this.lookAgainSoon()
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message }, 'outbox relay pass failed; the next one will retry')
    }
  }

  /** Stops listening and polling and waits for the running pass. */
  async close(): Promise<void> {
    this.stopped = true
    clearInterval(this.timer)
    clearTimeout(this.soon)
    clearTimeout(this.relisten)
    await this.draining
    if (this.listener) this.dropped.add(this.listener)
    this.listener?.release()
    this.listener = undefined
    await this.publisher?.close()
  }

  private lookAgainSoon(): void {
    if (this.stopped || this.soon) return
    this.soon = setTimeout(() => {
      this.soon = undefined
      this.kick()
    }, NOTIFY_EVERY_MS)
  }

  /** One transaction: takes a batch, publishes it, stores it in the inbox; then queues its jobs. */
  private async relayBatch(): Promise<number> {
    const { pool, schema, options, graceMs, metrics } = this.deps
    const { rows, stored } = await inPoolTransaction(pool, async (tx) => {
      const rows = await new OutboxStore(tx, schema).take(options.batchSize)
      if (rows.length === 0) return { rows, stored: [] }
      await this.publisher?.publish(rows)
      const stored = await new Inbox(tx, schema).insertMany(rows.map((row) => this.delivery(row)), graceMs, 'skip')
      return { rows, stored }
    })
    if (rows.length > 0) metrics.outboxRelayed.inc(rows.length)
    await enqueueStored({ ...this.deps, inbox: this.inbox }, stored, 'outbox')
    return rows.length
  }

  private delivery(row: OutboxRow): BatchDelivery {
    return {
      provider: this.deps.options.provider,
      event: { kind: 'event', eventKey: row.id, type: row.type, tenant: row.tenant, entityKey: row.key, occurredAt: row.emittedAt, payload: JSON.parse(row.payload) },
      meta: { source: 'outbox', headers: {}, rawBody: null },
      count: 1,
    }
  }

  /** Holds one connection that listens on the channel; on failure, polling covers until it is back. */
  private async listen(): Promise<void> {
    if (this.stopped) return
    let listener: Listener | undefined
    try {
      listener = await this.deps.pool.connect()
      listener.on('notification', () => this.kick())
      listener.on('error', () => this.lost(listener!))
      await listener.query(`LISTEN "${this.deps.channel}"`)
      this.listener = listener
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message }, 'outbox relay cannot listen; polling until it can')
      if (listener) this.lost(listener)
      else this.scheduleListen()
    }
  }

  /** Discards a broken listening connection (its `error` may fire more than once) and listens again later. */
  private lost(listener: Listener): void {
    if (this.dropped.has(listener)) return
    this.dropped.add(listener)
    if (this.listener === listener) this.listener = undefined
    listener.removeAllListeners('notification')
    listener.release(true)
    this.scheduleListen()
  }

  private scheduleListen(): void {
    if (this.stopped) return
    clearTimeout(this.relisten)
    this.relisten = setTimeout(() => void this.listen().then(() => this.kick()), RELISTEN_MS)
    this.relisten.unref()
  }
}

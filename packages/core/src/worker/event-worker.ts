/**
 * @module The worker: a BullMQ `Worker` whose jobs claim inbox events (a committed batch's, or one
 * event's), run their handlers and write the processed marks in one transaction, and turn failures
 * into retries (a job of the event's own) or dead letters, each counted in its issue.
 */
import { type Job, Worker } from 'bullmq'
import { Redis } from 'ioredis'
import { downstreamOf, isPermanentError, retryAfterMsOf } from '../errors.ts'
import type { BreakerOpenHook } from '../holds/breaker-options.ts'
import type { CircuitBreakers } from '../holds/circuit-breakers.ts'
import type { EventHolds, Hold } from '../holds/event-holds.ts'
import { closeWhileConnected } from '../queue/bullmq-close.ts'
import { type Dispatcher, PROCESS_BATCH_JOB, PROCESS_JOB, type ProcessBatchJobData, type ProcessJobData, type QueueConfig } from '../queue/dispatcher.ts'
import type { ClaimedEvent, WakeUp } from '../store/attempts.ts'
import { type BatchEntry, GroupBatcher } from '../queue/group-batcher.ts'
import { type FailureFingerprint, fingerprintFailure } from '../support/failure-fingerprint.ts'
import { type Outcome, processInTransaction, publicEvent, type TransactionDeps } from './handler-transaction.ts'
import { failureRoute, type IssueHook, noticeIssue } from './issue-hook.ts'
import { saturationKey } from '../yield/saturation-signal.ts'
import { YieldGate } from '../yield/yield-gate.ts'
import { backoffDelayMs, decideAfterFailure, type RetryPolicy } from './retry-policy.ts'
import type { DeadLetterHook } from './worker-options.ts'

/** The error a failed attempt is rethrown as, carrying the delay the retry policy chose. */
class RetryScheduledError extends Error {
  constructor(
    message: string,
    readonly delayMs: number,
  ) {
    super(message)
    this.name = 'RetryScheduledError'
  }
}

/** `held`: a pause or an open circuit breaker put the event back without spending an attempt. */
type EventOutcome = Outcome | 'dead' | 'none' | 'held'
type SingleOutcome = Outcome | 'dead' | 'held'

/** An event to attempt alone; `batchFailure`: its handler's failure in a shared transaction that rolled back. */
interface Single {
  event: ClaimedEvent
  batchFailure?: { error: unknown } | undefined
}

/** A held event's failure, counted in its issue although its attempt is withdrawn. */
interface HeldFailure {
  message: string
  fingerprint: FailureFingerprint
}

/** What the worker needs from the rest of Hookline. */
export interface EventWorkerDeps extends TransactionDeps {
  policy: RetryPolicy
  onDeadLetter?: DeadLetterHook | undefined
  /** Pauses and circuit breakers: what must not run now. */
  holds: EventHolds
  breakers: CircuitBreakers
  onBreakerOpen?: BreakerOpenHook | undefined
  /** Told when a failure opens or reopens an issue. */
  onIssue?: IssueHook | undefined
  /** Queues the retries of events that came in a batch job, each in a job of its own, and wake-ups. */
  dispatcher: Pick<Dispatcher, 'enqueue' | 'wake' | 'release'>
  /** Processors of the maintenance jobs (sweeper, reconciliation), by job name. */
  maintenance: Record<string, (data: unknown) => Promise<unknown>>
}

/**
 * Processes inbox events from the queue.
 *
 * @example
 * const worker = new EventWorker(queueConfig, deps)
 * await worker.start()
 */
export class EventWorker {
  private worker: Worker | undefined
  private connection: Redis | undefined
  private gate: YieldGate | undefined
  private readonly batcher: GroupBatcher<string, EventOutcome>
  private readonly singles: GroupBatcher<Single, SingleOutcome>
  /** The jobs running now: what a close waits for when it cannot wait through BullMQ. */
  private readonly running = new Set<Promise<unknown>>()

  constructor(
    private readonly queue: QueueConfig,
    private readonly deps: EventWorkerDeps,
  ) {
    const { concurrency, batchSize } = deps.options
    // Few batches at once, so that jobs arriving meanwhile gather into the next one.
    this.batcher = new GroupBatcher((batch) => this.processBatch(batch), {
      maxBatchSize: batchSize,
      maxWaitMs: 0,
      maxConcurrentBatches: Math.max(1, Math.ceil(concurrency / batchSize)),
    })
    // One event per transaction, a bounded number at once: a queue in front of the pool.
    this.singles = new GroupBatcher(async ([entry]) => entry!.resolve(await this.processOne(entry!.item)), {
      maxBatchSize: 1,
      maxWaitMs: 0,
      maxConcurrentBatches: deps.options.singleConcurrency,
    })
  }

  /** Starts consuming jobs. */
  async start(): Promise<void> {
    const { options, policy, logger } = this.deps
    // Workers block on Redis and must wait through outages rather than fail commands.
    this.connection = new Redis(this.queue.redisUrl, { maxRetriesPerRequest: null, retryStrategy: (n) => Math.min(n * 200, 2000) })
    this.connection.on('error', () => undefined)
    this.gate = new YieldGate(this.connection, saturationKey(this.queue.prefix, this.queue.name), options.yieldMs, (seconds) => this.deps.metrics.yielded.inc(seconds))
    this.worker = new Worker(this.queue.name, (job) => this.track(this.run(job)), {
      connection: this.connection,
      prefix: this.queue.prefix,
      concurrency: options.concurrency,
      lockDuration: options.lockDurationMs,
      stalledInterval: Math.max(1000, Math.floor(options.lockDurationMs / 2)),
      settings: {
        backoffStrategy: (attemptsMade: number, _type?: string, err?: Error) =>
          err instanceof RetryScheduledError ? err.delayMs : backoffDelayMs(policy, attemptsMade),
      },
    })
    this.worker.on('error', (err) => logger.warn({ err: err.message }, 'worker connection error'))
    await this.worker.waitUntilReady()
  }

  /**
   * Stops taking jobs and waits for the running ones to finish. With Redis down, BullMQ cannot be
   * waited for (see {@link closeWhileConnected}): the running jobs still finish, their handlers'
   * transactions commit, and a job BullMQ could not mark completed finds its events processed when
   * it runs again.
   */
  async close(): Promise<void> {
    const { worker, connection } = this
    if (!worker || !connection) return
    await closeWhileConnected(() => worker.close(), connection)
    await Promise.allSettled(this.running)
  }

  /** Keeps `job` in {@link running} until it settles. */
  private track<T>(job: Promise<T>): Promise<T> {
    this.running.add(job)
    const done = (): void => void this.running.delete(job)
    job.then(done, done)
    return job
  }

  private async run(job: Job): Promise<unknown> {
    if (job.name === PROCESS_JOB) return this.batcher.submit((job.data as ProcessJobData).id)
    if (job.name === PROCESS_BATCH_JOB) return this.runBatchJob((job.data as ProcessBatchJobData).ids)
    const maintenance = this.deps.maintenance[job.name]
    return maintenance ? maintenance(job.data) : undefined
  }

  /**
   * The events of a batch job go through the same batcher as single jobs. One that must be
   * attempted again gets a job of its own (job id = inbox id), after the delay its failure chose,
   * so that its retries never re-run its neighbours; the batch job itself always completes. Should
   * Redis refuse that job, the event's due time (set when it failed or was claimed) lets the
   * sweeper dispatch it.
   */
  private async runBatchJob(ids: readonly string[]): Promise<void> {
    const settled = await Promise.allSettled(ids.map((id) => this.batcher.submit(id)))
    const retries: string[] = []
    const delays: number[] = []
    settled.forEach((result, i) => {
      if (result.status === 'fulfilled') return
      retries.push(ids[i]!)
      // Not a handler failure (the claim itself failed, say): the policy's first delay.
      delays.push(result.reason instanceof RetryScheduledError ? result.reason.delayMs : backoffDelayMs(this.deps.policy, 1))
    })
    if (retries.length === 0) return
    await this.deps.dispatcher.enqueue(retries, delays).catch((err: unknown) => {
      this.deps.logger.warn({ events: retries.length, err: describeError(err).message }, 'enqueue of retries failed; the sweeper will dispatch them')
    })
  }

  /**
   * After its turn (see {@link YieldGate}), claims a batch of events in one statement, puts back those a pause or an open breaker holds
   * (see {@link EventHolds}), then runs the first attempts together in one transaction and hands
   * the rest (retries, which may follow a crash) to the single-event queue.
   * Each entry settles when its event is finished (processed, skipped or dead) or rejects to retry;
   * the batch's slot is free again once its own transaction is done, whatever the singles take.
   */
  private async processBatch(batch: BatchEntry<string, EventOutcome>[]): Promise<void> {
    const turn = await this.gate!.turn()
    try {
      // Running alone, it takes what gathered meanwhile, up to the concurrency (the batcher
      // rejects every entry of `batch` should this throw).
      if (turn.alone) {
        batch.push(...this.batcher.takeQueued(this.deps.options.concurrency - batch.length))
        this.deps.metrics.batchesAlone.inc()
      }
      await this.processClaimed(batch)
    } finally {
      turn.done()
    }
  }

  private async processClaimed(batch: BatchEntry<string, EventOutcome>[]): Promise<void> {
    const { attempts, options } = this.deps
    const claimed = new Map((await attempts.claimMany(batch.map((entry) => entry.item), options.handlerTimeoutMs + options.lockDurationMs)).map((e) => [e.id, e]))
    const holds = await this.deps.holds.check([...claimed.values()], options.handlerTimeoutMs)
    // Committed before the others run, so that a later event of a held one's entity waits for it.
    if (holds.size > 0) await this.hold([...holds].map(([id, hold]) => ({ event: claimed.get(id)!, hold })))
    const firsts: { event: ClaimedEvent; entry: BatchEntry<string, EventOutcome> }[] = []
    for (const entry of batch) {
      if (holds.has(entry.item)) {
        entry.resolve('held')
        continue
      }
      const event = claimed.get(entry.item)
      claimed.delete(entry.item)
      if (!event) entry.resolve('none')
      else if (event.attempt === 1) firsts.push({ event, entry })
      else this.runAlone(event, entry)
    }
    if (firsts.length === 1) this.runAlone(firsts[0]!.event, firsts[0]!.entry)
    else if (firsts.length > 1) await this.processTogether(firsts)
  }

  /** Queues one event for a transaction of its own; its entry settles with the outcome. */
  private runAlone(event: ClaimedEvent, entry: BatchEntry<string, EventOutcome>, batchFailure?: Single['batchFailure']): void {
    this.singles.submit({ event, batchFailure }).then(entry.resolve, entry.reject)
  }

  /**
   * First attempts of several events in one transaction. Should any of them fail, the transaction
   * is rolled back as a whole and each event is attempted again alone, so that one event's failure
   * is recorded against that event only. The handlers' failures count against their breakers
   * first: one that opens holds the events it covers instead of letting them run again.
   */
  private async processTogether(items: { event: ClaimedEvent; entry: BatchEntry<string, EventOutcome> }[]): Promise<void> {
    let outcomes: Map<string, Outcome>
    const failures = new Map<string, unknown>()
    try {
      outcomes = await this.transact(items.map((item) => item.event), failures)
    } catch (err) {
      this.deps.logger.debug({ err: describeError(err).message, events: items.length }, 'batch rolled back; its events run one by one')
      const counted = items.filter(({ event }) => failures.has(event.id) && countsAgainstBreaker(failures.get(event.id)))
      await Promise.all(counted.map(({ event }) => this.countFailure(event, failures.get(event.id))))
      for (const { event, entry } of items) this.runAlone(event, entry, failures.has(event.id) ? { error: failures.get(event.id) } : undefined)
      return
    }
    for (const { event, entry } of items) entry.resolve(outcomes.get(event.id) ?? 'skipped')
  }

  /** One attempt at one claimed event. Resolves when finished (processed, skipped or dead); throws to retry. */
  private async processOne({ event, batchFailure }: Single): Promise<SingleOutcome> {
    if (event.attempt > this.deps.policy.maxAttempts) {
      // Only reachable when workers died during earlier attempts (a handler that kills the process).
      return this.fail(event, new Error(`attempts exhausted: the worker stopped during ${event.attempt - 1} attempts`), true)
    }
    // A breaker may have opened since the claim was checked (this event's batch rolled back, or it
    // waited for a slot behind other singles): an event claimed before it opened does not run now.
    const hold = (await this.deps.holds.breakerHolds([event], this.deps.options.handlerTimeoutMs)).get(event.id)
    if (hold) {
      // A failure in the rolled-back batch is what may have opened the breaker: its issue counts it.
      await this.hold([{ event, hold, failure: batchFailure ? this.heldFailure(event, batchFailure.error) : undefined }])
      return 'held'
    }
    try {
      return (await this.transact([event])).get(event.id) ?? 'skipped'
    } catch (err) {
      return this.fail(event, err, isPermanentError(err))
    }
  }

  /** One transaction for `events` (see {@link processInTransaction}); then wakes the events it lets run. */
  private async transact(events: readonly ClaimedEvent[], failures?: Map<string, unknown>): Promise<Map<string, Outcome>> {
    const { outcomes, wake } = await processInTransaction(this.deps, events, failures)
    this.wake(wake)
    const routes = new Set<string>()
    for (const event of events) {
      const route = outcomes.get(event.id) === 'succeeded' ? this.deps.holds.routeOf(event) : undefined
      if (route === undefined) continue
      // The downstreams its handler declares worked too (and one of them may be probing).
      for (const key of [route, ...this.deps.holds.downstreamsOf(route)]) routes.add(key)
    }
    if (routes.size > 0) {
      // A success resets its route's failure count; a probe's closes the breaker and frees what it held.
      this.deps.breakers
        .succeed([...routes])
        .then((released) => this.deps.dispatcher.release(released))
        .catch((err: unknown) => this.deps.logger.warn({ err: describeError(err).message }, 'circuit breaker update failed'))
    }
    return outcomes
  }

  /**
   * Puts held events back without spending their attempts, due when their hold ends (a lease
   * later for a breaker's, the sweeper's fallback to the wake-up job queued for that time). Only
   * once that is written are breaker holds registered for release when their breaker closes (see
   * {@link CircuitBreakers.remember}); one that closed meanwhile lets its events run at once.
   * A held event's `failure` (the one that opened its breaker, say) is kept as its last error and
   * counted in its issue, last: should that write fail, it is logged and the event stays held.
   */
  private async hold(held: readonly { event: ClaimedEvent; hold: Hold; failure?: HeldFailure | undefined }[]): Promise<void> {
    const { attempts, breakers, dispatcher, logger, options, metrics, onIssue } = this.deps
    const woken = await attempts.holdAttempts(
      held.map(({ event, hold, failure }) => ({
        event,
        error: failure?.message,
        until: hold.reason === 'breaker' ? new Date(hold.until.getTime() + options.lockDurationMs) : hold.until,
      })),
    )
    for (const { event, hold } of held) metrics.held.inc({ provider: event.provider, reason: hold.reason })
    const byId = new Map(held.map((h) => [h.event.id, h.hold]))
    const timed = woken.filter((w) => byId.get(w.id)?.reason === 'breaker')
    if (timed.length > 0) {
      dispatcher.wake(timed, timed.map((w) => byId.get(w.id)!.until.getTime() - Date.now())).catch((err: unknown) => {
        logger.warn({ events: timed.length, err: describeError(err).message }, 'wake-up of held events failed; the sweeper will dispatch them')
      })
      try {
        const providers = new Map(held.map((h) => [h.event.id, h.event.provider]))
        const closed = await breakers.remember(timed.map((w) => ({ ...w, route: byId.get(w.id)!.route!, provider: providers.get(w.id)! })))
        if (closed.length > 0) await dispatcher.release(closed)
      } catch (err) {
        logger.warn({ events: timed.length, err: describeError(err).message }, 'held events not registered with their breaker; they run at their wake-up')
      }
    }
    // Last: the events are held and their wake-ups registered whatever happens to these writes.
    for (const { event, failure } of held) {
      if (!failure) continue
      const log = logger.child({ eventId: event.id, provider: event.provider, type: event.type, attempt: event.attempt })
      try {
        await noticeIssue(onIssue, await attempts.recordHeldFailure(event, failure.fingerprint), failure.fingerprint, publicEvent(event), log)
      } catch (err) {
        log.warn({ err: describeError(err).message }, 'held failure not counted in its issue')
      }
    }
  }

  /**
   * Counts a transient failure against its route's breaker (or the downstream it names, or the
   * one its handler declares); resolves to the breaker's state after it, undefined for an event
   * without a route or when Redis does not answer (the failure is then retried as usual). Says so
   * once when this failure opened the breaker.
   */
  private async countFailure(event: ClaimedEvent, err: unknown): Promise<Awaited<ReturnType<CircuitBreakers['fail']>> | undefined> {
    const { breakers, holds, metrics, logger, onBreakerOpen } = this.deps
    const route = holds.routeOf(event)
    if (route === undefined) return undefined
    let state: Awaited<ReturnType<CircuitBreakers['fail']>>
    try {
      state = await breakers.fail(route, downstreamOf(err) ?? soleDownstream(holds.downstreamsOf(route)))
    } catch (breakerErr) {
      logger.warn({ err: describeError(breakerErr).message }, 'circuit breaker unreachable; the failure is retried as usual')
      return undefined
    }
    if (state.opened) {
      metrics.breakerOpened.inc({ route: state.route })
      const breaker = (await breakers.list().catch(() => [])).find((b) => b.route === state.route)
      logger.warn({ route: state.route, openUntil: state.openUntil, err: describeError(err).message }, 'circuit breaker open')
      try {
        await onBreakerOpen?.(breaker ?? { route: state.route, state: 'open', failures: 0, openUntil: state.openUntil, cooldownMs: 0 })
      } catch (hookErr) {
        logger.error({ err: describeError(hookErr).message }, 'onBreakerOpen hook failed')
      }
    }
    return state
  }

  /**
   * Counts a transient failure against its breaker (see {@link countFailure}). When the breaker is
   * open after it (this failure opened it, or the event was its probe), the event is held instead
   * of retried: its attempt is withdrawn, so that no event reaches the DLQ while the breaker is
   * open. Resolves to whether it was held.
   */
  private async holdIfBroken(event: ClaimedEvent, err: unknown): Promise<boolean> {
    const state = await this.countFailure(event, err)
    if (!state?.open || !state.openUntil) return false
    await this.hold([{ event, hold: { reason: 'breaker', until: state.openUntil, route: state.route }, failure: this.heldFailure(event, err) }])
    return true
  }

  /** The failure of a held event, as its issue counts it. */
  private heldFailure(event: ClaimedEvent, err: unknown): HeldFailure {
    return { message: describeError(err).message, fingerprint: fingerprintFailure(failureRoute(this.deps.handlers, event), err) }
  }

  /**
   * Queues the waiting events that may run now. Should Redis refuse, their due time (a lease after
   * what they waited for) lets the sweeper dispatch them.
   */
  private wake(events: readonly WakeUp[]): void {
    if (events.length === 0) return
    this.deps.dispatcher.wake(events).catch((err: unknown) => {
      this.deps.logger.warn({ events: events.length, err: describeError(err).message }, 'wake-up of waiting events failed; the sweeper will dispatch them')
    })
  }

  private async fail(event: ClaimedEvent, err: unknown, permanent: boolean): Promise<'dead' | 'held'> {
    const { attempts, policy, options, metrics, logger, onDeadLetter, onIssue } = this.deps
    const error = describeError(err)
    if (!permanent && (await this.holdIfBroken(event, err))) return 'held'
    const failure = fingerprintFailure(failureRoute(this.deps.handlers, event), err)
    const ageMs = policy.maxRetryAgeMs !== null && !permanent ? await attempts.firstAttemptAgeMs(event) : undefined
    const decision = decideAfterFailure(policy, event.attempt, permanent, retryAfterMsOf(err), undefined, ageMs)
    const log = logger.child({ eventId: event.id, provider: event.provider, type: event.type, attempt: event.attempt })
    if (decision.action === 'retry') {
      // The sweeper may take over if Redis loses the delayed job: give it the delay plus a lease.
      const { issue } = await attempts.recordFailure(event, 'failed', error, decision.delayMs + options.lockDurationMs, failure)
      await noticeIssue(onIssue, issue, failure, publicEvent(event), log)
      metrics.retried.inc({ provider: event.provider })
      log.warn({ err: error.message, retryInMs: decision.delayMs }, 'handler failed; retry scheduled')
      throw new RetryScheduledError(error.message, decision.delayMs)
    }
    const { recorded, wake, issue } = await attempts.recordFailure(event, 'dead', error, 0, failure)
    this.wake(wake)
    await noticeIssue(onIssue, issue, failure, publicEvent(event), log)
    if (recorded) {
      metrics.dead.inc({ provider: event.provider })
      log.error({ err: error.message }, 'event dead-lettered')
      try {
        await onDeadLetter?.(publicEvent(event), error)
      } catch (hookErr) {
        log.error({ err: describeError(hookErr).message }, 'onDeadLetter hook failed')
      }
    }
    return 'dead'
  }
}

/**
 * Whether a handler's failure in a shared transaction says something of its downstream: not a
 * `PermanentError`, and not the database refusing every statement after another handler's failed
 * (SQLSTATE 25P02), which says nothing of this one.
 */
function countsAgainstBreaker(err: unknown): boolean {
  if (isPermanentError(err)) return false
  for (let cause = err, depth = 0; cause instanceof Error && depth < 5; cause = cause.cause, depth++) {
    const code = (cause as { code?: unknown }).code
    if (code === '25P02' || cause.message.includes('current transaction is aborted')) return false
  }
  return true
}

/**
 * The downstream an unnamed failure counts against: the one the handler declares. With several,
 * which one failed is unknown, and the failure counts against the handler's own route.
 */
function soleDownstream(declared: readonly string[]): string | undefined {
  return declared.length === 1 ? declared[0] : undefined
}

/** Message and stack of anything thrown (handlers may throw non-Errors). */
function describeError(err: unknown): { message: string; stack: string | null } {
  if (err instanceof Error) return { message: `${err.name}: ${err.message}`, stack: err.stack ?? null }
  return { message: String(err), stack: null }
}

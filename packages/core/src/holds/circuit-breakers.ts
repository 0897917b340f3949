/**
 * @module The circuit breakers' shared state, in Redis: every worker process reads and changes it
 * with one atomic script per batch, failure or success.
 */
import { createHash } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { WakeUp } from '../store/attempts.ts'
import type { BreakerOptions, BreakerState } from './breaker-options.ts'

/**
 * Runs `script` by its SHA1 (`EVALSHA`), loading it with `EVAL` only when Redis does not know it
 * (first use, or after a restart): each batch then sends a hash instead of the script's text.
 */
async function runScript(redis: Redis, script: string, args: (string | number)[]): Promise<unknown> {
  const sha = createHash('sha1').update(script).digest('hex')
  try {
    return await redis.evalsha(sha, 0, ...args)
  } catch (err) {
    if (!String((err as Error).message).startsWith('NOSCRIPT')) throw err
    return redis.eval(script, 0, ...args)
  }
}

/**
 * Checks a batch. ARGV: base, now, probe lease, then per event its id, its route, the number of
 * downstreams its handler declares and their names. Per event: the time it
 * is held until (0: it runs) and the breaker holding it. An open breaker past its cool-down lets its
 * first event through as the probe (half-open); while the probe runs, others are held until the
 * probe's lease ends. Held events are registered for release by REMEMBER, once their hold is
 * written.
 */
const CHECK = `
local base, now, lease = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local out = {}
local i = 4
while i <= #ARGV do
  local id, route, declared = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  local keys = redis.call('SMEMBERS', base .. ':uses:' .. route)
  table.insert(keys, route)
  for j = 1, declared do table.insert(keys, ARGV[i + 2 + j]) end
  i = i + 3 + declared
  local holdUntil, holdKey, probes = 0, '', {}
  for _, key in ipairs(keys) do
    local st = redis.call('HMGET', base .. ':r:' .. key, 'state', 'openUntil', 'probe', 'probeUntil')
    local state, openUntil, probe, probeUntil = st[1], tonumber(st[2] or '0'), st[3], tonumber(st[4] or '0')
    local till = 0
    if state == 'open' and now < openUntil then till = openUntil
    elseif (state == 'open') or (state == 'half_open' and probe ~= id and now >= probeUntil) then table.insert(probes, key)
    elseif state == 'half_open' and probe ~= id then till = probeUntil end
    if till > holdUntil then holdUntil, holdKey = till, key end
  end
  if holdUntil == 0 then
    for _, key in ipairs(probes) do
      redis.call('HSET', base .. ':r:' .. key, 'state', 'half_open', 'probe', id, 'probeUntil', now + lease)
    end
  end
  table.insert(out, tostring(holdUntil))
  table.insert(out, holdKey)
end
return out`

/**
 * Registers held events for release when their breaker closes, and counts them by provider. ARGV:
 * base, then (event id, waits, breaker, provider) quadruples. Returns the (id, waits) pairs of
 * those whose breaker is closed already (it closed between the check and now, or Redis lost it):
 * they may run at once.
 */
const REMEMBER = `
local base = ARGV[1]
local out = {}
for i = 2, #ARGV, 4 do
  local id, waits, key, provider = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local state = redis.call('HGET', base .. ':r:' .. key, 'state')
  if state == 'open' or state == 'half_open' then
    if redis.call('HSET', base .. ':holding:' .. key, id, waits) == 1 then
      redis.call('HINCRBY', base .. ':holdingCount:' .. key, provider, 1)
    end
  else
    table.insert(out, id)
    table.insert(out, waits)
  end
end
return out`

/**
 * Counts a transient failure. ARGV: base, key, now, failures, cool-down, max cool-down, route (when
 * the key is a downstream the route called). Returns state, openUntil and 1 when this failure
 * opened the breaker.
 */
const FAIL = `
local base, key, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local threshold, cooldown, maxCooldown = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local h = base .. ':r:' .. key
redis.call('SADD', base .. ':routes', key)
if ARGV[7] ~= '' then redis.call('SADD', base .. ':uses:' .. ARGV[7], key) end
local st = redis.call('HMGET', h, 'state', 'openUntil', 'cooldownMs')
local state, openUntil, current = st[1] or 'closed', tonumber(st[2] or '0'), tonumber(st[3] or '0')
local failures = redis.call('HINCRBY', h, 'failures', 1)
if state == 'open' and now < openUntil then return {'open', tostring(openUntil), 0} end
if state ~= 'closed' then
  local next = math.min(math.max(current, cooldown) * 2, maxCooldown)
  redis.call('HSET', h, 'state', 'open', 'openUntil', now + next, 'cooldownMs', next)
  redis.call('HDEL', h, 'probe', 'probeUntil')
  return {'open', tostring(now + next), 1}
end
if failures >= threshold then
  redis.call('HSET', h, 'state', 'open', 'openUntil', now + cooldown, 'cooldownMs', cooldown)
  return {'open', tostring(now + cooldown), 1}
end
return {'closed', '0', 0}`

/**
 * Counts successes. ARGV: base, then routes. Resets each route's (and its downstreams') failure
 * count; a half-open breaker closes. Returns the (id, waits) pairs of the events its breakers held,
 * to release.
 */
const SUCCEED = `
local base = ARGV[1]
local released = {}
for i = 2, #ARGV do
  local keys = redis.call('SMEMBERS', base .. ':uses:' .. ARGV[i])
  table.insert(keys, ARGV[i])
  for _, key in ipairs(keys) do
    local h = base .. ':r:' .. key
    local state = redis.call('HGET', h, 'state')
    if state == 'half_open' then
      redis.call('HSET', h, 'state', 'closed', 'failures', 0, 'cooldownMs', 0)
      redis.call('HDEL', h, 'openUntil', 'probe', 'probeUntil')
      for _, v in ipairs(redis.call('HGETALL', base .. ':holding:' .. key)) do table.insert(released, v) end
      redis.call('DEL', base .. ':holding:' .. key, base .. ':holdingCount:' .. key)
    elseif state ~= 'open' then
      local failures = redis.call('HGET', h, 'failures')
      if failures and failures ~= '0' then redis.call('HSET', h, 'failures', 0) end
    end
  end
end
return released`

/** `[id, waits, id, waits, …]` as a script returns it. */
function pairs(flat: readonly string[]): WakeUp[] {
  const out: WakeUp[] = []
  for (let i = 0; i < flat.length; i += 2) out.push({ id: flat[i]!, waits: Number(flat[i + 1]) })
  return out
}

/** A held event: until when, and by which breaker. */
export interface BreakerHold {
  until: Date
  route: string
}

/**
 * Per-route circuit breakers shared by every process of a deployment. The state lives in Redis
 * rather than Postgres: every batch consults it, which must cost one round trip and no row lock
 * or write in the inbox's database, and it is the kind of state Redis can lose without harm — a
 * lost breaker is a closed one, so its events simply run (and fail, and retry) as without a
 * breaker, while the inbox in Postgres keeps every event and its due time.
 *
 * @example
 * const breakers = new CircuitBreakers(redis, 'hookline:events', DEFAULT_BREAKER_OPTIONS)
 * const holds = await breakers.check([{ id, route: 'stripe:*' }], 30_000)
 */
export class CircuitBreakers {
  constructor(
    private readonly redis: Redis,
    /** Prefix of every key (the queue's, so that tests and environments stay apart). */
    private readonly base: string,
    private readonly options: BreakerOptions,
    /** The clock (injectable for tests); every process's should agree within a cool-down's margin. */
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Which of `events` an open breaker holds (its route's, a downstream's it called before, or one
   * of the `downstreams` its handler declares); a breaker past its cool-down takes its first event
   * as probe.
   */
  async check(events: readonly { id: string; route: string; downstreams?: readonly string[] }[], probeLeaseMs: number): Promise<Map<string, BreakerHold>> {
    const holds = new Map<string, BreakerHold>()
    if (events.length === 0) return holds
    const args = events.flatMap((e) => [e.id, e.route, e.downstreams?.length ?? 0, ...(e.downstreams ?? [])])
    const out = (await runScript(this.redis, CHECK, [this.base, this.now(), probeLeaseMs, ...args])) as string[]
    events.forEach((event, i) => {
      const until = Number(out[2 * i])
      if (until > 0) holds.set(event.id, { until: new Date(until), route: out[2 * i + 1]! })
    })
    return holds
  }

  /**
   * Registers held events (`route`: the breaker holding each, `waits`: its hold's number) to be
   * released when their breaker closes; returns those whose breaker is closed already, to run now.
   * Call it only once the holds are written in the inbox: an event released earlier could be
   * claimed again while its hold is still being written, and that write would undo the claim.
   */
  async remember(held: readonly (WakeUp & { route: string; provider: string })[]): Promise<WakeUp[]> {
    if (held.length === 0) return []
    const args = held.flatMap((h) => [h.id, h.waits, h.route, h.provider])
    return pairs((await runScript(this.redis, REMEMBER, [this.base, ...args])) as string[])
  }

  /**
   * Counts a transient failure of `route` (or of `downstream`, which `route` is then known to call);
   * returns the breaker's state after it, and whether this failure opened it.
   */
  async fail(route: string, downstream: string | undefined): Promise<{ route: string; open: boolean; openUntil: Date | null; opened: boolean }> {
    const key = downstream ?? route
    const { failures, cooldownMs, maxCooldownMs } = this.options
    const [state, until, opened] = (await runScript(this.redis, FAIL, [this.base, key, this.now(), failures, cooldownMs, maxCooldownMs, downstream ? route : ''])) as [string, string, number]
    return { route: key, open: state === 'open', openUntil: state === 'open' ? new Date(Number(until)) : null, opened: opened === 1 }
  }

  /** Counts successes of `routes`; returns the events held by the breakers that closed, to release. */
  async succeed(routes: readonly string[]): Promise<WakeUp[]> {
    if (routes.length === 0) return []
    return pairs((await runScript(this.redis, SUCCEED, [this.base, ...routes])) as string[])
  }

  /**
   * The breakers an event of `route` is subject to: its own, those of the downstreams it has
   * failed against and those its handler declares (`downstreams`).
   */
  async keysOf(route: string, downstreams: readonly string[] = []): Promise<string[]> {
    const called = new Set([...(await this.redis.smembers(`${this.base}:uses:${route}`)), ...downstreams])
    return [route, ...[...called].sort()]
  }

  /**
   * The events registered with each breaker that is not closed, by provider: those it holds now
   * (an event finished meanwhile by other means, ignored say, stays counted until it closes).
   * One round trip per breaker that ever counted a failure, whatever the number of events.
   */
  async heldCounts(): Promise<{ route: string; provider: string; count: number }[]> {
    const routes = (await this.redis.smembers(`${this.base}:routes`)).sort()
    if (routes.length === 0) return []
    const pipeline = this.redis.pipeline()
    for (const route of routes) pipeline.hget(`${this.base}:r:${route}`, 'state').hgetall(`${this.base}:holdingCount:${route}`)
    const results = (await pipeline.exec()) ?? []
    return routes.flatMap((route, i) => {
      const state = results[2 * i]?.[1]
      if (state !== 'open' && state !== 'half_open') return []
      const counts = (results[2 * i + 1]?.[1] ?? {}) as Record<string, string>
      return Object.entries(counts).map(([provider, count]) => ({ route, provider, count: Number(count) }))
    })
  }

  /** Every breaker that has counted a failure, by route. */
  async list(): Promise<BreakerState[]> {
    const routes = (await this.redis.smembers(`${this.base}:routes`)).sort()
    if (routes.length === 0) return []
    const pipeline = this.redis.pipeline()
    for (const route of routes) pipeline.hgetall(`${this.base}:r:${route}`)
    const results = (await pipeline.exec()) ?? []
    return routes.map((route, i) => {
      const h = (results[i]?.[1] ?? {}) as Record<string, string>
      const state = h.state === 'open' || h.state === 'half_open' ? h.state : 'closed'
      return { route, state, failures: Number(h.failures ?? 0), openUntil: state === 'open' && h.openUntil ? new Date(Number(h.openUntil)) : null, cooldownMs: Number(h.cooldownMs ?? 0) }
    })
  }
}

/**
 * @module The grouping state of alerts in Redis, shared by every process of a service: the
 * occurrences of one kind and provider gathered since its last alert, and whether one was sent
 * within the digest period. Each step is one Lua script, so that concurrent processes agree.
 */
import type { Redis } from 'ioredis'

/** Adds an occurrence; returns 1 when it opens a window (its caller schedules the flush). */
const RECORD = `
redis.call('HINCRBY', KEYS[1], 'count', ARGV[1])
redis.call('HSETNX', KEYS[1], 'sample', ARGV[2])
local ids = cjson.decode(ARGV[3])
local room = tonumber(ARGV[4]) - redis.call('LLEN', KEYS[2])
for i = 1, math.min(room, #ids) do redis.call('RPUSH', KEYS[2], ids[i]) end
local opened = redis.call('HSETNX', KEYS[1], 'state', 'open')
if opened == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[5]) end
redis.call('PEXPIRE', KEYS[2], ARGV[5])
return opened`

/**
 * Takes what was gathered: nothing (the window closes), or the count, first occurrence, whether it
 * is a digest, and the ids; the window then stays open as a digest period of `ARGV[1]` ms.
 */
const TAKE = `
local count = tonumber(redis.call('HGET', KEYS[1], 'count') or '0')
if count == 0 then redis.call('DEL', KEYS[1], KEYS[2]) return false end
local sample = redis.call('HGET', KEYS[1], 'sample')
local digest = redis.call('HGET', KEYS[1], 'state') == 'digest' and 1 or 0
local ids = redis.call('LRANGE', KEYS[2], 0, -1)
redis.call('DEL', KEYS[2])
redis.call('HDEL', KEYS[1], 'count', 'sample')
redis.call('HSET', KEYS[1], 'state', 'digest')
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return {count, sample, digest, cjson.encode(ids)}`

/** Counts one signature rejection in the current minute; returns the count of the last 5 minutes. */
const COUNT_REJECTION = `
local minute = tonumber(ARGV[1])
redis.call('INCR', KEYS[1] .. minute)
redis.call('PEXPIRE', KEYS[1] .. minute, 360000)
local sum = 0
for m = minute - 4, minute do sum = sum + tonumber(redis.call('GET', KEYS[1] .. m) or '0') end
return sum`

/** What a window gathered. */
export interface Gathered {
  count: number
  /** The first occurrence's JSON. */
  sample: string
  digest: boolean
  ids: string[]
}

/** Reads and writes the grouping state under `<prefix>:alerts:`. */
export class AlertWindows {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  /** Adds an occurrence to the window of `group`; true when it opened the window. */
  async record(group: string, count: number, sample: string, ids: readonly string[], maxIds: number, ttlMs: number): Promise<boolean> {
    const opened = await this.redis.eval(RECORD, 2, this.key(group), this.key(`${group}:ids`), count, sample, JSON.stringify(ids), maxIds, ttlMs)
    return opened === 1
  }

  /** Takes what the window of `group` gathered, or undefined (the window is closed). */
  async take(group: string, ttlMs: number): Promise<Gathered | undefined> {
    const result = (await this.redis.eval(TAKE, 2, this.key(group), this.key(`${group}:ids`), ttlMs)) as [number, string, number, string] | null
    if (!result) return undefined
    const [count, sample, digest, ids] = result
    // cjson encodes an empty table as an object.
    const parsed = JSON.parse(ids) as string[] | Record<string, never>
    return { count, sample, digest: digest === 1, ids: Array.isArray(parsed) ? parsed : [] }
  }

  /** Counts a signature rejection of `provider`; resolves to its count over the last 5 minutes. */
  async countRejection(provider: string, now: Date): Promise<number> {
    return (await this.redis.eval(COUNT_REJECTION, 1, this.key(`rejections:${provider}:`), Math.floor(now.getTime() / 60_000))) as number
  }

  private key(name: string): string {
    return `${this.prefix}:alerts:${name}`
  }
}

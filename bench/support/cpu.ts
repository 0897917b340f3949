/**
 * @module Where the CPU went during a measured case, read from Linux's `/proc`: the target
 * process (all its threads), its main thread's time on a core and its time **waiting for one**
 * (`schedstat`), a worker process of the target's when it has one, Postgres and Redis together,
 * the load generator, and the machine as a whole. A
 * target whose main thread runs plus waits close to one core is bound by its event loop; the wait
 * is what the other processes on the same cores cost it. The machine's steal is the share of its
 * cores' time the hypervisor gave to other guests (a VM's noisy neighbours). Elsewhere than Linux
 * there is no sample.
 */
import { readdir, readFile } from 'node:fs/promises'

/** CPU counters at one instant. */
export interface CpuSample {
  /** `process.hrtime.bigint()` when taken. */
  at: bigint
  /** Ticks (`USER_HZ`) of each watched process, all threads; the services' by pid. */
  ticks: { target: number; worker: number; load: number; services: Map<number, { comm: string; used: number }> }
  /** The target's main thread: nanoseconds on a core and waiting in a run queue. */
  mainRunNs: number
  mainWaitNs: number
  /** The machine: busy, stolen (by the hypervisor; counted in busy too) and total ticks over every core. */
  machineBusy: number
  machineSteal: number
  machineTotal: number
}

/** Cores used between two samples (1 = one core for the whole interval). */
export interface CpuUse {
  /** The target process, all threads (event loop, garbage collector, libuv pool). */
  target: number
  /** The target's main thread on a core. */
  mainRun: number
  /** The target's main thread runnable but waiting for a core. */
  mainWait: number
  /** The target's worker process, all threads (0 without one). */
  worker: number
  /** Every `postgres` and `redis-server` process. */
  services: number
  /** Every `postgres` process (absent from older runs). */
  postgres?: number
  /** Every `redis-server` process (absent from older runs). */
  redis?: number
  /** The load generator process. */
  load: number
  /** Share of all cores busy (0–1). */
  machineBusy: number
  /** Share of all cores' time stolen by the hypervisor (0–1). */
  machineSteal: number
}

/** Ticks per second of `/proc/<pid>/stat` and `/proc/stat` (`USER_HZ`, 100 on Linux). */
const TICKS_PER_SECOND = 100
/** Process names counted as the services Hookline stores into. */
const SERVICES = new Set(['postgres', 'redis-server'])

/** `[comm, utime + stime]` of one process, or undefined if it is gone. */
async function processTicks(pid: number): Promise<[string, number] | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined)
  if (!stat) return undefined
  const close = stat.lastIndexOf(')')
  const fields = stat.slice(close + 2).split(' ')
  return [stat.slice(stat.indexOf('(') + 1, close), Number(fields[11]) + Number(fields[12])]
}

/**
 * Reads the counters of `targetPid`, `loadPid`, `workerPid` (a worker process of the target's, if
 * any), the services and the machine; undefined where `/proc` is not there.
 *
 * @example
 * const before = await sampleCpu(server.pid, load.pid)
 * // … the case runs …
 * const use = cpuBetween(before, await sampleCpu(server.pid, load.pid))
 */
export async function sampleCpu(targetPid: number, loadPid: number, workerPid?: number): Promise<CpuSample | undefined> {
  const [machine, schedstat, pids] = await Promise.all([
    readFile('/proc/stat', 'utf8').catch(() => undefined),
    readFile(`/proc/${targetPid}/task/${targetPid}/schedstat`, 'utf8').catch(() => undefined),
    readdir('/proc').catch(() => [] as string[]),
  ])
  if (!machine || !schedstat) return undefined
  // cpu  user nice system idle iowait irq softirq steal …: idle and iowait are not busy.
  const cpu = machine.split('\n', 1)[0]!.split(/\s+/).slice(1, 9).map(Number)
  const total = cpu.reduce((sum, n) => sum + n, 0)
  const [mainRunNs, mainWaitNs] = schedstat.split(' ').map(Number)
  const ticks = { target: 0, worker: 0, load: 0, services: new Map<number, { comm: string; used: number }>() }
  await Promise.all(
    pids
      .filter((entry) => /^\d+$/.test(entry))
      .map(async (entry) => {
        const pid = Number(entry)
        const found = await processTicks(pid)
        if (!found) return
        const [comm, used] = found
        if (pid === targetPid) ticks.target = used
        else if (pid === loadPid) ticks.load = used
        else if (pid === workerPid) ticks.worker = used
        else if (SERVICES.has(comm)) ticks.services.set(pid, { comm, used })
      }),
  )
  return { at: process.hrtime.bigint(), ticks, mainRunNs: mainRunNs!, mainWaitNs: mainWaitNs!, machineBusy: total - cpu[3]! - cpu[4]!, machineSteal: cpu[7]!, machineTotal: total }
}

/**
 * Cores used between two samples of the same processes. A service process that started in
 * between counts all its ticks; one that exited, none of that interval (its last ticks are gone).
 */
export function cpuBetween(before: CpuSample | undefined, after: CpuSample | undefined): CpuUse | undefined {
  if (!before || !after) return undefined
  const seconds = Number(after.at - before.at) / 1e9
  const cores = (ticks: number) => ticks / TICKS_PER_SECOND / seconds
  const byName = { postgres: 0, 'redis-server': 0 } as Record<string, number>
  for (const [pid, { comm, used }] of after.ticks.services) byName[comm] = (byName[comm] ?? 0) + used - (before.ticks.services.get(pid)?.used ?? 0)
  const services = byName.postgres! + byName['redis-server']!
  return {
    target: cores(after.ticks.target - before.ticks.target),
    mainRun: (after.mainRunNs - before.mainRunNs) / 1e9 / seconds,
    mainWait: (after.mainWaitNs - before.mainWaitNs) / 1e9 / seconds,
    worker: cores(after.ticks.worker - before.ticks.worker),
    services: cores(services),
    postgres: cores(byName.postgres!),
    redis: cores(byName['redis-server']!),
    load: cores(after.ticks.load - before.ticks.load),
    machineBusy: (after.machineBusy - before.machineBusy) / Math.max(1, after.machineTotal - before.machineTotal),
    machineSteal: (after.machineSteal - before.machineSteal) / Math.max(1, after.machineTotal - before.machineTotal),
  }
}

/** The mean of several intervals' use, each weighted by its length in seconds. */
export function meanCpu(uses: ReadonlyArray<{ cpu?: CpuUse | undefined; seconds: number }>): CpuUse | undefined {
  const known = uses.filter((u): u is { cpu: CpuUse; seconds: number } => u.cpu !== undefined)
  const seconds = known.reduce((sum, u) => sum + u.seconds, 0)
  if (known.length === 0 || seconds === 0) return undefined
  const mean = (key: keyof CpuUse) => known.reduce((sum, u) => sum + (u.cpu[key] ?? 0) * u.seconds, 0) / seconds
  return {
    target: mean('target'),
    mainRun: mean('mainRun'),
    mainWait: mean('mainWait'),
    worker: mean('worker'),
    services: mean('services'),
    postgres: mean('postgres'),
    redis: mean('redis'),
    load: mean('load'),
    machineBusy: mean('machineBusy'),
    machineSteal: mean('machineSteal'),
  }
}

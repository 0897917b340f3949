/**
 * Under `pnpm start`, the worker process runs at a lower CPU priority than the ingress: every
 * thread of it has the niceness `HOOKLINE_WORKER_NICE` sets (10 by default), the ingress keeps 0,
 * and the worker still processes what the ingress stores. Linux only (`/proc`).
 */
import { readdirSync, readFileSync } from 'node:fs'
import type { PrismaClient } from '@hookline/db'
import { signedStripeDelivery, STRIPE_TEST_SECRET, stripeEvent, waitFor } from '@hookline/testkit'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { StartedService } from './support/service-launcher.ts'
import { type ServiceSandbox, startServiceSandbox } from './support/service-sandbox.ts'

let sandbox: ServiceSandbox
let prisma: PrismaClient
let service: StartedService

beforeAll(async () => {
  sandbox = await startServiceSandbox()
  ;({ prisma, service } = sandbox)
}, 60_000)

afterAll(() => sandbox?.stop())

/** The pid the supervisor logged for its `role` process. */
function pidOf(role: 'ingress' | 'worker'): number {
  const match = new RegExp(`"${role}Pid":(\\d+)`).exec(service.output())
  if (!match) throw new Error(`no ${role} pid in the output:\n${service.output()}`)
  return Number(match[1])
}

/** The niceness of every thread of `pid` (field 19 of each thread's `stat`). */
function threadNiceness(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])
  })
}

it('runs every thread of the worker process at niceness 10 and the ingress at 0, and processes events', async () => {
  await waitFor(async () => service.output().includes('worker started'), { what: `the worker to start:\n${service.output()}` })
  const worker = threadNiceness(pidOf('worker'))
  expect(worker.length).toBeGreaterThan(1)
  expect(new Set(worker)).toEqual(new Set([10]))
  expect(new Set(threadNiceness(pidOf('ingress')))).toEqual(new Set([0]))
  expect(service.output()).toMatch(/"niceness":10[,}][^\n]*"msg":"worker started"/)

  const event = stripeEvent({ type: 'invoice.paid' })
  const { body, headers } = signedStripeDelivery(event, { secret: STRIPE_TEST_SECRET })
  const res = await fetch(`${service.url}/webhooks/stripe`, { method: 'POST', body, headers })
  expect(res.status).toBe(200)
  await waitFor(
    async () => (await prisma.$queryRawUnsafe<{ status: string }[]>(`SELECT status::text FROM hookline.hookline_events WHERE event_key = $1`, event.id))[0]?.status === 'processed',
    { what: 'the event to be processed' },
  )
})

/**
 * A downstream outage at full volume, through the service as a user runs it: 500 events arrive
 * while the CRM their handler declares is down for 90 s, with `HOOKLINE_MAX_ATTEMPTS=3`. Its breaker opens
 * (the admin API shows it), the CRM then sees only one probe per cool-down, no event is
 * dead-lettered, and after the recovery every event is processed once.
 */
import type { PrismaClient } from '@hookline/db'
import { signedStripeDelivery, stripeEvent, waitFor } from '@hookline/testkit'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { StartedService } from './support/service-launcher.ts'
import { type ServiceSandbox, startServiceSandbox } from './support/service-sandbox.ts'

const EVENTS = 500
const TOKEN = 'breaker-outage-admin-token-0123456789'
/** Kept short so that several probes fail while the CRM is down (at most one per cool-down). */
const COOLDOWN_MS = 2000
/** The outage lasts at least this long. */
const OUTAGE_MS = 90_000

let sandbox: ServiceSandbox
let prisma: PrismaClient
let service: StartedService

beforeAll(async () => {
  sandbox = await startServiceSandbox({
    HOOKLINE_HANDLERS: 'test/fixtures/crm-handlers.mjs',
    HOOKLINE_ADMIN_TOKEN: TOKEN,
    HOOKLINE_MAX_ATTEMPTS: '3',
    HOOKLINE_BACKOFF_MS: '200',
    HOOKLINE_BREAKER_FAILURES: '5',
    HOOKLINE_BREAKER_COOLDOWN_MS: String(COOLDOWN_MS),
    HOOKLINE_BREAKER_MAX_COOLDOWN_MS: String(COOLDOWN_MS),
  })
  ;({ prisma, service } = sandbox)
  // The handlers read and write these; no event arrives before they exist.
  await prisma.$executeRawUnsafe(`CREATE TABLE crm_status (up boolean NOT NULL)`)
  await prisma.$executeRawUnsafe(`INSERT INTO crm_status VALUES (false)`)
  await prisma.$executeRawUnsafe(`CREATE TABLE crm_calls (id bigserial PRIMARY KEY, event_id uuid NOT NULL, up boolean NOT NULL)`)
  await prisma.$executeRawUnsafe(`CREATE TABLE effects (event_id uuid NOT NULL)`)
}, 90_000)

afterAll(() => sandbox?.stop())

const count = async (sql: string): Promise<number> => (await prisma.$queryRawUnsafe<{ n: number }[]>(sql))[0]!.n

async function crmBreaker(): Promise<{ route: string; state: string; failures: number } | undefined> {
  const res = await fetch(`${service.url}/admin/api/breakers`, { headers: { authorization: `Bearer ${TOKEN}` } })
  expect(res.status).toBe(200)
  const { breakers } = (await res.json()) as { breakers: { route: string; state: string; failures: number }[] }
  return breakers.find((b) => b.route === 'crm')
}

/** The value of one sample of the service's `/metrics` (0 when absent). */
async function metric(sample: string): Promise<number> {
  const text = await (await fetch(`${service.url}/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `))
  return line ? Number(line.slice(sample.length + 1)) : 0
}

const OPENED = 'hookline_breaker_opened_total{route="crm"}'

it('holds 500 events through a CRM outage with only probes reaching it, none dead, then processes each once', async () => {
  expect(service.output()).toContain('handlers loaded from test/fixtures/crm-handlers.mjs: stripe:invoice.paid')
  const outageStart = Date.now()
  const ids: string[] = []
  const send = async (): Promise<void> => {
    while (ids.length < EVENTS) {
      ids.push('')
      const slot = ids.length - 1
      const { body, headers } = signedStripeDelivery(stripeEvent({ type: 'invoice.paid' }))
      const res = await fetch(`${service.url}/webhooks/stripe`, { method: 'POST', body, headers })
      expect(res.status).toBe(200)
      ids[slot] = ((await res.json()) as { id: string }).id
    }
  }
  await Promise.all(Array.from({ length: 10 }, send))
  expect(new Set(ids).size).toBe(EVENTS)

  const open = await waitFor(async () => {
    const breaker = await crmBreaker()
    return breaker?.state === 'open' ? breaker : undefined
  }, { what: 'the crm breaker open in the admin API', timeoutMs: 60_000 })
  expect(open.failures).toBeGreaterThanOrEqual(5)

  // Once every event has been held at least once, nothing claimed before the breaker opened is
  // still running: from here on the CRM may see probes only.
  await waitFor(
    async () => (await count(`SELECT count(*)::int AS n FROM hookline.hookline_events e JOIN hookline.hookline_due_events d ON d.event_id = e.id
                               WHERE e.status IN ('received', 'failed') AND d.waits > 0`)) === EVENTS,
    { what: 'every event held', timeoutMs: 90_000 },
  )
  const callsBefore = await count(`SELECT count(*)::int AS n FROM crm_calls`)
  const openedBefore = await metric(OPENED)
  expect(await metric('hookline_events_held{provider="stripe",reason="breaker"}')).toBe(EVENTS)
  // Several cool-downs, each ended by one failed probe, and at least the outage's length.
  await waitFor(async () => (await metric(OPENED)) - openedBefore >= 5 && Date.now() - outageStart >= OUTAGE_MS, { what: 'five failed probes', timeoutMs: OUTAGE_MS + 60_000 })
  const callsWhileOpen = (await count(`SELECT count(*)::int AS n FROM crm_calls`)) - callsBefore
  const probes = (await metric(OPENED)) - openedBefore
  // Each failed probe reopened the breaker; one more may be running at the moment of reading.
  expect(callsWhileOpen).toBeGreaterThanOrEqual(probes)
  expect(callsWhileOpen).toBeLessThanOrEqual(probes + 1)
  expect((await crmBreaker())?.state).not.toBe('closed')
  expect(await count(`SELECT count(*)::int AS n FROM hookline.hookline_events WHERE status = 'dead'`)).toBe(0)

  await prisma.$executeRawUnsafe(`UPDATE crm_status SET up = true`)
  await waitFor(async () => (await count(`SELECT count(*)::int AS n FROM hookline.hookline_events WHERE status = 'processed'`)) === EVENTS, {
    what: `every event processed after the recovery:\n${service.output().slice(-3000)}`,
    timeoutMs: 120_000,
  })
  expect(await count(`SELECT count(*)::int AS n FROM hookline.hookline_events WHERE status = 'dead'`)).toBe(0)
  const effects = await prisma.$queryRawUnsafe<{ event_id: string }[]>(`SELECT event_id::text FROM effects`)
  expect(effects).toHaveLength(EVENTS)
  expect(new Set(effects.map((e) => e.event_id))).toEqual(new Set(ids))
  // No event used up its attempts: the outage spent none of them once the breaker was open.
  expect(await count(`SELECT count(*)::int AS n FROM hookline.hookline_events WHERE attempts >= 3`)).toBe(0)
  // Without the breaker each event would have failed three times (and been dead-lettered); with
  // it, about once: its first attempt, in a batch claimed before the breaker opened.
  expect(await count(`SELECT count(*)::int AS n FROM crm_calls WHERE NOT up`)).toBeLessThan(EVENTS * 2)
  expect(await crmBreaker()).toMatchObject({ state: 'closed', failures: 0 })
}, 360_000)

/**
 * @module The adapter conformance suite: one vitest suite that proves any {@link ProviderAdapter}
 * keeps the contract core relies on (signatures over raw bytes, rotation, timestamp window, typed
 * errors, stable event keys). Every adapter's test file calls it with its own fixtures.
 */
import { randomBytes } from 'node:crypto'
import type { ImmediateReply, ParsedEvent, ProviderAdapter, RawRequest } from '@hookline/core'
import { describe, expect, it } from 'vitest'

/** A request as a fixture builds it: the exact body bytes and lower-case header names. */
export interface ConformanceRequest {
  body: string | Buffer
  headers: Record<string, string>
}

/** One valid delivery of the provider and what the adapter must make of it. */
export interface ConformanceFixture {
  name: string
  /**
   * Builds a correctly signed request for this fixture with `secret`, signed at `at` (may be
   * async, for SDKs whose signing helper is).
   */
  request(secret: string, at: Date): ConformanceRequest | Promise<ConformanceRequest>
  /** What parse must return: a subset of ParsedEvent (kind 'event') or the ImmediateReply. */
  expect: Partial<ParsedEvent> | ImmediateReply
}

/** What an adapter's test file hands to {@link describeAdapterConformance}. */
export interface AdapterConformanceKit<V = unknown> {
  /** Builds the adapter under test accepting these secrets (first = primary), tolerance in seconds where the provider signs a time. */
  createAdapter(secrets: string[]): ProviderAdapter<V>
  /** Valid fixtures (several event types; include protocol replies such as challenges where the provider has them). */
  fixtures: ConformanceFixture[]
  /** Headers whose absence must make verify throw SignatureError (lower-case). */
  signatureHeaders: string[]
  /** Present when the provider signs a timestamp: the tolerance in seconds the adapter was created with. Stale and future timestamps beyond it must be refused. */
  timestampToleranceSeconds?: number
  /** Correctly signed requests whose body is malformed: verify or parse must throw MalformedPayloadError or UnsupportedMediaTypeError (never an untyped error). */
  malformed: { name: string; request(secret: string, at: Date): ConformanceRequest | Promise<ConformanceRequest> }[]
  /** Two signed requests for the same provider event (e.g. a redelivery / a retry with retry headers): parse must yield the same eventKey. */
  redelivery?: { first(secret: string, at: Date): ConformanceRequest | Promise<ConformanceRequest>; second(secret: string, at: Date): ConformanceRequest | Promise<ConformanceRequest> }
}

/** Outcome of verify + parse, with the stage that threw (sync throws included). */
type Outcome =
  | { ok: true; parsed: ParsedEvent | ImmediateReply }
  | { ok: false; stage: 'verify' | 'parse'; error: unknown }

const MALFORMED_NAMES = ['MalformedPayloadError', 'UnsupportedMediaTypeError']

/**
 * Declares the conformance suite for one adapter. Call it at the top level of the adapter's test
 * file; it registers a `describe` block named after the adapter.
 *
 * Secrets are generated per run as `whsec_` + base64, a format every provider accepts (Standard
 * Webhooks needs base64; the others take any string). Requests are signed at the wall clock and
 * handed to `verify` with `receivedAt` = the signing time unless a test moves one of the two:
 * several official SDKs read the wall clock themselves, so a fixed fake date would fail them.
 *
 * What it proves:
 * - every fixture verifies and parses to its `expect` (a partial match; `kind` defaults to `'event'`),
 *   events have a non-empty `eventKey` and `type`, and parse is deterministic;
 * - a body altered by one byte, or with one byte appended, is a `SignatureError`;
 * - a wrong secret is a `SignatureError`; the second of two secrets (rotation) is accepted;
 * - each signature header missing or empty is a `SignatureError` (never a `TypeError`);
 * - with `timestampToleranceSeconds`: signed tolerance + 60 s in the past or the future is a
 *   `SignatureError`, 90 % of the tolerance either way is accepted;
 * - a redelivery parses to the same `eventKey`;
 * - every malformed request throws `MalformedPayloadError` or `UnsupportedMediaTypeError`
 *   (checked by `name`, so duplicate package copies pass), from verify or parse, and nothing else;
 * - `maxBodyBytes` is a positive integer and `name` matches `/^[a-z0-9-]+$/`.
 *
 * @example
 * // packages/acme/src/acme-adapter.test.ts
 * import { describeAdapterConformance, signedAcmeRequest } from '@hookline/testkit'
 * import { acmeAdapter } from './acme-adapter.ts'
 *
 * describeAdapterConformance({
 *   createAdapter: (secrets) => acmeAdapter({ secrets, toleranceSeconds: 300 }),
 *   timestampToleranceSeconds: 300,
 *   signatureHeaders: ['acme-signature', 'acme-timestamp'],
 *   fixtures: [{
 *     name: 'order.created',
 *     request: (secret, at) => signedAcmeRequest({ id: 'ev_1', type: 'order.created' }, { secret, at }),
 *     expect: { kind: 'event', eventKey: 'ev_1', type: 'order.created' },
 *   }],
 *   malformed: [{ name: 'not JSON', request: (secret, at) => signedAcmeRequest('{"id":', { secret, at }) }],
 * })
 */
export function describeAdapterConformance<V>(kit: AdapterConformanceKit<V>): void {
  const primary = conformanceSecret()
  const secondary = conformanceSecret()
  const adapter = kit.createAdapter([primary])
  const rotating = kit.createAdapter([primary, secondary])
  const [firstFixture] = kit.fixtures

  describe(`${adapter.name} adapter conformance`, () => {
    it('has a URL-safe name, a positive body limit and a usable kit', () => {
      expect(adapter.name).toMatch(/^[a-z0-9-]+$/)
      expect(Number.isSafeInteger(adapter.maxBodyBytes) && adapter.maxBodyBytes > 0, `maxBodyBytes = ${adapter.maxBodyBytes}`).toBe(true)
      expect(kit.fixtures.length, 'fixtures').toBeGreaterThan(0)
      expect(kit.signatureHeaders.length, 'signatureHeaders').toBeGreaterThan(0)
      expect(kit.malformed.length, 'malformed').toBeGreaterThan(0)
      if (kit.timestampToleranceSeconds !== undefined) expect(kit.timestampToleranceSeconds).toBeGreaterThan(0)
    })

    describe('valid fixtures', () => {
      for (const fixture of kit.fixtures) {
        it(`${fixture.name}: verifies and parses to its expectation`, async () => {
          const at = wallClock()
          const req = await toRaw(fixture.request(primary, at), at)
          const parsed = expectAccepted(await attempt(adapter, req), fixture.name)
          expect(parsed.kind).toBe(fixture.expect.kind ?? 'event')
          expect(parsed).toMatchObject(fixture.expect)
          if (parsed.kind === 'event') {
            expect(typeof parsed.eventKey === 'string' && parsed.eventKey.length > 0, `eventKey = ${String(parsed.eventKey)}`).toBe(true)
            expect(typeof parsed.type === 'string' && parsed.type.length > 0, `type = ${String(parsed.type)}`).toBe(true)
            if (parsed.occurredAt !== null) expect(Number.isNaN(parsed.occurredAt.getTime()), 'occurredAt is a valid Date').toBe(false)
          }
          // Replays and reconciliation rely on the same bytes always yielding the same identity.
          expect(expectAccepted(await attempt(adapter, await toRaw(fixture.request(primary, at), at)), fixture.name)).toEqual(parsed)
        })
      }
    })

    describe('signatures', () => {
      for (const fixture of kit.fixtures) {
        it(`${fixture.name}: a body altered by one byte is refused`, async () => {
          const at = wallClock()
          const req = await toRaw(fixture.request(primary, at), at)
          expectRefused(await attempt(adapter, { ...req, body: alterOneByte(req.body) }), ['SignatureError'])
        })
      }

      it('a body with one byte appended is refused (the raw bytes are signed, not their parse)', async () => {
        const at = wallClock()
        const req = await toRaw(firstFixture!.request(primary, at), at)
        expectRefused(await attempt(adapter, { ...req, body: Buffer.concat([req.body, Buffer.from(' ')]) }), ['SignatureError'])
      })

      it('a request signed with an unknown secret is refused', async () => {
        const at = wallClock()
        expectRefused(await attempt(adapter, await toRaw(firstFixture!.request(conformanceSecret(), at), at)), ['SignatureError'])
      })

      it('accepts the primary and the second secret during a rotation', async () => {
        const at = wallClock()
        expectAccepted(await attempt(rotating, await toRaw(firstFixture!.request(primary, at), at)), 'primary secret')
        expectAccepted(await attempt(rotating, await toRaw(firstFixture!.request(secondary, at), at)), 'second secret')
      })

      for (const header of kit.signatureHeaders) {
        it(`a missing or empty ${header} header is refused with SignatureError`, async () => {
          const at = wallClock()
          const req = await toRaw(firstFixture!.request(primary, at), at)
          expect(Object.keys(req.headers), `the fixture sends ${header} (header names are lower-case)`).toContain(header)
          const { [header]: _removed, ...without } = req.headers
          expectRefused(await attempt(adapter, { ...req, headers: without }), ['SignatureError'])
          expectRefused(await attempt(adapter, { ...req, headers: { ...req.headers, [header]: '' } }), ['SignatureError'])
        })
      }
    })

    const tolerance = kit.timestampToleranceSeconds
    if (tolerance !== undefined) {
      describe(`signed timestamp window (±${tolerance} s)`, () => {
        // Margins: a minute beyond is unambiguous; 90 % inside leaves room for a slow test run.
        const beyond = tolerance + 60
        const inside = Math.floor(tolerance * 0.9)

        it(`refuses a request signed ${beyond} s in the past`, async () => {
          const now = wallClock()
          expectRefused(await attempt(adapter, await toRaw(firstFixture!.request(primary, shift(now, -beyond)), now)), ['SignatureError'])
        })
        it(`refuses a request signed ${beyond} s in the future`, async () => {
          const now = wallClock()
          expectRefused(await attempt(adapter, await toRaw(firstFixture!.request(primary, shift(now, beyond)), now)), ['SignatureError'])
        })
        it(`accepts requests signed ${inside} s in the past and in the future`, async () => {
          const now = wallClock()
          expectAccepted(await attempt(adapter, await toRaw(firstFixture!.request(primary, shift(now, -inside)), now)), 'inside, past')
          expectAccepted(await attempt(adapter, await toRaw(firstFixture!.request(primary, shift(now, inside)), now)), 'inside, future')
        })
      })
    }

    const redelivery = kit.redelivery
    if (redelivery) {
      it('a redelivery of the same event parses to the same eventKey', async () => {
        const at = wallClock()
        // The retry is signed and received later, as providers do it.
        const later = shift(at, 30)
        const first = expectAccepted(await attempt(adapter, await toRaw(redelivery.first(primary, at), at)), 'first delivery')
        const second = expectAccepted(await attempt(adapter, await toRaw(redelivery.second(primary, later), later)), 'redelivery')
        expect(first.kind).toBe('event')
        expect(second.kind).toBe('event')
        expect((second as ParsedEvent).eventKey).toBe((first as ParsedEvent).eventKey)
      })
    }

    describe('malformed bodies', () => {
      for (const malformed of kit.malformed) {
        it(`${malformed.name}: refused with a typed error`, async () => {
          const at = wallClock()
          expectRefused(await attempt(adapter, await toRaw(malformed.request(primary, at), at)), MALFORMED_NAMES)
        })
      }
    })
  })
}

/** A fresh secret every provider accepts: `whsec_` + base64 (Standard Webhooks decodes it). */
function conformanceSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`
}

/** Now, to the whole second: providers sign Unix seconds. */
function wallClock(): Date {
  return new Date(Math.floor(Date.now() / 1000) * 1000)
}

function shift(at: Date, seconds: number): Date {
  return new Date(at.getTime() + seconds * 1000)
}

async function toRaw(pending: ConformanceRequest | Promise<ConformanceRequest>, receivedAt: Date): Promise<RawRequest> {
  const req = await pending
  return { body: Buffer.from(req.body), headers: { ...req.headers }, receivedAt }
}

/** Runs verify then parse, catching synchronous throws too, and notes which stage failed. */
async function attempt<V>(adapter: ProviderAdapter<V>, req: RawRequest): Promise<Outcome> {
  let verified: V
  try {
    verified = await adapter.verify(req)
  } catch (error) {
    return { ok: false, stage: 'verify', error }
  }
  try {
    return { ok: true, parsed: adapter.parse(verified, req) }
  } catch (error) {
    return { ok: false, stage: 'parse', error }
  }
}

function expectAccepted(outcome: Outcome, what: string): ParsedEvent | ImmediateReply {
  if (!outcome.ok) expect.fail(`${what}: ${outcome.stage} threw ${describeError(outcome.error)}`)
  return outcome.parsed
}

function expectRefused(outcome: Outcome, names: string[]): void {
  if (outcome.ok) expect.fail(`expected ${names.join(' or ')}, but the request was accepted as ${JSON.stringify(outcome.parsed).slice(0, 300)}`)
  const name = outcome.error instanceof Error ? outcome.error.name : undefined
  expect(names, `${outcome.stage} threw ${describeError(outcome.error)}`).toContain(name)
}

function describeError(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : `non-Error ${String(err)}`
}

/**
 * Changes one letter or digit near the middle of the body to its neighbour, so the body keeps its
 * syntax (JSON or form) and only the signature can catch it.
 */
function alterOneByte(body: Buffer): Buffer {
  const copy = Buffer.from(body)
  if (copy.length === 0) return Buffer.from('x')
  const middle = Math.floor(copy.length / 2)
  for (let d = 0; d < copy.length; d++) {
    for (const i of [middle + d, middle - d]) {
      const c = copy[i]
      if (c === undefined) continue
      const next = neighbour(c)
      if (next !== undefined) {
        copy[i] = next
        return copy
      }
    }
  }
  copy[middle] = copy[middle]! ^ 0x01
  return copy
}

function neighbour(c: number): number | undefined {
  const ranges: [number, number][] = [[0x30, 0x39], [0x41, 0x5a], [0x61, 0x7a]]
  for (const [lo, hi] of ranges) if (c >= lo && c <= hi) return c === hi ? lo : c + 1
  return undefined
}

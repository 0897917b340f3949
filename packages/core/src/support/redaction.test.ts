/** Redaction paths: keys, indexes, `*`, headers; any stored shape; bad paths refused. */
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../errors.ts'
import { REDACTED, Redaction } from './redaction.ts'

function redacted(paths: string[], payload: unknown): { payload: unknown; replaced: boolean } {
  const copy = structuredClone(payload)
  const replaced = new Redaction(paths).redactPayload(copy)
  return { payload: copy, replaced }
}

describe('Redaction', () => {
  it('replaces the values at dot paths, objects and lists whole, and leaves the rest', () => {
    const payload = { data: { object: { email: 'ana@example.com', customer: { address: { city: 'Lyon' }, name: 'Ana' }, id: 'cus_1' } } }
    expect(redacted(['data.object.email', 'data.object.customer.address'], payload)).toEqual({
      payload: { data: { object: { email: REDACTED, customer: { address: REDACTED, name: 'Ana' }, id: 'cus_1' } } },
      replaced: true,
    })
  })

  it('matches any one key or index with *, and an index by its number', () => {
    const payload = { data: { object: { sources: [{ card: { last4: '4242' } }, { card: { last4: '1881' }, id: 's2' }], wallets: { a: { card: 1 } } }, items: [{ n: 1 }, { n: 2 }] } }
    expect(redacted(['data.object.*.*.card', 'data.items.1.n'], payload).payload).toEqual({
      data: { object: { sources: [{ card: REDACTED }, { card: REDACTED, id: 's2' }], wallets: { a: { card: REDACTED } } }, items: [{ n: 1 }, { n: REDACTED }] },
    })
    expect(redacted(['*'], [1, 2]).payload).toEqual([REDACTED, REDACTED])
  })

  it('leaves what does not match alone, whatever the payload is', () => {
    for (const payload of ['text', 42, null, true, [], { data: 'not an object' }, { data: { object: null } }]) {
      expect(redacted(['data.object.email', 'data.*.email'], payload)).toEqual({ payload, replaced: false })
    }
  })

  it('replaces a __proto__ key of the payload too, without touching prototypes', () => {
    const payload = JSON.parse('{"a":{"__proto__":{"secret":"s"}}}')
    new Redaction(['a.__proto__']).redactPayload(payload)
    expect(JSON.stringify(payload)).toBe(`{"a":{"__proto__":"${REDACTED}"}}`)
    expect(({} as Record<string, unknown>).secret).toBeUndefined()
  })

  it('walks only along its paths: a payload nested 100 000 levels deep is no harder', () => {
    const deep = JSON.parse(`{"email":"x","a":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}`)
    expect(new Redaction(['email', 'a.a.a.secret']).redactPayload(deep)).toBe(true)
    expect(deep.email).toBe(REDACTED)
  })

  it('redacts headers by name in any case, in a copy', () => {
    const headers = { 'x-forwarded-for': '203.0.113.7', 'stripe-signature': 't=1,v1=…' }
    expect(new Redaction(['header:X-Forwarded-For']).redactHeaders(headers)).toEqual({ 'x-forwarded-for': REDACTED, 'stripe-signature': 't=1,v1=…' })
    expect(headers['x-forwarded-for']).toBe('203.0.113.7')
  })

  it('refuses an empty key, a bad header name, and a path too long', () => {
    for (const path of ['data..email', '', '.data', 'header:', 'header:bad name', Array(65).fill('a').join('.')]) {
      expect(() => new Redaction([path]), path).toThrow(ConfigError)
    }
  })
})

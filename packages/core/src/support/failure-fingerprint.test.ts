/** Failure fingerprints: what varies per event is normalised away, what names a cause is kept. */
import { describe, expect, it } from 'vitest'
import { PermanentError } from '../errors.ts'
import { fingerprintFailure, normaliseMessage } from './failure-fingerprint.ts'

describe('normaliseMessage', () => {
  it.each([
    ['CRM timeout after 3012 ms for cus_9sKf2Lq', 'CRM timeout after <n> ms for <id>'],
    ['event evt_1NqXb2 failed', 'event <id> failed'],
    ['row 0b7e2c1a-9f3d-4c2e-8a1b-5d6e7f809a1b is locked', 'row <uuid> is locked'],
    ['no user ana.lopez+test@example.co.uk', 'no user <email>'],
    ["Cannot read properties of undefined (reading 'email')", 'Cannot read properties of undefined (reading <str>)'],
    ['status "past_due" not allowed', 'status <str> not allowed'],
    ['commit 9fceb02d0ae598e95dc970b74767f19372d61af8 missing, ptr 0x7ffe12', 'commit <hex> missing, ptr <hex>'],
    ['took 1.25 s,\n  retry   in 30', 'took <n> s, retry in <n>'],
  ])('%j → %j', (input, expected) => {
    expect(normaliseMessage(input)).toBe(expected)
  })

  it('keeps words that merely look like identifiers', () => {
    expect(normaliseMessage('invoice_paid handler missing: deadbeef')).toBe('invoice_paid handler missing: deadbeef')
  })

  it('cuts a huge message so that it still groups', () => {
    expect(normaliseMessage(`boom ${'x'.repeat(2000)}`)).toHaveLength(500)
  })
})

describe('fingerprintFailure', () => {
  it('gives failures that differ only in their values one fingerprint', () => {
    const a = fingerprintFailure('stripe:*', new Error('CRM timeout after 3000 ms for cus_1abc'))
    const b = fingerprintFailure('stripe:*', new Error('CRM timeout after 45 ms for cus_99zz'))
    expect(a).toEqual(b)
    expect(a).toMatchObject({ route: 'stripe:*', errorClass: 'Error', message: 'CRM timeout after <n> ms for <id>' })
    expect(a.fingerprint).toMatch(/^[0-9a-f]{16}$/)
  })

  it('tells routes, error classes and messages apart', () => {
    const base = fingerprintFailure('stripe:*', new Error('CRM down'))
    expect(fingerprintFailure('stripe:invoice.paid', new Error('CRM down')).fingerprint).not.toBe(base.fingerprint)
    expect(fingerprintFailure('stripe:*', new TypeError('CRM down')).fingerprint).not.toBe(base.fingerprint)
    expect(fingerprintFailure('stripe:*', new Error('mailer down')).fingerprint).not.toBe(base.fingerprint)
  })

  it('names the class of typed errors and of thrown non-Errors', () => {
    expect(fingerprintFailure('*', new PermanentError('gone')).errorClass).toBe('PermanentError')
    expect(fingerprintFailure('*', 'plain string 42')).toMatchObject({ errorClass: 'NonError', message: 'plain string <n>' })
  })
})

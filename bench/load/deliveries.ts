/**
 * @module Pre-signed deliveries for the load generator: unique events per provider (signed by the
 * testkit with each provider's real signing scheme), about 2 KB each, and the duplicate-storm mix.
 */
import { randomBytes } from 'node:crypto'
import {
  githubIssueOpened,
  signedGithubDelivery,
  signedSlackRequest,
  signedStripeDelivery,
  slackMessageEvent,
  stripeEvent,
  type SignedRequest,
} from '@hookline/testkit'

/** The providers the ingest scenarios send as. */
export type BenchProvider = 'stripe' | 'github' | 'slack'

/** How to build the request sequence of one load run. */
export interface DeliveryMix {
  provider: BenchProvider
  /** Requests in the sequence (the load generator cycles through it if it sends more). */
  count: number
  /**
   * Share of requests that repeat an earlier event of the sequence (same bytes, as a provider
   * retry or a redelivery storm sends them).
   * @defaultValue 0
   */
  duplicateShare?: number
}

/** Makes ids unique across load processes; a counter makes them unique within one (cheaply). */
const RUN = randomBytes(4).toString('hex')
let serial = 0

/**
 * A Stripe `invoice.paid` of about 2 KB: an invoice with line items, as Stripe sends them (the
 * SDK's test signer pretty-prints the body like Stripe does).
 */
function stripeInvoicePaid(): Record<string, unknown> {
  serial += 1
  const lines = Array.from({ length: 3 }, (_, i) => ({
    id: `il_${RUN}${serial.toString(36).padStart(8, '0')}${i}`,
    object: 'line_item',
    amount: 1400,
    currency: 'usd',
    description: `1 × Hookline Pro seat ${i + 1} (at $14.00 / month)`,
    period: { start: 1_767_225_600, end: 1_769_904_000 },
    price: { id: 'price_1HkLnPro', product: 'prod_HkLnPro', unit_amount: 1400 },
    quantity: 1,
  }))
  return stripeEvent({
    type: 'invoice.paid',
    object: { number: `HKL-${RUN}-${serial}`, lines: { object: 'list', data: lines, has_more: false } },
  })
}

async function signedFresh(provider: BenchProvider): Promise<SignedRequest> {
  switch (provider) {
    case 'stripe':
      return signedStripeDelivery(stripeInvoicePaid())
    case 'github':
      return signedGithubDelivery(githubIssueOpened(), { event: 'issues' })
    case 'slack':
      return signedSlackRequest(JSON.stringify(slackMessageEvent()))
  }
}

/**
 * The request sequence of one run: fresh signed events, with `duplicateShare` of the positions
 * replaced by a repeat of a random earlier event (the first position is always fresh).
 *
 * @example
 * const storm = await buildDeliveries({ provider: 'stripe', count: 50_000, duplicateShare: 0.9 })
 */
export async function buildDeliveries(mix: DeliveryMix): Promise<SignedRequest[]> {
  const share = mix.duplicateShare ?? 0
  const sequence: SignedRequest[] = []
  const fresh: SignedRequest[] = []
  for (let i = 0; i < mix.count; i++) {
    if (fresh.length > 0 && Math.random() < share) {
      sequence.push(fresh[Math.floor(Math.random() * fresh.length)]!)
    } else {
      const delivery = await signedFresh(mix.provider)
      fresh.push(delivery)
      sequence.push(delivery)
    }
  }
  return sequence
}

/**
 * @module What the app does with Stripe's events. Each handler writes through `tx`, the app's own
 * Prisma transaction, in which Hookline also writes the event's "processed" mark: either both
 * commit or neither does. So a handler needs no guard against running twice for one event, and a
 * handler that throws half-way leaves nothing behind.
 */
import { type HandlerMap, PermanentError } from '@hookline/core'
import type Stripe from 'stripe'
import type { Prisma } from './db.js'

/** Stripe's id of an expandable field (`customer` is an id unless the event expanded it). */
function idOf(value: string | { id: string } | null): string | null {
  return typeof value === 'string' ? value : (value?.id ?? null)
}

/** The app's handlers, keyed `provider:type` (then `provider:*`, then `*`). */
export const handlers: HandlerMap<Prisma.TransactionClient> = {
  /** A customer created in Stripe (dashboard, checkout, API): known to the app from now on. */
  'stripe:customer.created': async (event, { tx }) => {
    const customer = (event.payload as Stripe.CustomerCreatedEvent).data.object
    await tx.customer.upsert({
      where: { stripeId: customer.id },
      create: { stripeId: customer.id, email: customer.email, name: customer.name ?? null },
      update: { email: customer.email, name: customer.name ?? null },
    })
  },

  /**
   * An invoice paid: the invoice is marked paid and the payment added to its customer's total.
   * `increment` is deliberate: Hookline runs this once per event, however often Stripe delivers it.
   */
  'stripe:invoice.paid': async (event, { tx, log }) => {
    const invoice = (event.payload as Stripe.InvoicePaidEvent).data.object
    const { count } = await tx.invoice.updateMany({
      where: { stripeId: invoice.id },
      data: { status: 'paid', paidAt: new Date(event.occurredAt ?? Date.now()), amountPaid: { increment: invoice.amount_paid } },
    })
    // Retrying cannot make an invoice this app never issued appear: dead-letter it at once.
    if (count === 0) throw new PermanentError(`invoice.paid for unknown invoice ${invoice.id}`)

    const customerId = idOf(invoice.customer)
    if (customerId === null) throw new PermanentError(`invoice ${invoice.id} has no customer`)
    // Throws (Prisma's P2025) when customer.created has not been processed yet: the whole
    // transaction, the invoice's update included, rolls back and Hookline retries with backoff.
    await tx.customer.update({ where: { stripeId: customerId }, data: { totalPaid: { increment: invoice.amount_paid } } })
    log.info({ invoice: invoice.id, amount: invoice.amount_paid }, 'invoice paid')
  },

  /** Every other Stripe event: recorded by Hookline as processed, nothing else. */
  'stripe:*': async () => {},
}

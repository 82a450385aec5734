import type { Kysely } from 'kysely';

/**
 * Migration 0022_payment_closing: why we are closing a payment's waiting trade at its gateway
 * (a QR code nobody paid yet), recorded before the close, as 0017 does for top-ups: the person's
 * cancel (`ORDER_CANCELLED`, with the cancel's note) or their switch to another method
 * (`METHOD_CHANGED`, with the method and gateway the payment goes on with). Whoever then commits
 * the closed trade (the request, the order's pay job, a callback, the repair rules,
 * reconciliation) ends the order as the person asked rather than failing it with the gateway's
 * `TRADE_CLOSED`, so the outcome never depends on which of them commits first.
 * Null on rows we never set out to close. Released: never edit it (a change is the next number).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  for (const column of ['close_reason', 'close_note', 'close_method', 'close_gateway']) {
    await db.schema.alterTable('payments').addColumn(column, 'text').execute();
  }
}

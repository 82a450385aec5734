import type { Kysely } from 'kysely';

/**
 * Migration 0017_close_reason: why we are closing a top-up's trade at its gateway (the unpaid
 * expiry's `UNPAID_TIMEOUT`), recorded before the close. Whoever then commits the closed trade
 * (the rule, the pay job, a callback's wake-up, reconciliation) fails the top-up with this code
 * rather than the gateway's `TRADE_CLOSED`, so the code never depends on which of them wins.
 * Null on rows we never set out to close.
 * Released: never edit it (a change is the next number).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('wallet_top_ups').addColumn('close_reason', 'text').execute();
}

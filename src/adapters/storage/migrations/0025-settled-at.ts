import type { Kysely } from 'kysely';

/**
 * Migration 0025_settled_at: when each money movement happened — the capture of a payment or a
 * top-up, a refund's success, the give-back of a directly paid recharge's payment — as the
 * channel reported it, or else as we recorded it. Reconciliation dates an item by it (the
 * statement's day is the day the money moved, not the day the record last changed). Null on rows
 * from before it (and on movements that have not happened): reconciliation falls back to
 * `updated_at` for those. Recharges keep theirs on the attempt that delivered (attempts_json).
 * Released: never edit it (a change is the next number).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('payments').addColumn('settled_at', 'bigint').execute();
  await db.schema.alterTable('refunds').addColumn('settled_at', 'bigint').execute();
  await db.schema.alterTable('wallet_top_ups').addColumn('settled_at', 'bigint').execute();
  await db.schema.alterTable('wallet_top_ups').addColumn('refund_settled_at', 'bigint').execute();
}

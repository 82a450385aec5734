import type { Kysely } from 'kysely';

/**
 * Migration 0019_flows:
 * - `wallet_top_ups` keeps what a payer needs to pay a top-up (or a directly paid recharge) that
 *   waits for them, as 0016 did for order payments: the QR content, a page to open, until when.
 * - `mandate_spends`: which mandate paid for which resource (an order, a top-up, a recharge), how
 *   much and in which period, so the budget is given back exactly once when that action fails
 *   (`returned_at` is set by one conditional UPDATE; the second caller finds it set).
 * Released: never edit it (a change is the next number).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('wallet_top_ups').addColumn('qr_code', 'text').execute();
  await db.schema.alterTable('wallet_top_ups').addColumn('pay_url', 'text').execute();
  await db.schema.alterTable('wallet_top_ups').addColumn('pay_expires_at', 'bigint').execute();
  await db.schema
    .createTable('mandate_spends')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('resource_id', 'text', (c) => c.notNull())
    .addColumn('mandate_id', 'text', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('period_start', 'bigint', (c) => c.notNull())
    .addColumn('spent_at', 'bigint', (c) => c.notNull())
    .addColumn('returned_at', 'bigint')
    .addPrimaryKeyConstraint('mandate_spends_pk', ['tenant_id', 'resource_id'])
    .execute();
}

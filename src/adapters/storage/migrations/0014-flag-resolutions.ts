import type { Kysely } from 'kysely';

/**
 * Migration 0014_flag_resolutions: a review flag records who resolved it and why (the note an
 * operator gives, or what the action taken did), so a resolution is read from the flag itself
 * as well as from its audit row. Wallet top-ups still waiting for their payer are found by
 * status and age (the unpaid expiry), like orders.
 * Released: never edit it (a change is the next number).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('review_flags').addColumn('resolved_by', 'text').execute();
  await db.schema.alterTable('review_flags').addColumn('resolution_note', 'text').execute();
  await db.schema
    .createIndex('review_flags_resource')
    .on('review_flags')
    .columns(['tenant_id', 'resource_type', 'resource_id'])
    .execute();
  await db.schema
    .createIndex('wallet_top_ups_status_updated')
    .on('wallet_top_ups')
    .columns(['status', 'updated_at'])
    .execute();
}

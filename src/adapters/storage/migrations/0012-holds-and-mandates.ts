import type { Kysely } from 'kysely';

/**
 * Migration 0012_holds_and_mandates:
 * - `held_actions`: a money action the policy held for the person, with the digest of exactly
 *   what they were shown; confirmed (or rejected) once, by a compare-and-set on `status`.
 * - `mandates`: what a person allowed one of their agents to do without asking (AP2-style), the
 *   service's signature over it, and its budget for the current period, spent by a conditional
 *   UPDATE so concurrent uses can never overspend it.
 * Released: never edit it (a change is the next number).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('held_actions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    // What will run, exactly (canonical JSON), and what the person is shown of it.
    .addColumn('params_json', 'text', (c) => c.notNull())
    .addColumn('shown_json', 'text', (c) => c.notNull())
    .addColumn('digest', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('requested_by', 'text', (c) => c.notNull())
    .addColumn('decided_by', 'text')
    .addColumn('result_id', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('decided_at', 'bigint')
    .execute();
  await db.schema
    .createIndex('held_actions_person')
    .on('held_actions')
    .columns(['tenant_id', 'user_id', 'status', 'created_at'])
    .execute();

  await db.schema
    .createTable('mandates')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('agent_id', 'text', (c) => c.notNull())
    .addColumn('actions_json', 'text', (c) => c.notNull())
    .addColumn('payees_json', 'text', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('max_per_transaction', 'bigint', (c) => c.notNull())
    .addColumn('budget', 'bigint', (c) => c.notNull())
    .addColumn('period', 'text', (c) => c.notNull())
    .addColumn('period_start', 'bigint', (c) => c.notNull())
    .addColumn('spent', 'bigint', (c) => c.notNull())
    .addColumn('jws', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('revoked_at', 'bigint')
    .addColumn('revoked_by', 'text')
    .execute();
  await db.schema.createIndex('mandates_agent').on('mandates').columns(['tenant_id', 'agent_id']).execute();
  await db.schema.createIndex('mandates_person').on('mandates').columns(['tenant_id', 'user_id']).execute();
}

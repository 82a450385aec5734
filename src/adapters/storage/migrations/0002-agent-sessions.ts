import type { Kysely } from 'kysely';

/**
 * Migration 0002_agent_sessions: agent conversations.
 * Released: never edit it (a change is the next number).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('agent_sessions')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    // The pending intent and recent turns, as JSON text (same on every engine).
    .addColumn('context_json', 'text', (c) => c.notNull())
    .addColumn('last_order_id', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('agent_sessions_pk', ['tenant_id', 'id'])
    .execute();
  await db.schema.createIndex('agent_sessions_expiry').on('agent_sessions').columns(['expires_at']).execute();
}

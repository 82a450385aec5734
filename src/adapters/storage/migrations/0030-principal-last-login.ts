import type { Kysely } from 'kysely';

/**
 * Migration 0030_principal_last_login: when each person last logged in with their password (the
 * people screen shows it, so an admin sees who still uses the service). Null for people who
 * never logged in since, and for principals that only use API keys. And an index of refresh
 * tokens by their person: disabling someone revokes all of theirs in one statement.
 * Released: never edit it (a change is the next number).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('principals').addColumn('last_login_at', 'bigint').execute();
  await db.schema
    .createIndex('refresh_tokens_principal')
    .on('refresh_tokens')
    .columns(['tenant_id', 'principal_id'])
    .execute();
}

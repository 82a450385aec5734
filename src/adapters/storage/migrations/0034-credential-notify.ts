import { type Kysely, sql } from 'kysely';
import { onPostgres } from './on-postgres.js';

/**
 * PostgreSQL only: every statement that updates or deletes API keys, or changes what
 * authentication reads of a principal (kind, role, acting for, access, password), sends a NOTIFY
 * on `autoglm_credentials` when it commits, whoever sends it (an instance, the CLI, an operator
 * in psql). Each instance keeps the keys it authenticated in memory only while it listens on that
 * channel (postgres/credential-cache.ts), and forgets them all at each notification. A person's
 * last login (`last_login_at`) is not among the columns: logging in changes nothing a key's
 * request is checked against. New keys and principals need no notification: a key that was not
 * found is never kept. Released: never edit it (a change is the next number).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  if (!onPostgres(db)) return;
  await sql`
    create or replace function autoglm_credentials_changed() returns trigger
    language plpgsql as $$
    begin
      perform pg_notify('autoglm_credentials', '');
      return null;
    end
    $$`.execute(db);
  await sql`
    create trigger api_keys_changed after update or delete or truncate on api_keys
    for each statement execute function autoglm_credentials_changed()`.execute(db);
  await sql`
    create trigger principals_changed
    after update of tenant_id, id, kind, role, acts_for, display_name, password_hash, created_at, disabled_at
      or delete or truncate on principals
    for each statement execute function autoglm_credentials_changed()`.execute(db);
}

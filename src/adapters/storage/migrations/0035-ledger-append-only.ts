import { type Kysely, sql } from 'kysely';
import { onPostgres } from './on-postgres.js';

/**
 * The ledger is appended to, never changed: a statement that updates or deletes postings (or, on
 * PostgreSQL, truncates them) fails whoever sends it — the service, the CLI, an operator in a SQL
 * shell — with SQLSTATE AGL01 on PostgreSQL and "ledger postings are append-only" on both. A
 * mistake is corrected by a new journal that reverses it. The ledger's health gauge reads only
 * the postings appended since it last looked (SQLite), which is sound because old ones cannot
 * change. Inserting costs nothing more: no trigger fires on INSERT.
 * Released: never edit it (a change is the next number).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  if (onPostgres(db)) {
    await sql`
      create or replace function autoglm_ledger_append_only() returns trigger
      language plpgsql as $$
      begin
        raise exception using errcode = 'AGL01', message = 'ledger postings are append-only (' || tg_op || ' refused)',
          hint = 'correct a journal with a new journal that reverses it';
      end
      $$`.execute(db);
    await sql`
      create trigger ledger_postings_append_only before update or delete on ledger_postings
      for each row execute function autoglm_ledger_append_only()`.execute(db);
    await sql`
      create trigger ledger_postings_no_truncate before truncate on ledger_postings
      for each statement execute function autoglm_ledger_append_only()`.execute(db);
    return;
  }
  for (const op of ['update', 'delete'])
    await sql`
      create trigger ${sql.raw(`ledger_postings_append_only_${op}`)} before ${sql.raw(op)} on ledger_postings
      begin
        select raise(abort, ${sql.lit(`ledger postings are append-only (${op.toUpperCase()} refused)`)});
      end`.execute(db);
}

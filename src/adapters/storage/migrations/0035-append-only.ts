import { type Kysely, sql } from 'kysely';
import { onPostgres } from './on-postgres.js';

/** The tables that are appended to and never changed, and what their rows are called in a refusal. */
const GUARDED = [
  ['ledger_postings', 'ledger postings'],
  ['audit_log', 'audit rows'],
] as const;

/**
 * The ledger and the audit log are appended to, never changed: a statement that updates or
 * deletes their rows (or, on PostgreSQL, truncates them) fails whoever sends it — the service, the
 * CLI, an operator in a SQL shell — with "ledger postings are append-only (UPDATE refused)" or
 * "audit rows are …", and SQLSTATE AGA01 on PostgreSQL. A wrong journal is corrected by a journal
 * that reverses it; the audit log's hash chain still shows whoever set this guard aside first. The
 * ledger's health gauge reads only the postings appended since it last looked (SQLite), which is
 * sound because old ones cannot change. Inserting costs nothing more: no trigger fires on INSERT.
 * Released: never edit it (a change is the next number).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  if (onPostgres(db)) {
    await sql`
      create or replace function autoglm_append_only() returns trigger
      language plpgsql as $$
      begin
        raise exception using errcode = 'AGA01',
          message = tg_argv[0] || ' are append-only (' || tg_op || ' refused)',
          hint = 'correct a mistake with a new row that reverses it';
      end
      $$`.execute(db);
    for (const [table, rows] of GUARDED) {
      await sql`
        create trigger ${sql.raw(`${table}_append_only`)} before update or delete on ${sql.table(table)}
        for each row execute function autoglm_append_only(${sql.lit(rows)})`.execute(db);
      await sql`
        create trigger ${sql.raw(`${table}_no_truncate`)} before truncate on ${sql.table(table)}
        for each statement execute function autoglm_append_only(${sql.lit(rows)})`.execute(db);
    }
    return;
  }
  for (const [table, rows] of GUARDED)
    for (const op of ['update', 'delete'])
      await sql`
        create trigger ${sql.raw(`${table}_append_only_${op}`)} before ${sql.raw(op)} on ${sql.table(table)}
        begin
          select raise(abort, ${sql.lit(`${rows} are append-only (${op.toUpperCase()} refused)`)});
        end`.execute(db);
}

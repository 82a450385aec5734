import { type Kysely, sql } from 'kysely';
import { onPostgres } from './on-postgres.js';

/**
 * PostgreSQL only: the check that ends a batch of writes sent as one statement (see
 * postgres/write-batching.ts). Given how many rows each write of the batch touched and how many
 * it had to, it raises when they differ, which undoes the whole statement: the first write that
 * fell short names its kind in the message ('version': a row changed since it was read; 'lease':
 * a job's lease was lost; 'insert').
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  if (!onPostgres(db)) return;
  await sql`
    create or replace function autoglm_expect_rows(got bigint[], want bigint[], kinds text[])
    returns integer language plpgsql as $$
    begin
      for i in 1 .. coalesce(array_length(want, 1), 0) loop
        if got[i] is distinct from want[i] then
          raise exception using errcode = 'AGB01', message = 'stale ' || kinds[i] || ' ' || i;
        end if;
      end loop;
      return 0;
    end $$`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  if (!onPostgres(db)) return;
  await sql`drop function if exists autoglm_expect_rows(bigint[], bigint[], text[])`.execute(db);
}

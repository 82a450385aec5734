import { type Kysely, sql } from 'kysely';
import { onPostgres } from './on-postgres.js';

/** Counter rows per batch and status on PostgreSQL: recharges of one batch that end at once rarely wait on one row. */
const PG_SHARDS = 16;

/**
 * Migration 0033_recharge_batch_counts: how many of a batch's recharges are in each status, kept
 * by the database as they change instead of counted on every look. A batch's progress is read
 * every few hundred milliseconds while it runs (its view, the console's live feed, the
 * `batch.completed` webhook at each recharge's end); counting the batch's recharges each time made
 * every look cost more as the batch grew (150 ms at 100,000 rows on SQLite), so a 100,000-row
 * batch recharged more slowly per row than a 10,000-row one.
 *
 * Triggers on `recharges` move a count from the old status to the new one in the same statement
 * as the change, whichever code path wrote it. The view sums a batch's rows (its statuses; on
 * PostgreSQL, times PG_SHARDS counter rows per status, chosen by the recharge's id, so concurrent
 * workers rarely update the same counter row; a shard's count may go below zero, the sum never).
 * Existing batches are counted once here. Released: never edit it (a change is the next number).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('recharge_batch_counts')
    .addColumn('batch_id', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('shard', 'integer', (c) => c.notNull())
    .addColumn('n', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('recharge_batch_counts_pk', ['batch_id', 'status', 'shard'])
    .execute();
  await sql`
    insert into recharge_batch_counts (batch_id, status, shard, n)
    select batch_id, status, 0, count(*) from recharges where batch_id is not null group by batch_id, status
  `.execute(db);
  if (onPostgres(db)) {
    await sql`
      create or replace function autoglm_recharge_batch_count() returns trigger
      language plpgsql as $$
      declare
        s integer := hashtext(new.id) & ${sql.lit(PG_SHARDS - 1)};
      begin
        -- One statement, rows in status order: two transactions take counter rows in the same order.
        insert into recharge_batch_counts as c (batch_id, status, shard, n)
        select batch_id, status, s, sum(d)::integer from (
          select old.batch_id as batch_id, old.status as status, -1 as d
            where tg_op = 'UPDATE' and old.batch_id is not null
          union all
          select new.batch_id, new.status, 1 where new.batch_id is not null
        ) moved
        group by batch_id, status
        order by batch_id, status
        on conflict (batch_id, status, shard) do update set n = c.n + excluded.n;
        return null;
      end
      $$`.execute(db);
    await sql`
      create trigger recharge_batch_counts_insert after insert on recharges
      for each row when (new.batch_id is not null) execute function autoglm_recharge_batch_count()`.execute(db);
    // Every update of a recharge names its status: only a real move touches a counter row.
    await sql`
      create trigger recharge_batch_counts_update after update of status, batch_id on recharges
      for each row when (old.status is distinct from new.status or old.batch_id is distinct from new.batch_id)
      execute function autoglm_recharge_batch_count()`.execute(db);
    return;
  }
  await sql`
    create trigger recharge_batch_counts_insert after insert on recharges when new.batch_id is not null
    begin
      insert into recharge_batch_counts (batch_id, status, shard, n) values (new.batch_id, new.status, 0, 1)
      on conflict (batch_id, status, shard) do update set n = n + excluded.n;
    end`.execute(db);
  await sql`
    create trigger recharge_batch_counts_update after update of status, batch_id on recharges
    when old.status is not new.status or old.batch_id is not new.batch_id
    begin
      insert into recharge_batch_counts (batch_id, status, shard, n)
      select old.batch_id, old.status, 0, -1 where old.batch_id is not null
      on conflict (batch_id, status, shard) do update set n = n + excluded.n;
      insert into recharge_batch_counts (batch_id, status, shard, n)
      select new.batch_id, new.status, 0, 1 where new.batch_id is not null
      on conflict (batch_id, status, shard) do update set n = n + excluded.n;
    end`.execute(db);
}

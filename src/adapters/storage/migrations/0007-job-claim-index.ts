import type { Kysely } from 'kysely';

/**
 * Migration 0007_job_claim_index: the index claims walk in the order they take jobs.
 * Released: never edit it (a change is the next number).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // Claims walk this index in the order they take jobs and stop at their limit, so a claim
  // costs the same with ten queued jobs or a 100,000-row batch's worth.
  // It replaces jobs_due (status, run_at, priority): with both, SQLite's planner picks jobs_due
  // for `status = ? AND run_at <= ?` and then sorts every due row.
  await db.schema.dropIndex('jobs_due').execute();
  await db.schema.createIndex('jobs_claim').on('jobs').columns(['status', 'priority desc', 'run_at']).execute();
}

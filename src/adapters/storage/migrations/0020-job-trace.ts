import type { Kysely } from 'kysely';

/**
 * Migration 0020_job_trace: the W3C `traceparent` of the work that enqueued a job, so the job's
 * run (in any process, after any restart) logs and propagates the trace that caused it.
 * Released: never edit it (a change is the next number).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('jobs').addColumn('traceparent', 'text').execute();
}

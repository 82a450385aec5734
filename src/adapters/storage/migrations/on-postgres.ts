import { type Kysely, PostgresAdapter } from 'kysely';

/** Whether a migration runs on PostgreSQL (else SQLite): the few column types that differ branch on it. */
export function onPostgres(db: Kysely<unknown>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

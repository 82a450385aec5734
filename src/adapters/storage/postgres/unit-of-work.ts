import type { Kysely } from 'kysely';
import type { ReadRepositories, Repositories, UnitOfWork } from '../../../ports/repositories.js';
import type { CamelCaseDatabase } from '../schema.js';
import { createPostgresRepositories, type TransactionEffects } from './repositories.js';

/** SQLSTATEs after which the whole transaction may simply run again. */
const RETRYABLE = new Set(['40001', '40P01']); // serialization_failure, deadlock_detected
const MAX_TRIES = 3;

/**
 * A unit of work on PostgreSQL: one real transaction (READ COMMITTED) on one pooled connection.
 * Correctness never rests on the isolation level: every update is version- or lease-checked,
 * keys are UNIQUE, claims use FOR UPDATE SKIP LOCKED, spending decisions take a per-user lock.
 * A transaction the server aborts as a deadlock or serialization failure is run again (the
 * work only touches the database, so running it again is safe).
 */
export class PostgresUnitOfWork implements UnitOfWork {
  readonly read: ReadRepositories;

  constructor(
    private readonly db: Kysely<CamelCaseDatabase>,
    private readonly afterCommit: (effects: TransactionEffects) => void,
  ) {
    this.read = createPostgresRepositories(db);
  }

  async run<T>(work: (repos: Repositories) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const effects: TransactionEffects = { jobsAvailable: false };
      try {
        const value = await this.db.transaction().execute((trx) => work(createPostgresRepositories(trx, effects)));
        this.afterCommit(effects);
        return value;
      } catch (e) {
        if (attempt >= MAX_TRIES || !RETRYABLE.has((e as { code?: unknown }).code as string)) throw e;
      }
    }
  }
}

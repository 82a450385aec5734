import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { Logger } from '../../../ports/logger.js';
import type { Repositories, UnitOfWork } from '../../../ports/repositories.js';
import { migrateToLatest } from '../migrations/index.js';
import type { Database } from '../schema.js';
import type { Storage } from '../storage.js';
import { PostgresCoordination } from './coordination.js';
import { createPostgresRepositories, type TransactionEffects } from './repositories.js';

export interface PostgresOptions {
  /** Connections in the pool (transactions, reads); one more is kept for LISTEN. */
  readonly poolSize: number;
  readonly logger: Logger;
}

export interface PostgresStorage extends Storage {
  readonly engine: 'postgres';
  readonly db: Kysely<Database>;
  readonly unitOfWork: PostgresUnitOfWork;
  readonly coordination: PostgresCoordination;
}

/** SQLSTATEs after which the whole transaction may simply run again. */
const RETRYABLE = new Set(['40001', '40P01']); // serialization_failure, deadlock_detected
const MAX_TRIES = 3;
const PING_TIMEOUT_MS = 2000;

/**
 * A unit of work on PostgreSQL: one real transaction (READ COMMITTED) on one pooled connection.
 * Correctness never rests on the isolation level: every update is version- or lease-checked,
 * keys are UNIQUE, claims use FOR UPDATE SKIP LOCKED, spending decisions take a per-user lock.
 * A transaction the server aborts as a deadlock or serialization failure is run again (the
 * work only touches the database, so running it again is safe).
 */
export class PostgresUnitOfWork implements UnitOfWork {
  readonly read: Repositories;

  constructor(
    private readonly db: Kysely<Database>,
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

/**
 * PostgreSQL through Kysely over a `pg` pool, migrated to the newest schema (safe when several
 * instances start at once), with the coordination that lets several instances share the work.
 */
export async function openPostgres(url: string, options: PostgresOptions): Promise<PostgresStorage> {
  const clientConfig: pg.ClientConfig = {
    connectionString: url,
    connectionTimeoutMillis: 5000,
    application_name: 'autoglm',
  };
  const pool = new pg.Pool({ ...clientConfig, max: options.poolSize });
  // An idle pooled connection that dies (server restart, network) must not crash the process;
  // the pool replaces it and the next query reports any lasting problem.
  pool.on('error', (e) => options.logger.warn({ err: e }, 'idle PostgreSQL connection failed'));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    await migrateToLatest(db as unknown as Kysely<unknown>);
  } catch (e) {
    await db.destroy();
    throw e;
  }
  const coordination = new PostgresCoordination(db, clientConfig, options.logger);
  const unitOfWork = new PostgresUnitOfWork(db, (effects) => {
    if (effects.jobsAvailable) coordination.announce();
  });
  return {
    engine: 'postgres',
    db,
    unitOfWork,
    coordination,
    async ping() {
      let timer: NodeJS.Timeout | undefined;
      try {
        const answered = sql`select 1`.execute(db).then(() => true);
        const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), PING_TIMEOUT_MS)));
        return await Promise.race([answered, late]);
      } catch {
        return false;
      } finally {
        if (timer !== undefined) clearTimeout(timer);
      }
    },
    async close() {
      await coordination.close();
      await db.destroy();
    },
  };
}

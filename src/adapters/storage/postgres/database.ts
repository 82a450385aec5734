import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { FieldCipher } from '../../../ports/field-cipher.js';
import type { Logger } from '../../../ports/logger.js';
import { bootstrapDataKeys } from '../kysely/data-keys.js';
import { snakeCaseIdentifiers, withCamelCase } from '../kysely/with-camel-case.js';
import { migrateToLatest } from '../migrations/index.js';
import type { Database } from '../schema.js';
import type { Storage } from '../storage.js';
import { PostgresCoordination } from './coordination.js';
import { CredentialCache } from './credential-cache.js';
import { DEFAULT_PREPARING, preparingPool, type PreparingOptions } from './prepared-statements.js';
import { FaultInjection, type TransactionFaults } from './transaction-faults.js';
import { StatementMeters } from './statement-meters.js';
import { PostgresUnitOfWork } from './unit-of-work.js';
import { batchingWrites } from './write-batching.js';

export type { TransactionFaults } from './transaction-faults.js';

/** How to open PostgreSQL storage. */
export interface PostgresOptions {
  /** Connections in the pool (transactions, reads); one more is kept for LISTEN. */
  readonly poolSize: number;
  readonly logger: Logger;
  /** Seals phone numbers and conversations at rest; its data keys live in this database. */
  readonly cipher: FieldCipher;
  /** How many hash chains each tenant's new audit rows are spread over (default 64). */
  readonly auditShards?: number;
  /** Tests only: have the server fail chosen statements of units of work (see TransactionFaults). */
  readonly faults?: TransactionFaults;
  /** When statement texts are prepared by name, and how many are kept (default DEFAULT_PREPARING). */
  readonly preparing?: PreparingOptions;
  /**
   * How long an API key read for authentication may be answered from this process's memory while
   * it hears of every change (CredentialCache); 0 or absent: every request reads its key.
   */
  readonly credentialCacheMs?: number;
}

/** PostgreSQL storage; `db` is the database as it is (snake_case, no plugins), for raw SQL. */
export interface PostgresStorage extends Storage {
  readonly engine: 'postgres';
  readonly db: Kysely<Database>;
  readonly unitOfWork: PostgresUnitOfWork;
  readonly coordination: PostgresCoordination;
  /** API keys kept in memory for authentication (absent when configured off). */
  readonly credentials: CredentialCache | undefined;
  statementsSent(): number;
}

const PING_TIMEOUT_MS = 2000;

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
  // Without faults (always, outside tests) the dialect is Kysely's own, untouched.
  const injection = options.faults === undefined ? undefined : new FaultInjection(options.faults);
  // Every statement sent (a round trip each, BEGIN and COMMIT included): what the benchmark
  // divides by the orders it placed, and a metric.
  // Each unit of work that asks (tracing) is told its own.
  let statements = 0;
  const meters = new StatementMeters();
  const prepared = preparingPool(pool, options.preparing ?? DEFAULT_PREPARING);
  const dialect = batchingWrites(snakeCaseIdentifiers(new PostgresDialect({ pool: prepared })), () => {
    statements++;
    meters.sent();
  });
  const db = new Kysely<Database>({ dialect: injection === undefined ? dialect : injection.dialect(dialect) });
  try {
    await migrateToLatest(db as unknown as Kysely<unknown>);
    await bootstrapDataKeys(withCamelCase(db), options.cipher, Date.now());
  } catch (e) {
    await db.destroy();
    throw e;
  }
  const credentials =
    options.credentialCacheMs === undefined || options.credentialCacheMs <= 0
      ? undefined
      : new CredentialCache(options.credentialCacheMs);
  const coordination = new PostgresCoordination(db, clientConfig, options.logger, credentials);
  const unitOfWork = new PostgresUnitOfWork(
    withCamelCase(db),
    (effects) => {
      if (effects.jobsAvailable) coordination.announce();
      if (!effects.credentialsChanged) return undefined;
      // Before the caller is answered: this instance forgets its keys now, and the others have
      // said they forgot theirs (so a revoked key is refused everywhere from the next request).
      credentials?.invalidate();
      return coordination.credentialsChanged();
    },
    options.cipher,
    meters,
    injection,
    options.auditShards,
    credentials,
  );
  return {
    engine: 'postgres',
    db,
    unitOfWork,
    coordination,
    credentials,
    statementsSent: () => statements,
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

import { openPostgres, type TransactionFaults } from '../adapters/storage/postgres/database.js';
import { openSqlite } from '../adapters/storage/sqlite/database.js';
import type { Storage } from '../adapters/storage/storage.js';
import type { AppConfig } from '../config/load-config.js';
import type { Logger } from '../ports/logger.js';

/** Open the configured database, migrated: for the service, and for the CLI's local commands. */
export async function openStorage(
  config: Pick<AppConfig, 'database'>,
  logger: Logger,
  options: { readonly transactionFaults?: TransactionFaults } = {},
): Promise<Storage> {
  return config.database.kind === 'postgres'
    ? openPostgres(config.database.url, {
        poolSize: config.database.poolSize,
        logger,
        ...(options.transactionFaults === undefined ? {} : { faults: options.transactionFaults }),
      })
    : openSqlite(config.database.path);
}

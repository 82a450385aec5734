import { openPostgres, type PostgresStorage } from '../../src/adapters/storage/postgres/database.js';
import { openSqlite, type SqliteStorage } from '../../src/adapters/storage/sqlite/database.js';
import { createTestDatabase, postgresWanted, TEST_ENGINES, type TestDatabase } from './pg-db.js';
import { quiet } from './quiet-logger.js';
import { tempDbPath } from './temp-db.js';
import { testCipher } from './test-cipher.js';

/**
 * The engines a storage test runs on, for `describe.each`: SQLite in a fresh file, and PostgreSQL
 * (when wanted) in a fresh database named after `label`, each with two pooled connections.
 * `drop` removes the PostgreSQL databases opened so far.
 */
export async function storageEngines(label: string): Promise<{
  readonly engines: Array<[string, () => Promise<SqliteStorage | PostgresStorage>]>;
  readonly drop: () => Promise<void>;
}> {
  const databases: TestDatabase[] = [];
  const engines: Array<[string, () => Promise<SqliteStorage | PostgresStorage>]> = [];
  if (TEST_ENGINES.includes('sqlite'))
    engines.push(['sqlite', () => openSqlite(tempDbPath(), { cipher: testCipher() })]);
  if (await postgresWanted())
    engines.push([
      'postgres',
      async () => {
        const db = await createTestDatabase(label);
        databases.push(db);
        return openPostgres(db.url, { poolSize: 2, logger: quiet, cipher: testCipher() });
      },
    ]);
  return {
    engines,
    drop: async () => {
      await Promise.all(databases.splice(0).map((d) => d.drop()));
    },
  };
}

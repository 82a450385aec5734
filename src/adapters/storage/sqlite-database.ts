import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import type { Repositories, UnitOfWork } from '../../ports/repositories.js';
import { migrateToLatest } from './migrations.js';
import { createRepositories } from './repositories.js';
import type { Database } from './schema.js';

export interface SqliteStorage {
  readonly db: Kysely<Database>;
  readonly unitOfWork: UnitOfWork;
  /** Whether the database answers a trivial query. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * SQLite through Kysely over better-sqlite3. WAL with synchronous=FULL (money: a committed row
 * must survive power loss), a busy timeout so other processes wait instead of failing, foreign
 * keys on, and every write transaction BEGIN IMMEDIATE so read-then-write never deadlocks into
 * SQLITE_BUSY.
 */
export async function openSqlite(path: string): Promise<SqliteStorage> {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const raw = new SqliteDatabase(path);
  raw.pragma('journal_mode = WAL');
  raw.pragma('synchronous = FULL');
  raw.pragma('busy_timeout = 5000');
  raw.pragma('foreign_keys = ON');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: raw }) });
  await migrateToLatest(db as unknown as Kysely<unknown>);
  const read = createRepositories(db, 'sqlite');

  const unitOfWork: UnitOfWork = {
    read,
    run: <T>(work: (repos: Repositories) => Promise<T>): Promise<T> =>
      db.connection().execute(async (conn) => {
        await sql`begin immediate`.execute(conn);
        try {
          const result = await work(createRepositories(conn, 'sqlite'));
          await sql`commit`.execute(conn);
          return result;
        } catch (e) {
          if (raw.inTransaction) await sql`rollback`.execute(conn);
          throw e;
        }
      }),
  };

  return {
    db,
    unitOfWork,
    async ping() {
      try {
        await sql`select 1`.execute(db);
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      await db.destroy();
    },
  };
}

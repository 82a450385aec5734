import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect, type SqliteDatabase as SqliteDialectDatabase, sql } from 'kysely';
import type { FieldCipher } from '../../../ports/field-cipher.js';
import { bootstrapDataKeys } from '../kysely/data-keys.js';
import { snakeCaseIdentifiers, withCamelCase } from '../kysely/with-camel-case.js';
import { migrateToLatest } from '../migrations/index.js';
import type { Database } from '../schema.js';
import type { Storage } from '../storage.js';
import { SingleProcessCoordination } from './coordination.js';
import type { StatementCount } from './repositories.js';
import { GroupCommitUnitOfWork } from './unit-of-work.js';

/** SQLite storage; `db` is the database as it is (snake_case, no plugins), for raw SQL. */
export interface SqliteStorage extends Storage {
  readonly engine: 'sqlite';
  readonly db: Kysely<Database>;
  readonly unitOfWork: GroupCommitUnitOfWork;
}

/** How to open SQLite storage. */
export interface SqliteOptions {
  /** Seals phone numbers and conversations at rest; its data keys live in this database. */
  readonly cipher: FieldCipher;
  /** How many hash chains each tenant's new audit rows are spread over (default 64). */
  readonly auditShards?: number;
}

/**
 * SQLite through Kysely over better-sqlite3. WAL with synchronous=FULL (money: a committed row
 * must survive power loss), a busy timeout so other processes wait instead of failing, foreign
 * keys on, and every write transaction BEGIN IMMEDIATE so read-then-write never deadlocks into
 * SQLITE_BUSY. Opening it loads (or makes) the data keys `cipher` seals with.
 */
export async function openSqlite(path: string, options: SqliteOptions): Promise<SqliteStorage> {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const raw = new SqliteDatabase(path);
  raw.pragma('journal_mode = WAL');
  raw.pragma('synchronous = FULL');
  raw.pragma('busy_timeout = 5000');
  raw.pragma('foreign_keys = ON');
  tune(raw);
  // Statements run on the writer, which its unit of work reads around each logical transaction.
  const counted: StatementCount = { statements: 0 };
  const db = new Kysely<Database>({
    dialect: snakeCaseIdentifiers(new SqliteDialect({ database: withStatementCache(raw, counted) })),
  });
  await migrateToLatest(db as unknown as Kysely<unknown>);
  await bootstrapDataKeys(withCamelCase(db), options.cipher, Date.now());
  // A second connection serves reads outside transactions: it sees only committed data and never
  // waits for an open write batch (WAL readers do not block the writer, nor it them).
  let reader: { db: Kysely<Database>; raw: SqliteDatabase.Database } | undefined;
  if (path !== ':memory:') {
    const rawReader = new SqliteDatabase(path);
    rawReader.pragma('busy_timeout = 5000');
    rawReader.pragma('query_only = 1');
    tune(rawReader);
    reader = {
      raw: rawReader,
      db: new Kysely<Database>({
        dialect: snakeCaseIdentifiers(new SqliteDialect({ database: withStatementCache(rawReader) })),
      }),
    };
  }
  const unitOfWork = new GroupCommitUnitOfWork(
    withCamelCase(db),
    raw,
    counted,
    options.cipher,
    reader === undefined ? undefined : { db: withCamelCase(reader.db), raw: reader.raw },
    options.auditShards,
  );

  return {
    engine: 'sqlite',
    db,
    unitOfWork,
    coordination: new SingleProcessCoordination(),
    async ping() {
      try {
        await sql`select 1`.execute(db);
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      await reader?.db.destroy();
      await db.destroy();
    },
  };
}

/**
 * Kysely's SQLite driver prepares every statement anew (~17 µs each); our queries come from a
 * small fixed set, so prepared statements are kept and reused (bounded, oldest dropped first).
 * The driver asks for a statement once per query it runs, so each ask is counted in `counted`.
 */
function withStatementCache(
  raw: SqliteDatabase.Database,
  counted: StatementCount = { statements: 0 },
  max = 512,
): SqliteDialectDatabase {
  const cache = new Map<string, SqliteDatabase.Statement>();
  return {
    close: () => raw.close(),
    prepare: (text: string) => {
      counted.statements++;
      let stmt = cache.get(text);
      if (stmt === undefined) {
        stmt = raw.prepare(text);
        if (cache.size >= max) {
          const oldest = cache.keys().next().value;
          if (oldest !== undefined) cache.delete(oldest);
        }
        cache.set(text, stmt);
      }
      return stmt;
    },
  };
}

/** A page cache that holds the working set (the default is 2 MB) and memory-mapped reads. */
function tune(db: SqliteDatabase.Database): void {
  db.pragma('cache_size = -65536');
  db.pragma('mmap_size = 268435456');
  db.pragma('temp_store = memory');
}

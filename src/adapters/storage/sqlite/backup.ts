import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import SqliteDatabase from 'better-sqlite3';
import { migrations } from '../migrations/index.js';

/** The table Kysely's migrator keeps its history in: a database without it is not one of ours. */
const MIGRATION_TABLE = 'kysely_migration';

/** Why a file cannot be used as a backup (or a database cannot be backed up). */
export class BackupError extends Error {
  constructor(
    readonly code: 'BACKUP_INVALID' | 'BACKUP_TOO_NEW' | 'DATABASE_NOT_FOUND',
    message: string,
  ) {
    super(message);
  }
}

/**
 * One step copying every page: the copy is one read transaction, a snapshot of one instant.
 * (SQLite restarts a stepwise backup whenever another connection writes between steps, which
 * under steady traffic could go on for ever; a WAL reader never blocks the writers.)
 */
const ALL_PAGES = 0x7fffffff;

/** The migrations a database has run, or why it is not a database of ours. */
function migrationsOf(db: SqliteDatabase.Database, what: string): string[] {
  let names: string[];
  try {
    const table = db
      .prepare(`select name from sqlite_master where type = 'table' and name = ?`)
      .get(MIGRATION_TABLE) as { name: string } | undefined;
    if (table === undefined) throw new BackupError('BACKUP_INVALID', `${what} has no ${MIGRATION_TABLE} table`);
    names = (db.prepare(`select name from ${MIGRATION_TABLE} order by name`).all() as Array<{ name: string }>).map(
      (r) => r.name,
    );
  } catch (e) {
    if (e instanceof BackupError) throw e;
    throw new BackupError('BACKUP_INVALID', `${what} is not a SQLite database: ${(e as Error).message}`);
  }
  if (names.length === 0) throw new BackupError('BACKUP_INVALID', `${what} has no migrations: not a database of ours`);
  const unknown = names.filter((n) => !Object.hasOwn(migrations, n));
  if (unknown.length > 0)
    throw new BackupError(
      'BACKUP_TOO_NEW',
      `${what} was made by a newer version (migrations ${unknown.join(', ')}): restore it with that version`,
    );
  return names;
}

function open(path: string, what: string, readonly: boolean): SqliteDatabase.Database {
  try {
    const db = new SqliteDatabase(path, { fileMustExist: true, readonly });
    db.pragma('busy_timeout = 5000');
    return db;
  } catch (e) {
    throw new BackupError('DATABASE_NOT_FOUND', `cannot open ${what} ${path}: ${(e as Error).message}`);
  }
}

/** Copy `from` (a database in use or not) to `to` through a file beside it, renamed into place when whole. */
async function copyConsistent(from: SqliteDatabase.Database, to: string): Promise<void> {
  const partial = `${to}.partial`;
  rmSync(partial, { force: true });
  try {
    await from.backup(partial, { progress: () => ALL_PAGES });
    renameSync(partial, to);
  } finally {
    rmSync(partial, { force: true });
  }
}

/**
 * Online backup of the SQLite database at `source` into `out` (which must not exist), while the
 * service keeps writing: a snapshot of one instant, through better-sqlite3's backup API.
 */
export async function backupSqlite(source: string, out: string): Promise<{ bytes: number; migrations: number }> {
  const db = open(source, 'the database', false);
  try {
    const ran = migrationsOf(db, `the database ${source}`);
    await copyConsistent(db, out);
    return { bytes: statSync(out).size, migrations: ran.length };
  } finally {
    db.close();
  }
}

/** Check that `file` is a whole backup of ours (integrity, known migrations); the migrations it has. */
export function inspectBackup(file: string): string[] {
  if (!existsSync(file)) throw new BackupError('DATABASE_NOT_FOUND', `no backup file ${file}`);
  let db: SqliteDatabase.Database;
  try {
    db = new SqliteDatabase(file, { fileMustExist: true, readonly: true });
  } catch (e) {
    throw new BackupError('BACKUP_INVALID', `${file} is not a SQLite database: ${(e as Error).message}`);
  }
  try {
    const names = migrationsOf(db, `the backup ${file}`);
    let check: unknown;
    try {
      check = db.pragma('quick_check', { simple: true });
    } catch (e) {
      throw new BackupError('BACKUP_INVALID', `the backup ${file} is damaged: ${(e as Error).message}`);
    }
    if (check !== 'ok') throw new BackupError('BACKUP_INVALID', `the backup ${file} is damaged: ${String(check)}`);
    return names;
  } finally {
    db.close();
  }
}

/** Whether the SQLite file at `path` holds anything (absent or without tables: empty). */
export function sqliteHasData(path: string): boolean {
  if (!existsSync(path) || statSync(path).size === 0) return false;
  const db = open(path, 'the database', true);
  try {
    const row = db.prepare(`select count(*) as n from sqlite_master where type = 'table'`).get() as { n: number };
    return row.n > 0;
  } finally {
    db.close();
  }
}

/** Copy the backup `file` to `to` (which must not exist), as a database file of its own. */
export async function copyBackup(file: string, to: string): Promise<void> {
  const db = open(file, 'the backup', true);
  try {
    await copyConsistent(db, to);
  } finally {
    db.close();
  }
}

/** Remove a SQLite database and its WAL files. */
export function removeSqlite(path: string): void {
  for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(`${path}${suffix}`, { force: true });
}

import { chmodSync, copyFileSync, existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { sql } from 'kysely';
import {
  BackupError,
  backupSqlite,
  copyBackup,
  inspectBackup,
  removeSqlite,
  sqliteHasData,
} from '../adapters/storage/sqlite/backup.js';
import { openSqlite } from '../adapters/storage/sqlite/database.js';
import { type AppConfig, loadConfig } from '../config/load-config.js';
import { MASTER_KEY_FILE, readMasterKeyFile } from '../config/master-key.js';
import { CliError } from '../interfaces/cli/cli.js';
import type { BackupReport, RestoreReport } from '../interfaces/cli/backup-commands.js';
import { EnvelopeCipher } from '../adapters/crypto/envelope-cipher.js';

const unsupported = (verb: string): CliError =>
  new CliError(
    `${verb.toUpperCase()}_UNSUPPORTED`,
    `${verb} copies SQLite files; for PostgreSQL use pg_dump / pg_restore or point-in-time recovery ` +
      '(README "Back up and restore")',
  );

/** The SQLite database a command acts on: `--db`, else the configured one. */
function sqliteConfig(o: { readonly db?: string; readonly config?: string }, verb: string): AppConfig {
  // Before the configuration is loaded: a PostgreSQL URL would first be refused for its missing master key.
  if (o.db !== undefined && /^postgres(?:ql)?:\/\//i.test(o.db)) throw unsupported(verb);
  const loaded = loadConfig({
    ...(o.config === undefined ? {} : { file: o.config }),
    env: process.env,
    overrides: { log: { level: 'warn' }, ...(o.db === undefined ? {} : { database: { url: o.db } }) },
  });
  if (!loaded.ok) throw new CliError(loaded.error.code, `${loaded.error.message}: ${loaded.error.issues.join('; ')}`);
  const config = loaded.value;
  if (config.database.kind === 'postgres') throw unsupported(verb);
  if (config.database.path === ':memory:')
    throw new CliError(`${verb.toUpperCase()}_UNSUPPORTED`, 'an in-memory database has nothing to copy');
  return config;
}

/**
 * The embedded default's key file (`master.key` beside the SQLite file), when that is where this
 * database's master key is (made on first start, or already there); undefined for a key given by
 * AUTOGLM_MASTER_KEY or a key file elsewhere, which stays with whoever gave it.
 */
function defaultKeyPath(config: AppConfig): string | undefined {
  const mk = config.security.master_key;
  const beside = join(dirname(resolve(config.database.path)), MASTER_KEY_FILE);
  return (mk.source === 'generate' || mk.source === 'file') && mk.path === beside ? beside : undefined;
}

/** Copy a key file, readable by its owner only from the moment it has a name (renamed into place). */
function copyKeyFile(from: string, to: string): string {
  copyFileSync(from, `${to}.new`);
  chmodSync(`${to}.new`, 0o600);
  renameSync(`${to}.new`, to);
  return to;
}

const asCliError = (e: unknown): never => {
  if (e instanceof BackupError) throw new CliError(e.code, e.message);
  throw e;
};

/** `autoglm backup`: a snapshot of the SQLite database, while the service runs. */
export async function runBackup(o: {
  readonly db?: string;
  readonly out: string;
  readonly config?: string;
}): Promise<BackupReport> {
  const config = sqliteConfig(o, 'backup');
  const out = resolve(o.out);
  if (existsSync(out)) throw new CliError('BACKUP_EXISTS', `${out} exists: choose another file, or remove it`);
  if (!existsSync(dirname(out))) throw new CliError('VALIDATION_FAILED', `no directory ${dirname(out)}`);
  const made = await backupSqlite(config.database.path, out).catch(asCliError);
  const key = defaultKeyPath(config);
  if (key === undefined || !existsSync(key)) return { file: out, ...made };
  return { file: out, ...made, masterKeyFile: copyKeyFile(key, `${out}.master.key`) };
}

/**
 * The master key the backup was sealed with: the one the configuration gives, or — for the
 * embedded default — the copy `backup` wrote beside it (placed beside the target once the restore
 * succeeded), else the target directory's own.
 */
function restoreKey(config: AppConfig, from: string, force: boolean): { bytes: Buffer; place?: () => string } {
  const mk = config.security.master_key;
  const here = defaultKeyPath(config);
  if (here === undefined) {
    if (mk.source === 'env' || mk.source === 'file') return { bytes: mk.bytes };
    throw new CliError('RESTORE_UNSUPPORTED', 'an in-memory database cannot be restored');
  }
  const saved = `${from}.master.key`;
  const read = (path: string): Buffer => {
    const bytes = readMasterKeyFile(path, 'the master key');
    if (typeof bytes === 'string') throw new CliError('RESTORE_MASTER_KEY_MISSING', bytes);
    return bytes;
  };
  if (!existsSync(saved)) {
    if (existsSync(here)) return { bytes: read(here) };
    throw new CliError(
      'RESTORE_MASTER_KEY_MISSING',
      `no ${saved} beside the backup and no ${here}: give the key the backup was made with ` +
        '(AUTOGLM_MASTER_KEY or security.master_key_file)',
    );
  }
  const bytes = read(saved);
  if (existsSync(here) && !read(here).equals(bytes) && !force)
    throw new CliError(
      'RESTORE_TARGET_NOT_EMPTY',
      `${here} holds another master key: restore into a fresh directory, or pass --force to replace it`,
    );
  return {
    bytes,
    place: () => copyKeyFile(saved, here),
  };
}

/**
 * `autoglm restore`: check the file is a backup of ours, copy it beside the target, open it as the
 * service would (migrated, its data keys unwrapped with the master key), read back what it holds,
 * and only then put it (and its master key) in place.
 */
export async function runRestore(o: {
  readonly from: string;
  readonly db?: string;
  readonly force: boolean;
  readonly config?: string;
}): Promise<RestoreReport> {
  const config = sqliteConfig(o, 'restore');
  const from = resolve(o.from);
  const target = resolve(config.database.path);
  try {
    inspectBackup(from);
  } catch (e) {
    asCliError(e);
  }
  if (sqliteHasData(target) && !o.force)
    throw new CliError(
      'RESTORE_TARGET_NOT_EMPTY',
      `${target} already has data: stop the service and pass --force to replace it, or restore elsewhere`,
    );
  const key = restoreKey(config, from, o.force);
  const staged = `${target}.restoring`;
  removeSqlite(staged);
  mkdirSync(dirname(target), { recursive: true });
  await copyBackup(from, staged).catch(asCliError);
  let report: Omit<RestoreReport, 'file' | 'masterKeyFile'>;
  try {
    report = await verify(key.bytes, staged);
  } catch (e) {
    removeSqlite(staged);
    throw e;
  }
  const masterKeyFile = key.place?.();
  removeSqlite(target);
  renameSync(staged, target);
  return { file: target, ...report, ...(masterKeyFile === undefined ? {} : { masterKeyFile }) };
}

/** Open the staged copy as the service would and read back what it holds. */
async function verify(masterKey: Buffer, path: string): Promise<Omit<RestoreReport, 'file' | 'masterKeyFile'>> {
  let storage: Awaited<ReturnType<typeof openSqlite>>;
  try {
    storage = await openSqlite(path, { cipher: new EnvelopeCipher(masterKey) });
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === 'CIPHER_WRONG_MASTER_KEY')
      throw new CliError('RESTORE_MASTER_KEY_MISMATCH', `${(e as Error).message}`);
    throw e;
  }
  try {
    const read = storage.unitOfWork.read;
    const orders = await sql<{ n: number | string }>`select count(*) as n from orders`.execute(storage.db);
    const ran = await sql<{ n: number | string }>`select count(*) as n from kysely_migration`.execute(storage.db);
    const jobs = await read.jobs.countByStatus(['queued', 'running']);
    return {
      migrations: Number(ran.rows[0]?.n ?? 0),
      orders: Number(orders.rows[0]?.n ?? 0),
      unbalancedJournals: (await read.ledger.unbalancedJournals()).length,
      pendingJobs: (jobs.queued ?? 0) + (jobs.running ?? 0),
    };
  } finally {
    await storage.close();
  }
}

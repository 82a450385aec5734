import { readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/**
 * Where the master key comes from. It wraps the data keys that seal stored phone numbers and
 * conversations, and decrypts `enc:v1:` values of the configuration; it is never stored in the
 * database and never logged (its bytes live only here and in the cipher).
 */
export type MasterKeyConfig =
  /** Given: `AUTOGLM_MASTER_KEY` (or `security.master_key`), or read from a key file. */
  | { readonly source: 'env' | 'file'; readonly bytes: Buffer; readonly path?: string }
  /** The embedded default's key file (`master.key` beside the SQLite file), made on first start. */
  | { readonly source: 'generate'; readonly path: string }
  /** An in-memory database: a random key for this process alone (nothing outlives it anyway). */
  | { readonly source: 'ephemeral' };

/** The file name of the embedded default's key file, in the SQLite file's directory. */
export const MASTER_KEY_FILE = 'master.key';

/** base64 of exactly 32 bytes (what `openssl rand -base64 32` prints), or why not. */
export function decodeMasterKey(text: string, what: string): Buffer | string {
  const t = text.trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(t)) return `${what}: not base64 (make one with: openssl rand -base64 32)`;
  const bytes = Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (bytes.length !== 32) return `${what}: must be base64 of 32 bytes (it decodes to ${bytes.length})`;
  return bytes;
}

/** Read a key file: base64 text of 32 bytes, not readable by group or others. */
export function readMasterKeyFile(path: string, what: string): Buffer | string {
  const abs = resolve(path);
  let text: string;
  try {
    const mode = statSync(abs).mode & 0o777;
    // Like ssh with a private key: a key file others can read is refused, not silently used.
    if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
      return `${what}: ${abs} is open to other users (mode ${mode.toString(8)}): chmod 600 ${abs}`;
    }
    text = readFileSync(abs, 'utf8');
  } catch (e) {
    return `${what}: cannot read ${abs}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`;
  }
  return decodeMasterKey(text, `${what} (${abs})`);
}

/** The key file exists (whatever its contents). */
function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Decide where the master key comes from, before anything else is validated (the key decrypts
 * `enc:` values first). Precedence: `security.master_key` (AUTOGLM_MASTER_KEY) › `security.master_key_file`
 * › the embedded default `master.key` beside a SQLite file (made on first start if absent). A
 * PostgreSQL database has no default: several instances must share one key, so it must be given.
 */
export function resolveMasterKey(
  security: { readonly master_key?: unknown; readonly master_key_file?: unknown },
  database: { readonly kind: 'sqlite' | 'postgres'; readonly path: string } | undefined,
): MasterKeyConfig | string {
  const given = security.master_key;
  const file = security.master_key_file;
  if (given !== undefined && file !== undefined)
    return 'security: give the master key once: AUTOGLM_MASTER_KEY or security.master_key_file, not both';
  if (typeof given === 'string') {
    const bytes = decodeMasterKey(given, 'security.master_key (AUTOGLM_MASTER_KEY)');
    return typeof bytes === 'string' ? bytes : { source: 'env', bytes };
  }
  if (typeof file === 'string' && file !== '') {
    // Given explicitly, it must exist: instances that made their own keys could not read each other's data.
    const bytes = readMasterKeyFile(file, 'security.master_key_file');
    return typeof bytes === 'string' ? bytes : { source: 'file', bytes, path: resolve(file) };
  }
  if (given !== undefined || file !== undefined) return 'security: master_key and master_key_file are strings';
  if (database === undefined) return 'security: no master key (the database URL is not readable to place one)';
  if (database.kind === 'postgres') {
    return (
      'security: a PostgreSQL database needs a master key shared by every instance: set AUTOGLM_MASTER_KEY ' +
      '(base64 of 32 random bytes: openssl rand -base64 32) or security.master_key_file (a file holding one, mode 0600)'
    );
  }
  if (database.path === ':memory:') return { source: 'ephemeral' };
  const path = join(dirname(resolve(database.path)), MASTER_KEY_FILE);
  if (!exists(path)) return { source: 'generate', path };
  const bytes = readMasterKeyFile(path, 'the master key file');
  return typeof bytes === 'string' ? bytes : { source: 'file', bytes, path };
}

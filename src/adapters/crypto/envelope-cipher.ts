import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, randomFillSync } from 'node:crypto';
import { CipherError, type FieldCipher } from '../../ports/field-cipher.js';

/** AES-256-GCM: 32-byte keys, 96-bit IVs (the size GCM is defined for), 128-bit tags. */
const ALGORITHM = 'aes-256-gcm';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A sealed value: `v1:<key id>:<base64url(iv ‖ ciphertext ‖ tag)>`. */
const VALUE_PREFIX = 'v1:';
/** A wrapped data key: `w1:<base64url(iv ‖ ciphertext ‖ tag)>`, its id bound as AAD. */
const WRAPPED_PREFIX = 'w1:';
/** Key ids are lower-case hex, so a prefix built from one never needs escaping in SQL. */
const KEY_ID_RE = /^[0-9a-f]{8,32}$/;

/** HKDF labels: one master key, a separate key for each purpose, none usable for another. */
const HKDF_SALT = 'open-autoglm';
export const KEY_PURPOSES = {
  wrap: 'autoglm/v1/data-key-wrap',
  blindIndex: 'autoglm/v1/blind-index',
} as const;

/** The key for one purpose, derived from the master key (HKDF-SHA256). */
export function deriveKey(master: Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', master, HKDF_SALT, purpose, KEY_BYTES));
}

/** The master key as given: exactly 32 bytes, or an error that says what is wrong without showing it. */
export function checkMasterKey(master: Buffer): void {
  if (master.length !== KEY_BYTES) {
    throw new CipherError(
      'CIPHER_BAD_FORMAT',
      `a master key is 32 bytes (base64 of 32 random bytes: openssl rand -base64 32); this one has ${master.length}`,
    );
  }
}

/**
 * Random IVs drawn from a buffer refilled 512 at a time: one `randomFillSync` per 512 values
 * instead of one `randomBytes` call per value (about a third of the cost of sealing a phone number).
 */
class IvPool {
  private readonly pool = Buffer.alloc(IV_BYTES * 512);
  private next = this.pool.length;

  take(): Buffer {
    if (this.next >= this.pool.length) {
      randomFillSync(this.pool);
      this.next = 0;
    }
    // A copy: the pool is refilled in place later, and the IV is kept inside the sealed value.
    const iv = Buffer.from(this.pool.subarray(this.next, this.next + IV_BYTES));
    this.next += IV_BYTES;
    return iv;
  }
}

function gcmSeal(key: Buffer, iv: Buffer, plaintext: Buffer, aad: Buffer): string {
  const c = createCipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
  c.setAAD(aad);
  const body = Buffer.concat([iv, c.update(plaintext), c.final(), c.getAuthTag()]);
  return body.toString('base64url');
}

/** The plaintext of `payload`, or undefined when it was altered or sealed under another key or AAD. */
function gcmOpen(key: Buffer, payload: string, aad: Buffer): Buffer | undefined {
  const body = Buffer.from(payload, 'base64url');
  if (body.length < IV_BYTES + TAG_BYTES) return undefined;
  const d = createDecipheriv(ALGORITHM, key, body.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
  d.setAAD(aad);
  d.setAuthTag(body.subarray(body.length - TAG_BYTES));
  try {
    return Buffer.concat([d.update(body.subarray(IV_BYTES, body.length - TAG_BYTES)), d.final()]);
  } catch {
    return undefined;
  }
}

/** Whether a stored value is sealed (versioned) rather than plaintext from before encryption. */
export function isSealed(stored: string): boolean {
  return stored.startsWith(VALUE_PREFIX);
}

/** The data key a sealed value names, or undefined for plaintext. */
export function keyIdOf(stored: string): string | undefined {
  if (!stored.startsWith(VALUE_PREFIX)) return undefined;
  const end = stored.indexOf(':', VALUE_PREFIX.length);
  return end < 0 ? undefined : stored.slice(VALUE_PREFIX.length, end);
}

/** `v1:<id>:`: what every value sealed with key `id` starts with (for SQL filters). */
export function sealedPrefix(id: string): string {
  return `${VALUE_PREFIX}${id}:`;
}

/**
 * The envelope cipher (FieldCipher) over node:crypto: data keys in memory once unwrapped (a Map
 * lookup per value, never an unwrap), values sealed with AES-256-GCM under a random 96-bit IV,
 * the column as additional authenticated data; blind indexes are HMAC-SHA256 under a key
 * derived from the master key for that purpose alone.
 *
 * Key material never leaves this object: errors name key ids and columns, never bytes.
 */
export class EnvelopeCipher implements FieldCipher {
  private readonly wrapKey: Buffer;
  private readonly indexKey: Buffer;
  private readonly keys = new Map<string, Buffer>();
  private current: { readonly id: string; readonly key: Buffer; readonly prefix: string } | undefined;
  private readonly ivs = new IvPool();
  /** Column names as AAD bytes, made once per column. */
  private readonly aads = new Map<string, Buffer>();

  constructor(master: Buffer) {
    checkMasterKey(master);
    this.wrapKey = deriveKey(master, KEY_PURPOSES.wrap);
    this.indexKey = deriveKey(master, KEY_PURPOSES.blindIndex);
  }

  seal(plaintext: string, column: string): string {
    const cur = this.current;
    if (cur === undefined) throw new CipherError('CIPHER_UNKNOWN_KEY', 'no data key chosen yet to seal with');
    return cur.prefix + gcmSeal(cur.key, this.ivs.take(), Buffer.from(plaintext, 'utf8'), this.aad(column));
  }

  open(stored: string, column: string): string {
    if (!stored.startsWith(VALUE_PREFIX)) return stored;
    const end = stored.indexOf(':', VALUE_PREFIX.length);
    if (end < 0) throw new CipherError('CIPHER_BAD_FORMAT', `a sealed value of ${column} has no key id`);
    const id = stored.slice(VALUE_PREFIX.length, end);
    const key = this.keys.get(id);
    if (key === undefined)
      throw new CipherError('CIPHER_UNKNOWN_KEY', `a value of ${column} is sealed with data key ${id}, not loaded`);
    const plain = gcmOpen(key, stored.slice(end + 1), this.aad(column));
    if (plain === undefined) {
      throw new CipherError(
        'CIPHER_TAMPERED',
        `a value of ${column} sealed with data key ${id} does not open: altered, or from another column`,
      );
    }
    return plain.toString('utf8');
  }

  isCurrent(stored: string): boolean {
    return this.current !== undefined && stored.startsWith(this.current.prefix);
  }

  blindIndex(value: string, purpose: string): string {
    return createHmac('sha256', this.indexKey)
      .update(purpose)
      .update('\0')
      .update(value)
      .digest()
      .subarray(0, 16)
      .toString('base64url');
  }

  missingKeys(stored: Iterable<string | null | undefined>): string[] {
    let missing: Set<string> | undefined;
    for (const s of stored) {
      if (s === null || s === undefined || !s.startsWith(VALUE_PREFIX)) continue;
      const id = keyIdOf(s);
      if (id !== undefined && !this.keys.has(id)) (missing ??= new Set()).add(id);
    }
    return missing === undefined ? [] : [...missing];
  }

  currentKeyId(): string | undefined {
    return this.current?.id;
  }

  createKey(): { readonly id: string; readonly wrapped: string } {
    const id = randomBytes(4).toString('hex');
    const key = randomBytes(KEY_BYTES);
    try {
      return { id, wrapped: WRAPPED_PREFIX + gcmSeal(this.wrapKey, randomBytes(IV_BYTES), key, wrapAad(id)) };
    } finally {
      key.fill(0);
    }
  }

  addKey(id: string, wrapped: string): void {
    if (this.keys.has(id)) return;
    if (!KEY_ID_RE.test(id) || !wrapped.startsWith(WRAPPED_PREFIX))
      throw new CipherError('CIPHER_BAD_FORMAT', `data key ${id} is not in a known format`);
    const key = gcmOpen(this.wrapKey, wrapped.slice(WRAPPED_PREFIX.length), wrapAad(id));
    if (key?.length !== KEY_BYTES) {
      throw new CipherError(
        'CIPHER_WRONG_MASTER_KEY',
        `the master key does not unwrap data key ${id}: the database was encrypted with another master key ` +
          '(check AUTOGLM_MASTER_KEY / security.master_key_file)',
      );
    }
    this.keys.set(id, key);
  }

  useKey(id: string): void {
    const key = this.keys.get(id);
    if (key === undefined) throw new CipherError('CIPHER_UNKNOWN_KEY', `data key ${id} is not loaded`);
    this.current = { id, key, prefix: sealedPrefix(id) };
  }

  private aad(column: string): Buffer {
    let a = this.aads.get(column);
    if (a === undefined) {
      a = Buffer.from(column, 'utf8');
      this.aads.set(column, a);
    }
    return a;
  }
}

const wrapAad = (id: string): Buffer => Buffer.from(`autoglm data key ${id}`, 'utf8');

/**
 * Encryption of single stored values (a phone number, a conversation, a stored answer) with
 * envelope keys: each value is sealed with a data key, and data keys are kept in the database
 * wrapped by a master key that never is. The storage adapters seal on the way in and open on the
 * way out, so the application and the records of src/ports only ever see plaintext.
 *
 * A sealed value names the data key that sealed it (`v1:<key id>:<payload>`); a value without
 * that prefix is one written before encryption existed and is read as the plaintext it is.
 */
export interface FieldCipher {
  /**
   * Seal `plaintext` with the current data key. `column` ("table.column") is bound to the value
   * (authenticated, not stored): a value copied into another column does not open there.
   */
  seal(plaintext: string, column: string): string;
  /**
   * The plaintext of a stored value: a sealed one opened with the data key it names (which must
   * be in memory: see `missingKeys`), an unversioned one as it is. Throws `CipherError` when the
   * value was altered, belongs to another column, or names a key not loaded.
   */
  open(stored: string, column: string): string;
  /** Whether `stored` is sealed with the current data key (false for plaintext and older keys). */
  isCurrent(stored: string): boolean;
  /**
   * A keyed, deterministic digest of `value` for equality lookups (a blind index): the same value
   * and purpose always give the same string, and without the master key nothing can be learnt
   * from it. `purpose` separates indexes (a phone index never equals a conversation digest).
   */
  blindIndex(value: string, purpose: string): string;

  /** The ids of data keys named by these stored values that are not in memory yet. */
  missingKeys(stored: Iterable<string | null | undefined>): string[];
  /** The data key new values are sealed with (undefined before one is chosen). */
  currentKeyId(): string | undefined;
  /** A new random data key, wrapped with the master key for storage; not used until `useKey`. */
  createKey(): { readonly id: string; readonly wrapped: string };
  /**
   * Unwrap a data key read from storage and keep it in memory (once: a key already held is not
   * unwrapped again). Throws `CipherError` when the master key does not unwrap it.
   */
  addKey(id: string, wrapped: string): void;
  /** Seal new values with this key (added before) from now on. */
  useKey(id: string): void;
}

/** A value that cannot be opened, or a key that cannot be unwrapped. Never carries key material or plaintext. */
export class CipherError extends Error {
  constructor(
    readonly code: 'CIPHER_TAMPERED' | 'CIPHER_UNKNOWN_KEY' | 'CIPHER_BAD_FORMAT' | 'CIPHER_WRONG_MASTER_KEY',
    message: string,
  ) {
    super(message);
    this.name = 'CipherError';
  }
}

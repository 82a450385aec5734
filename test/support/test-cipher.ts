import { EnvelopeCipher } from '../../src/adapters/crypto/envelope-cipher.js';

/**
 * The master key of the tests' PostgreSQL databases (a PostgreSQL deployment must be given one;
 * every instance on a database, and every storage a test opens on it, must share it).
 */
export const TEST_MASTER_KEY = Buffer.from('b3Blbi1hdXRvZ2xtIHRlc3QgbWFzdGVyIGtleSAhISE=', 'base64');
export const TEST_MASTER_KEY_BASE64 = TEST_MASTER_KEY.toString('base64');

/** A fresh cipher (its own in-memory keyring) under the tests' master key: one per storage opened. */
export const testCipher = (): EnvelopeCipher => new EnvelopeCipher(TEST_MASTER_KEY);

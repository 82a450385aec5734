import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { checkMasterKey } from './envelope-cipher.js';

/**
 * The embedded default's master key, made on first start: 32 random bytes as base64 text in a
 * file only its owner may read or write (mode 0600, set as the file is created, so it is never
 * readable by others even for an instant). Two processes starting at once: the file is created
 * exclusively, and the one that finds it made reads the other's. Returns the key; never logs it.
 */
export function createMasterKeyFile(path: string): Buffer {
  mkdirSync(dirname(path), { recursive: true });
  const key = randomBytes(32);
  try {
    writeFileSync(path, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    return key;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const made = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
  checkMasterKey(made);
  return made;
}

import { hash, verify } from '@node-rs/argon2';

/** `Algorithm.Argon2id` (a const enum the package declares; its value is fixed by the argon2 spec order). */
const ARGON2ID = 2;
import type { PasswordHasher } from '../../ports/credentials.js';

/** argon2id with the library's defaults (m=19 MiB, t=2, p=1: OWASP's minimum), parameters kept in the hash. */
export const argon2PasswordHasher: PasswordHasher = {
  hash: (password) => hash(password, { algorithm: ARGON2ID }),
  verify: async (h, password) => {
    try {
      return await verify(h, password);
    } catch {
      return false;
    }
  },
};

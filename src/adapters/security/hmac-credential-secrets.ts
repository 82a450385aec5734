import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { CredentialSecrets } from '../../ports/credentials.js';

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** Ids from 80 random bits in base32; secrets of 256 random bits; stored as HMAC-SHA256 under a service key. */
export function hmacCredentialSecrets(key: Uint8Array): CredentialSecrets {
  return {
    mint() {
      const idBytes = randomBytes(16);
      let id = '';
      for (const b of idBytes) id += BASE32[b & 31];
      return { id, secret: randomBytes(32).toString('base64url') };
    },
    hash: (secret) => createHmac('sha256', key).update(secret).digest('hex'),
    matches(secret, hash) {
      const a = Buffer.from(createHmac('sha256', key).update(secret).digest('hex'));
      const b = Buffer.from(hash);
      return a.length === b.length && timingSafeEqual(a, b);
    },
  };
}

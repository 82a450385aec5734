import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Secrets in configuration given encrypted: `enc:v1:<base64url(iv ‖ ciphertext ‖ tag)>`, AES-256-GCM
 * under a key derived from the master key (HKDF-SHA256, its own label, so it opens nothing else),
 * made by `autoglm secrets encrypt`. Any string value of the configuration — a gateway's private
 * key, an API v3 key, a channel secret, a database URL — may be given this way; it is decrypted
 * once, at load, before validation.
 */
export const SECRET_PREFIX = 'enc:v1:';
const PURPOSE = 'autoglm/v1/config-secret';
const AAD = Buffer.from('autoglm config secret v1', 'utf8');
const IV_BYTES = 12;
const TAG_BYTES = 16;

const secretKey = (master: Buffer): Buffer => Buffer.from(hkdfSync('sha256', master, 'open-autoglm', PURPOSE, 32));

/** `plaintext` as an `enc:v1:` value for a configuration file. */
export function encryptSecret(master: Buffer, plaintext: string): string {
  const iv = randomBytes(IV_BYTES);
  const c = createCipheriv('aes-256-gcm', secretKey(master), iv, { authTagLength: TAG_BYTES });
  c.setAAD(AAD);
  const body = Buffer.concat([iv, c.update(plaintext, 'utf8'), c.final(), c.getAuthTag()]);
  return SECRET_PREFIX + body.toString('base64url');
}

/** The plaintext of an `enc:v1:` value, or undefined when this master key does not open it. */
export function decryptSecret(master: Buffer, value: string): string | undefined {
  if (!value.startsWith(SECRET_PREFIX)) return undefined;
  const body = Buffer.from(value.slice(SECRET_PREFIX.length), 'base64url');
  if (body.length < IV_BYTES + TAG_BYTES) return undefined;
  const d = createDecipheriv('aes-256-gcm', secretKey(master), body.subarray(0, IV_BYTES), {
    authTagLength: TAG_BYTES,
  });
  d.setAAD(AAD);
  d.setAuthTag(body.subarray(body.length - TAG_BYTES));
  try {
    return Buffer.concat([d.update(body.subarray(IV_BYTES, body.length - TAG_BYTES)), d.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}

/** The paths (`gateways.alipay.private_key`) of every `enc:` string in a raw configuration tree. */
export function encryptedPaths(raw: unknown, path: readonly string[] = []): string[][] {
  if (typeof raw === 'string') return raw.startsWith('enc:') ? [[...path]] : [];
  if (raw === null || typeof raw !== 'object') return [];
  return Object.entries(raw).flatMap(([k, v]) => encryptedPaths(v, [...path, k]));
}

/**
 * A copy of `raw` with every `enc:v1:` value decrypted; problems (a wrong master key, an unknown
 * version) are named by path, never by value.
 */
export function decryptSecrets(raw: unknown, master: Buffer): { value: unknown; issues: string[] } {
  const issues: string[] = [];
  const walk = (v: unknown, path: readonly string[]): unknown => {
    if (typeof v === 'string') {
      if (!v.startsWith('enc:')) return v;
      const where = path.join('.');
      if (!v.startsWith(SECRET_PREFIX)) {
        issues.push(`${where}: an encrypted value must start with ${SECRET_PREFIX} (made by autoglm secrets encrypt)`);
        return v;
      }
      const plain = decryptSecret(master, v);
      if (plain === undefined)
        issues.push(`${where}: the master key does not decrypt this value (another master key, or altered)`);
      return plain ?? v;
    }
    if (Array.isArray(v)) return v.map((x, i) => walk(x, [...path, String(i)]));
    if (v === null || typeof v !== 'object') return v;
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, [...path, k])]));
  };
  return { value: walk(raw, []), issues };
}

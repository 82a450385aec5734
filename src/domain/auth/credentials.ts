import type { Role } from './permissions.js';

/**
 * Credential formats. An API key is `agk_<id>_<secret>` and a refresh token `agr_<id>_<secret>`:
 * the id (also the key's visible prefix) finds the record, the secret is only ever stored as a
 * keyed hash. Both parts are URL-safe base64/base32 letters, so a key survives copy and paste.
 */
export const API_KEY_PREFIX = 'agk_';
export const REFRESH_PREFIX = 'agr_';

const ID_RE = /^[a-z2-7]{16}$/;
const SECRET_RE = /^[A-Za-z0-9_-]{43}$/;

export interface ParsedCredential {
  readonly id: string;
  readonly secret: string;
}

/** Split a key or refresh token of the given prefix; undefined when it is not one. */
export function parseCredential(prefix: string, text: string): ParsedCredential | undefined {
  if (!text.startsWith(prefix)) return undefined;
  const rest = text.slice(prefix.length);
  const cut = rest.indexOf('_');
  if (cut < 0) return undefined;
  const id = rest.slice(0, cut);
  const secret = rest.slice(cut + 1);
  return ID_RE.test(id) && SECRET_RE.test(secret) ? { id, secret } : undefined;
}

export function formatCredential(prefix: string, c: ParsedCredential): string {
  return `${prefix}${c.id}_${c.secret}`;
}

/** What an access token (a short-lived JWT) says about its holder. */
export interface AccessClaims {
  readonly tenantId: string;
  readonly principalId: string;
  readonly role: Role;
  /** The login it was issued under (its refresh-token family): ending the login ends the token. */
  readonly familyId: string;
}

/** Names a principal id may take: letters, digits and . _ @ - (phone numbers too; masked in logs). */
export const PRINCIPAL_ID_RE = /^[A-Za-z0-9._@-]{1,64}$/;

/** Names a tenant may take (as `tenant.default_id` in the configuration). */
export const TENANT_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

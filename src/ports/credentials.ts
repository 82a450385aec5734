import type { AccessClaims, ParsedCredential } from '../domain/auth/credentials.js';

/** Password hashing (argon2id): slow on purpose, salted, the parameters inside the hash. */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(hash: string, password: string): Promise<boolean>;
}

/**
 * Short-lived access tokens (signed JWTs) any instance can verify by their signature. Each names
 * the login it belongs to, so one whose login was ended (logout, a reused refresh token) is refused
 * before it expires.
 */
export interface AccessTokens {
  issue(claims: AccessClaims, ttlSeconds: number): Promise<string>;
  /** The claims of a genuine, unexpired token; undefined otherwise. */
  verify(token: string): Promise<AccessClaims | undefined>;
}

/** Random credentials and their keyed hashes (what is stored instead of the secret). */
export interface CredentialSecrets {
  /** A new id (its public part) and secret. */
  mint(): ParsedCredential;
  /** Keyed hash of a secret, for storage. */
  hash(secret: string): string;
  /** Whether `secret` hashes to `hash`, in constant time. */
  matches(secret: string, hash: string): boolean;
}

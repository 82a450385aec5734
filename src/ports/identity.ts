import type { Role } from '../domain/auth/permissions.js';

/** A tenant: owns everything; nothing crosses from one to another. */
export interface TenantRecord {
  readonly id: string;
  readonly name: string;
  readonly createdAt: number;
}

/**
 * Someone (or something) that holds credentials inside a tenant: a person (role user, operator,
 * admin or viewer) or an agent (role agent) acting for exactly one person (`actsFor`).
 */
export interface PrincipalRecord {
  readonly tenantId: string;
  readonly id: string;
  readonly kind: 'person' | 'agent';
  readonly role: Role;
  readonly actsFor: string | null;
  readonly displayName: string | null;
  /** argon2id; null for principals that only use API keys. */
  readonly passwordHash: string | null;
  readonly createdAt: number;
  readonly disabledAt: number | null;
}

/** An API key as stored: never the key itself, only its keyed hash. */
export interface ApiKeyRecord {
  /** The key's public id, shown as its prefix; unique across tenants. */
  readonly id: string;
  readonly tenantId: string;
  readonly principalId: string;
  readonly secretHash: string;
  readonly createdBy: string;
  readonly createdAt: number;
  readonly expiresAt: number | null;
  readonly revokedAt: number | null;
}

/** One refresh token of a login's family; each is spent once, and a second use revokes the family. */
export interface RefreshTokenRecord {
  readonly id: string;
  readonly tenantId: string;
  readonly principalId: string;
  readonly familyId: string;
  readonly tokenHash: string;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly usedAt: number | null;
  readonly revokedAt: number | null;
}

/** A person as the people list shows them: the record, their last login, their live API keys. */
export interface PersonRow {
  readonly principal: PrincipalRecord;
  readonly lastLoginAt: number | null;
  /** Keys neither revoked nor expired at the time asked. */
  readonly liveKeys: number;
}

/** Tenants, principals, keys, refresh tokens and the service's own secrets. */
export interface IdentityRepository {
  /** Create the tenant unless it exists; false if it did. */
  ensureTenant(t: TenantRecord): Promise<boolean>;
  getTenant(id: string): Promise<TenantRecord | undefined>;
  /** Insert first: false if a principal with this id exists in the tenant. */
  insertPrincipal(p: PrincipalRecord): Promise<boolean>;
  getPrincipal(tenantId: string, id: string): Promise<PrincipalRecord | undefined>;
  setPassword(tenantId: string, id: string, passwordHash: string): Promise<boolean>;
  /**
   * The tenant's people (not agents) by id, after `after` (or only the one named `only`), at most
   * `limit`, each with their live keys at `now`.
   */
  listPeople(
    tenantId: string,
    page: { readonly after?: string; readonly only?: string; readonly limit: number; readonly now: number },
  ): Promise<PersonRow[]>;
  /**
   * Set a principal's role and/or disable (a time) or enable (null) them; false when there is no
   * such principal.
   */
  changePrincipal(
    tenantId: string,
    id: string,
    change: { readonly role?: Role; readonly disabledAt?: number | null },
  ): Promise<boolean>;
  /** Note a successful password login. */
  recordLogin(tenantId: string, id: string, at: number): Promise<void>;
  /**
   * Inside a transaction: wait for any other transaction changing the tenant's people's roles or
   * access to finish, so a decision such as "not the last admin" is made on what it committed.
   * (PostgreSQL: a transaction-scoped advisory lock; SQLite: every write transaction already
   * runs alone, BEGIN IMMEDIATE.)
   */
  lockPeople(tenantId: string): Promise<void>;
  /** People of the tenant with role admin who are not disabled. */
  countActiveAdmins(tenantId: string): Promise<number>;
  /** Revoke every live key of the principal and of the agents acting for them; the ids revoked. */
  revokeKeysOfPerson(tenantId: string, personId: string, at: number): Promise<string[]>;
  /** Revoke every live refresh token of the principal (ending all their logins); how many. */
  revokeRefreshTokensOf(tenantId: string, principalId: string, at: number): Promise<number>;
  insertKey(k: ApiKeyRecord): Promise<void>;
  /** A key by its public id (any tenant: ids are unique). */
  getKey(id: string): Promise<ApiKeyRecord | undefined>;
  /** A key and the principal it belongs to, read together (one round trip per authenticated call). */
  getKeyWithPrincipal(id: string): Promise<{ key: ApiKeyRecord; principal: PrincipalRecord | undefined } | undefined>;
  listKeys(tenantId: string): Promise<ApiKeyRecord[]>;
  /** Revoke a live key; false when there is none live with this id in the tenant. */
  revokeKey(tenantId: string, id: string, at: number): Promise<boolean>;
  /** Whether any live key of any principal with this role exists in the tenant (first-start bootstrap). */
  hasLiveKeyForRole(tenantId: string, role: Role, now: number): Promise<boolean>;
  insertRefreshToken(t: RefreshTokenRecord): Promise<void>;
  getRefreshToken(id: string): Promise<RefreshTokenRecord | undefined>;
  /** Spend a refresh token: true only for the one call that found it unused and unrevoked. */
  useRefreshToken(id: string, at: number): Promise<boolean>;
  /** Revoke every token of a family (logout, or a spent token used again); returns how many. */
  revokeRefreshFamily(familyId: string, at: number): Promise<number>;
  /** Whether the family was revoked: its login ended, and every access token issued under it with it. */
  refreshFamilyRevoked(familyId: string): Promise<boolean>;
  /** The secret of this name, creating it from `value` if absent (insert first: every instance agrees). */
  secret(name: string, value: string, now: number): Promise<string>;
}

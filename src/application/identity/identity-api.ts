import {
  API_KEY_PREFIX,
  formatCredential,
  parseCredential,
  PRINCIPAL_ID_RE,
  REFRESH_PREFIX,
  TENANT_ID_RE,
} from '../../domain/auth/credentials.js';
import { can, isRole, type Role } from '../../domain/auth/permissions.js';
import { err, ok, type Result } from '../../domain/result.js';
import type { AccessTokens, CredentialSecrets, PasswordHasher } from '../../ports/credentials.js';
import type { ApiKeyRecord, PrincipalRecord } from '../../ports/identity.js';
import type { Repositories } from '../../ports/repositories.js';
import type { Caller } from '../kernel/caller.js';
import { SYSTEM } from '../kernel/caller.js';
import type { ChangeSet } from '../kernel/change-set.js';
import type { Deps } from '../kernel/deps.js';
import { tx } from '../kernel/tx.js';
import { asResult, UseCaseError } from '../kernel/use-case-error.js';
import { createPeople, type PeopleApi } from './manage-people.js';
import type { Principal } from './principal.js';

export { callerOf, type Principal } from './principal.js';
export type { PersonChange, PersonView } from './manage-people.js';

/** What the API shows of a key: never the key itself (only once, when it is made). */
export interface KeyView {
  readonly id: string;
  readonly prefix: string;
  readonly principal: string;
  readonly role: Role;
  readonly acts_for: string | null;
  readonly created_by: string;
  readonly created_at: string;
  readonly expires_at: string | null;
  readonly revoked_at: string | null;
}

/** A login: a short-lived access token and the refresh token that renews it, once. */
export interface Session {
  readonly access_token: string;
  readonly token_type: 'Bearer';
  readonly expires_in: number;
  readonly refresh_token: string;
  readonly refresh_expires_in: number;
  readonly principal: { readonly tenant: string; readonly id: string; readonly role: Role };
}

export interface IdentitySettings {
  /** Access tokens live at most 15 minutes. */
  readonly accessTokenTtlSeconds: number;
  readonly refreshTokenTtlSeconds: number;
}

/**
 * How a credential is made. `createTenant`: the caller's tenant is created if it does not exist yet
 * (in the same transaction, audited `tenant.created`) — for the local administrator of the
 * database (`autoglm keys create --db … --tenant T`); a caller over HTTP is always in a tenant
 * that exists, and its own.
 */
export interface CreateOptions {
  readonly createTenant?: boolean;
}

export interface IdentityPorts {
  readonly passwords: PasswordHasher;
  readonly tokens: AccessTokens;
  readonly secrets: CredentialSecrets;
}

/** Who may do what, and proof of who is asking: keys, people's logins, refresh-token families. */
export interface IdentityApi extends PeopleApi {
  /** The principal behind a bearer credential (an API key or an access token); refused: UNAUTHENTICATED. */
  authenticate(credential: string): Promise<Result<Principal>>;
  /**
   * First start of a tenant: create it and its `admin` with an API key — once, however many
   * instances start together (insert first). The key, shown only here; undefined when the admin existed.
   */
  bootstrap(tenantId: string): Promise<string | undefined>;
  createKey(
    caller: Caller,
    request: {
      readonly role: unknown;
      readonly user: unknown;
      readonly actsFor?: unknown;
      readonly expiresAt?: unknown;
    },
    options?: CreateOptions,
  ): Promise<Result<{ readonly key: string; readonly view: KeyView; readonly tenantCreated: boolean }>>;
  listKeys(caller: Caller): Promise<Result<KeyView[]>>;
  revokeKey(caller: Caller, id: string): Promise<Result<KeyView>>;
  createUser(
    caller: Caller,
    request: { readonly user: unknown; readonly password: unknown; readonly role?: unknown },
    options?: CreateOptions,
  ): Promise<Result<{ readonly id: string; readonly role: Role; readonly tenantCreated: boolean }>>;
  login(request: {
    readonly tenant?: unknown;
    readonly user: unknown;
    readonly password: unknown;
  }): Promise<Result<Session>>;
  /** Spend a refresh token for a new pair; a spent one used again revokes its whole family. */
  refresh(refreshToken: string): Promise<Result<Session>>;
  logout(refreshToken: string): Promise<Result<{ readonly revoked: number }>>;
}

const MIN_PASSWORD = 10;

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/**
 * Built from the runtime like every capability, but needing only storage, the clock and the log: a
 * local command (`autoglm keys create --db …`) builds it on a database without the job runner.
 */
export function createIdentity(
  rt: { readonly deps: Pick<Deps, 'uow' | 'clock' | 'logger'> },
  ports: IdentityPorts,
  settings: IdentitySettings,
): { readonly api: IdentityApi } {
  const { deps } = rt;
  const read = deps.uow.read.identity;
  const unauthenticated = err('UNAUTHENTICATED', 'the credential is missing, unknown, expired or revoked');

  const view = (k: ApiKeyRecord, p: PrincipalRecord | undefined): KeyView => ({
    id: k.id,
    prefix: `${API_KEY_PREFIX}${k.id}`,
    principal: k.principalId,
    role: p?.role ?? 'viewer',
    acts_for: p?.actsFor ?? null,
    created_by: k.createdBy,
    created_at: new Date(k.createdAt).toISOString(),
    expires_at: iso(k.expiresAt),
    revoked_at: iso(k.revokedAt),
  });

  const mustManage = (caller: Caller, permission: 'keys.manage' | 'users.manage'): void => {
    if (!can(caller.role, permission)) throw new UseCaseError('FORBIDDEN', `${caller.role} may not ${permission}`);
  };

  const mustNameTenant = (caller: Caller, options: CreateOptions): void => {
    if (options.createTenant === true && !TENANT_ID_RE.test(caller.tenantId)) {
      throw new UseCaseError('VALIDATION_FAILED', 'a tenant is 1–64 letters, digits, _ or -');
    }
  };

  /** Insert first: true when this transaction created the tenant. */
  const openTenant = async (
    r: Repositories,
    changes: ChangeSet,
    tenantId: string,
    now: number,
    options: CreateOptions,
  ): Promise<boolean> => {
    if (options.createTenant !== true) return false;
    const created = await r.identity.ensureTenant({ id: tenantId, name: tenantId, createdAt: now });
    if (created) changes.audit('tenant', tenantId, tenantId, 'tenant.created', null, { name: tenantId });
    return created;
  };

  const principalOf = (p: PrincipalRecord, keyId?: string): Principal => ({
    tenantId: p.tenantId,
    id: p.id,
    role: p.role,
    kind: p.kind,
    actsFor: p.actsFor,
    ...(keyId === undefined ? {} : { keyId }),
  });

  /** A new login (`login`: a password was just checked) or the next pair of one (a refresh). */
  const issueSession = async (p: PrincipalRecord, familyId: string, login = false): Promise<Session> => {
    const now = deps.clock.now();
    const refresh = ports.secrets.mint();
    await tx(deps.uow, { actor: `${p.role}:${p.id}`, now, requestId: null }, async (r) => {
      await r.identity.insertRefreshToken({
        id: refresh.id,
        tenantId: p.tenantId,
        principalId: p.id,
        familyId,
        tokenHash: ports.secrets.hash(refresh.secret),
        createdAt: now,
        expiresAt: now + settings.refreshTokenTtlSeconds * 1000,
        usedAt: null,
        revokedAt: null,
      });
      if (login) await r.identity.recordLogin(p.tenantId, p.id, now);
    });
    return {
      access_token: await ports.tokens.issue(
        { tenantId: p.tenantId, principalId: p.id, role: p.role, familyId },
        settings.accessTokenTtlSeconds,
      ),
      token_type: 'Bearer',
      expires_in: settings.accessTokenTtlSeconds,
      refresh_token: formatCredential(REFRESH_PREFIX, refresh),
      refresh_expires_in: settings.refreshTokenTtlSeconds,
      principal: { tenant: p.tenantId, id: p.id, role: p.role },
    };
  };

  // A fixed argon2id hash of a random password, verified against when the user does not exist.
  const DUMMY_HASH = ports.passwords.hash(ports.secrets.mint().secret);

  const api: IdentityApi = {
    ...createPeople(rt),

    async authenticate(credential) {
      const now = deps.clock.now();
      const key = parseCredential(API_KEY_PREFIX, credential);
      if (key !== undefined) {
        const found = await read.getKeyWithPrincipal(key.id);
        const stored = found?.key;
        if (
          stored === undefined ||
          stored.revokedAt !== null ||
          (stored.expiresAt !== null && stored.expiresAt <= now) ||
          !ports.secrets.matches(key.secret, stored.secretHash)
        ) {
          return unauthenticated;
        }
        const p = found?.principal;
        if (p === undefined || p.disabledAt !== null) return unauthenticated;
        return ok(principalOf(p, stored.id));
      }
      const claims = await ports.tokens.verify(credential);
      if (claims === undefined) return unauthenticated;
      // A login ended early (logout, or its refresh token stolen and reused) ends its access tokens
      // at once, not when they expire.
      if (await read.refreshFamilyRevoked(claims.familyId)) return unauthenticated;
      const p = await read.getPrincipal(claims.tenantId, claims.principalId);
      if (p === undefined || p.disabledAt !== null) return unauthenticated;
      return ok(principalOf(p));
    },

    async bootstrap(tenantId) {
      const now = deps.clock.now();
      const key = ports.secrets.mint();
      return tx(deps.uow, { actor: SYSTEM.bootstrap, now, requestId: null }, async (r, changes) => {
        await r.identity.ensureTenant({ id: tenantId, name: tenantId, createdAt: now });
        const created = await r.identity.insertPrincipal({
          tenantId,
          id: 'admin',
          kind: 'person',
          role: 'admin',
          actsFor: null,
          displayName: 'administrator',
          passwordHash: null,
          createdAt: now,
          disabledAt: null,
        });
        if (!created) return undefined;
        await r.identity.insertKey({
          id: key.id,
          tenantId,
          principalId: 'admin',
          secretHash: ports.secrets.hash(key.secret),
          createdBy: SYSTEM.bootstrap,
          createdAt: now,
          expiresAt: null,
          revokedAt: null,
        });
        changes.audit('api_key', tenantId, key.id, 'api_key.created', null, { principal: 'admin', role: 'admin' });
        return formatCredential(API_KEY_PREFIX, key);
      });
    },

    createKey: (caller, request, options = {}) =>
      asResult(async () => {
        mustManage(caller, 'keys.manage');
        mustNameTenant(caller, options);
        const role = request.role;
        if (!isRole(role))
          throw new UseCaseError('VALIDATION_FAILED', 'role is one of admin, operator, user, agent, viewer');
        if (typeof request.user !== 'string' || !PRINCIPAL_ID_RE.test(request.user)) {
          throw new UseCaseError('VALIDATION_FAILED', 'user is 1–64 letters, digits or . _ @ -');
        }
        const user = request.user;
        let actsFor: string | null = null;
        if (role === 'agent') {
          if (typeof request.actsFor !== 'string' || !PRINCIPAL_ID_RE.test(request.actsFor)) {
            throw new UseCaseError('VALIDATION_FAILED', 'an agent acts for exactly one person: name them (acts_for)');
          }
          actsFor = request.actsFor;
        }
        let expiresAt: number | null = null;
        if (request.expiresAt !== undefined && request.expiresAt !== null) {
          const t = typeof request.expiresAt === 'string' ? Date.parse(request.expiresAt) : Number.NaN;
          if (!Number.isFinite(t) || t <= deps.clock.now()) {
            throw new UseCaseError('VALIDATION_FAILED', 'expires_at is an ISO 8601 time in the future');
          }
          expiresAt = t;
        }
        const now = deps.clock.now();
        const key = ports.secrets.mint();
        const made = await tx(
          deps.uow,
          { actor: caller.actor, now, requestId: caller.requestId },
          async (r, changes) => {
            const tenantCreated = await openTenant(r, changes, caller.tenantId, now, options);
            const existing = await r.identity.getPrincipal(caller.tenantId, user);
            const principal: PrincipalRecord = existing ?? {
              tenantId: caller.tenantId,
              id: user,
              kind: role === 'agent' ? 'agent' : 'person',
              role,
              actsFor,
              displayName: null,
              passwordHash: null,
              createdAt: now,
              disabledAt: null,
            };
            if (existing === undefined) {
              if (actsFor !== null && (await r.identity.getPrincipal(caller.tenantId, actsFor))?.kind === 'agent') {
                throw new UseCaseError('VALIDATION_FAILED', 'an agent acts for a person, not for another agent');
              }
              await r.identity.insertPrincipal(principal);
              changes.audit('principal', caller.tenantId, user, 'principal.created', null, { role, acts_for: actsFor });
            } else if (existing.role !== role || existing.actsFor !== actsFor) {
              throw new UseCaseError(
                'PRINCIPAL_EXISTS',
                `${user} exists as ${existing.role}${existing.actsFor === null ? '' : ` for ${existing.actsFor}`}`,
              );
            }
            const record: ApiKeyRecord = {
              id: key.id,
              tenantId: caller.tenantId,
              principalId: user,
              secretHash: ports.secrets.hash(key.secret),
              createdBy: caller.actor,
              createdAt: now,
              expiresAt,
              revokedAt: null,
            };
            await r.identity.insertKey(record);
            changes.audit('api_key', caller.tenantId, key.id, 'api_key.created', null, {
              principal: user,
              role,
              expires_at: iso(expiresAt),
            });
            return { record, principal, tenantCreated };
          },
        );
        return {
          key: formatCredential(API_KEY_PREFIX, key),
          view: view(made.record, made.principal),
          tenantCreated: made.tenantCreated,
        };
      }),

    listKeys: (caller) =>
      asResult(async () => {
        mustManage(caller, 'keys.manage');
        const keys = await read.listKeys(caller.tenantId);
        const principals = new Map<string, PrincipalRecord | undefined>();
        for (const k of keys) {
          if (!principals.has(k.principalId)) {
            principals.set(k.principalId, await read.getPrincipal(caller.tenantId, k.principalId));
          }
        }
        return keys.map((k) => view(k, principals.get(k.principalId)));
      }),

    revokeKey: (caller, id) =>
      asResult(async () => {
        mustManage(caller, 'keys.manage');
        const now = deps.clock.now();
        return tx(deps.uow, { actor: caller.actor, now, requestId: caller.requestId }, async (r, changes) => {
          const k = await r.identity.getKey(id);
          if (k === undefined || k.tenantId !== caller.tenantId)
            throw new UseCaseError('KEY_NOT_FOUND', `no key ${id}`);
          if (await r.identity.revokeKey(caller.tenantId, id, now)) {
            changes.audit(
              'api_key',
              caller.tenantId,
              id,
              'api_key.revoked',
              { revoked_at: null },
              { revoked_at: iso(now) },
            );
          }
          const after = await r.identity.getKey(id);
          return view(after ?? k, await r.identity.getPrincipal(caller.tenantId, k.principalId));
        });
      }),

    createUser: (caller, request, options = {}) =>
      asResult(async () => {
        mustManage(caller, 'users.manage');
        mustNameTenant(caller, options);
        const role = request.role ?? 'user';
        if (!isRole(role) || role === 'agent') {
          throw new UseCaseError('VALIDATION_FAILED', 'a person is one of admin, operator, user, viewer');
        }
        if (typeof request.user !== 'string' || !PRINCIPAL_ID_RE.test(request.user)) {
          throw new UseCaseError('VALIDATION_FAILED', 'user is 1–64 letters, digits or . _ @ -');
        }
        if (typeof request.password !== 'string' || request.password.length < MIN_PASSWORD) {
          throw new UseCaseError('VALIDATION_FAILED', `a password has at least ${MIN_PASSWORD} characters`);
        }
        const user = request.user;
        const passwordHash = await ports.passwords.hash(request.password);
        const now = deps.clock.now();
        const meta = { actor: caller.actor, now, requestId: caller.requestId };
        const tenantCreated = await tx(deps.uow, meta, async (r, changes) => {
          const created = await openTenant(r, changes, caller.tenantId, now, options);
          const existing = await r.identity.getPrincipal(caller.tenantId, user);
          if (existing !== undefined) {
            if (existing.kind === 'agent' || existing.role !== role) {
              throw new UseCaseError('PRINCIPAL_EXISTS', `${user} exists as ${existing.role}`);
            }
            await r.identity.setPassword(caller.tenantId, user, passwordHash);
            changes.audit('principal', caller.tenantId, user, 'principal.password_set', null, {});
            return created;
          }
          await r.identity.insertPrincipal({
            tenantId: caller.tenantId,
            id: user,
            kind: 'person',
            role,
            actsFor: null,
            displayName: null,
            passwordHash,
            createdAt: now,
            disabledAt: null,
          });
          changes.audit('principal', caller.tenantId, user, 'principal.created', null, { role });
          return created;
        });
        return { id: user, role, tenantCreated };
      }),

    async login(request) {
      const tenant = request.tenant ?? 'default';
      const bad = err('INVALID_CREDENTIALS', 'the user name or the password is wrong');
      if (typeof tenant !== 'string' || typeof request.user !== 'string' || typeof request.password !== 'string') {
        return bad;
      }
      const p = PRINCIPAL_ID_RE.test(request.user) ? await read.getPrincipal(tenant, request.user) : undefined;
      // Hash even when there is no such user, so a wrong name takes as long as a wrong password.
      const hash = p?.passwordHash ?? DUMMY_HASH;
      const good = await ports.passwords.verify(await hash, request.password);
      if (p === undefined || p.passwordHash === null || p.disabledAt !== null || !good) return bad;
      return ok(await issueSession(p, ports.secrets.mint().id, true));
    },

    async refresh(refreshToken) {
      const parsed = parseCredential(REFRESH_PREFIX, refreshToken);
      if (parsed === undefined) return unauthenticated;
      const stored = await read.getRefreshToken(parsed.id);
      const now = deps.clock.now();
      if (stored === undefined || !ports.secrets.matches(parsed.secret, stored.tokenHash)) return unauthenticated;
      if (stored.revokedAt !== null || stored.expiresAt <= now) return unauthenticated;
      // Spend it first (insert-first's update form): of any number of concurrent uses exactly one wins.
      const spent = await tx(
        deps.uow,
        { actor: `principal:${stored.principalId}`, now, requestId: null },
        async (r) => {
          if (await r.identity.useRefreshToken(stored.id, now)) return true;
          await r.identity.revokeRefreshFamily(stored.familyId, now);
          return false;
        },
      );
      if (!spent) {
        deps.logger.warn(
          { tenant: stored.tenantId, principal: stored.principalId, family: stored.familyId },
          'a spent refresh token was used again: its whole family is revoked',
        );
        return err('REFRESH_TOKEN_REUSED', 'this refresh token was already used: every session of its login is ended');
      }
      const p = await read.getPrincipal(stored.tenantId, stored.principalId);
      if (p === undefined || p.disabledAt !== null) return unauthenticated;
      return ok(await issueSession(p, stored.familyId));
    },

    async logout(refreshToken) {
      const parsed = parseCredential(REFRESH_PREFIX, refreshToken);
      const stored = parsed === undefined ? undefined : await read.getRefreshToken(parsed.id);
      if (parsed === undefined || stored === undefined || !ports.secrets.matches(parsed.secret, stored.tokenHash)) {
        return unauthenticated;
      }
      const now = deps.clock.now();
      const revoked = await tx(deps.uow, { actor: `principal:${stored.principalId}`, now, requestId: null }, (r) =>
        r.identity.revokeRefreshFamily(stored.familyId, now),
      );
      return ok({ revoked });
    },
  };
  return { api };
}

import { PRINCIPAL_ID_RE } from '../../domain/auth/credentials.js';
import { can, isRole, type Role } from '../../domain/auth/permissions.js';
import type { Result } from '../../domain/result.js';
import type { PersonRow, PrincipalRecord } from '../../ports/identity.js';
import type { Caller } from '../kernel/caller.js';
import type { Deps } from '../kernel/deps.js';
import { tx } from '../kernel/tx.js';
import { asResult, UseCaseError } from '../kernel/use-case-error.js';

/** A person as the admin list shows them: never a password or a key. */
export interface PersonView {
  readonly id: string;
  readonly role: Role;
  readonly status: 'active' | 'disabled';
  /** Whether they can log in with a password (the first admin only has an API key). */
  readonly password_set: boolean;
  readonly created_at: string;
  readonly disabled_at: string | null;
  readonly last_login_at: string | null;
  /** Their API keys that are neither revoked nor expired. */
  readonly live_keys: number;
}

/** What an admin may change of a person: either, or both. */
export interface PersonChange {
  readonly role?: unknown;
  readonly disabled?: unknown;
}

/** The people half of identity: list a tenant's people, change a role, disable or enable. */
export interface PeopleApi {
  /** The caller's tenant's people (agents are listed with their keys), by id; `after` pages. */
  listPeople(caller: Caller, page: { readonly after?: string; readonly limit: number }): Promise<Result<PersonView[]>>;
  /**
   * Change a person's role and/or disable (or enable) them, effective from their next request:
   * disabling revokes every refresh token (their logins end, and the access tokens issued under
   * them) and every live API key of theirs and of the agents acting for them. Enabling lets them
   * log in afresh; what was revoked stays revoked. Refused: yourself (SELF_CHANGE_REFUSED), the
   * tenant's last active admin (LAST_ADMIN), someone not in the tenant (PRINCIPAL_NOT_FOUND).
   */
  updatePerson(caller: Caller, id: string, change: PersonChange): Promise<Result<PersonView>>;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function personView(row: PersonRow): PersonView {
  const p = row.principal;
  return {
    id: p.id,
    role: p.role,
    status: p.disabledAt === null ? 'active' : 'disabled',
    password_set: p.passwordHash !== null,
    created_at: new Date(p.createdAt).toISOString(),
    disabled_at: iso(p.disabledAt),
    last_login_at: iso(row.lastLoginAt),
    live_keys: row.liveKeys,
  };
}

const activeAdmin = (p: { readonly role: Role; readonly disabledAt: number | null }): boolean =>
  p.role === 'admin' && p.disabledAt === null;

export function createPeople(rt: { readonly deps: Pick<Deps, 'uow' | 'clock'> }): PeopleApi {
  const { deps } = rt;
  const mustManage = (caller: Caller): void => {
    if (!can(caller.role, 'users.manage')) throw new UseCaseError('FORBIDDEN', `${caller.role} may not users.manage`);
  };
  const notFound = (id: string): UseCaseError => new UseCaseError('PRINCIPAL_NOT_FOUND', `no person ${id} here`);

  return {
    listPeople: (caller, page) =>
      asResult(async () => {
        mustManage(caller);
        if (!Number.isInteger(page.limit) || page.limit < 1 || page.limit > 500)
          throw new UseCaseError('VALIDATION_FAILED', 'limit is a whole number from 1 to 500');
        const rows = await deps.uow.read.identity.listPeople(caller.tenantId, {
          ...(page.after === undefined ? {} : { after: page.after }),
          limit: page.limit,
          now: deps.clock.now(),
        });
        return rows.map(personView);
      }),

    updatePerson: (caller, id, change) =>
      asResult(async () => {
        mustManage(caller);
        const { role, disabled } = change;
        if (role === undefined && disabled === undefined) {
          throw new UseCaseError('VALIDATION_FAILED', 'send role, disabled or both');
        }
        if (role !== undefined && (!isRole(role) || role === 'agent')) {
          throw new UseCaseError('VALIDATION_FAILED', 'a person is one of admin, operator, user, viewer');
        }
        if (disabled !== undefined && typeof disabled !== 'boolean') {
          throw new UseCaseError('VALIDATION_FAILED', 'disabled is true or false');
        }
        if (!PRINCIPAL_ID_RE.test(id)) throw notFound(id);
        // Yourself: an admin who demotes or disables themself may lock the tenant out, and a
        // slip of the hand here is not undone by the person who made it.
        // (The local administrator of the database, `autoglm users … --db`, is no principal.)
        if (caller.principalId !== undefined && id === caller.principalId) {
          throw new UseCaseError(
            'SELF_CHANGE_REFUSED',
            'you may not change your own role or access: ask another admin',
          );
        }
        const now = deps.clock.now();
        return tx(deps.uow, { actor: caller.actor, now, requestId: caller.requestId }, async (r, changes) => {
          // Before reading: a concurrent change of the tenant's people waits, so the admins
          // counted below are the ones that remain.
          await r.identity.lockPeople(caller.tenantId);
          const before = await r.identity.getPrincipal(caller.tenantId, id);
          if (before === undefined || before.kind !== 'person') throw notFound(id);
          const nextRole: Role = role === undefined ? before.role : role;
          const disabling = disabled === true && before.disabledAt === null;
          const enabling = disabled === false && before.disabledAt !== null;
          const after: PrincipalRecord = {
            ...before,
            role: nextRole,
            disabledAt: disabling ? now : enabling ? null : before.disabledAt,
          };
          if (
            activeAdmin(before) &&
            !activeAdmin(after) &&
            (await r.identity.countActiveAdmins(caller.tenantId)) <= 1
          ) {
            throw new UseCaseError('LAST_ADMIN', `${id} is the tenant's last active admin: make another admin first`);
          }
          if (nextRole !== before.role) {
            await r.identity.changePrincipal(caller.tenantId, id, { role: nextRole });
            changes.audit(
              'principal',
              caller.tenantId,
              id,
              'principal.role_changed',
              { role: before.role },
              {
                role: nextRole,
              },
            );
          }
          if (disabling) {
            await r.identity.changePrincipal(caller.tenantId, id, { disabledAt: now });
            const refreshTokens = await r.identity.revokeRefreshTokensOf(caller.tenantId, id, now);
            const keys = await r.identity.revokeKeysOfPerson(caller.tenantId, id, now);
            for (const key of keys) {
              changes.audit(
                'api_key',
                caller.tenantId,
                key,
                'api_key.revoked',
                { revoked_at: null },
                {
                  revoked_at: iso(now),
                  because: `principal ${id} disabled`,
                },
              );
            }
            changes.audit(
              'principal',
              caller.tenantId,
              id,
              'principal.disabled',
              { disabled_at: null },
              { disabled_at: iso(now), refresh_tokens_revoked: refreshTokens, api_keys_revoked: keys },
            );
          } else if (enabling) {
            await r.identity.changePrincipal(caller.tenantId, id, { disabledAt: null });
            changes.audit(
              'principal',
              caller.tenantId,
              id,
              'principal.enabled',
              { disabled_at: iso(before.disabledAt) },
              { disabled_at: null },
            );
          }
          const [row] = await r.identity.listPeople(caller.tenantId, { only: id, limit: 1, now });
          return personView(row ?? { principal: after, lastLoginAt: null, liveKeys: 0 });
        });
      }),
  };
}

import type { Kysely } from 'kysely';
import { isRole, type Role } from '../../../domain/auth/permissions.js';
import type {
  ApiKeyRecord,
  IdentityRepository,
  PersonRow,
  PrincipalRecord,
  RefreshTokenRecord,
  TenantRecord,
} from '../../../ports/identity.js';
import type { CamelCaseDatabase, Row } from '../schema.js';
import { num, numOrNull } from './columns.js';
import { hotQuery } from './hot-query.js';

function toPrincipal(r: Omit<Row<'principals'>, 'lastLoginAt'>): PrincipalRecord {
  if (!isRole(r.role)) throw new Error(`principal ${r.id} has an unknown role ${r.role}`);
  return {
    tenantId: r.tenantId,
    id: r.id,
    kind: r.kind === 'agent' ? 'agent' : 'person',
    role: r.role,
    actsFor: r.actsFor,
    displayName: r.displayName,
    passwordHash: r.passwordHash,
    createdAt: num(r.createdAt),
    disabledAt: numOrNull(r.disabledAt),
  };
}

function toKey(r: Row<'apiKeys'>): ApiKeyRecord {
  return {
    id: r.id,
    tenantId: r.tenantId,
    principalId: r.principalId,
    secretHash: r.secretHash,
    createdBy: r.createdBy,
    createdAt: num(r.createdAt),
    expiresAt: numOrNull(r.expiresAt),
    revokedAt: numOrNull(r.revokedAt),
  };
}

function toRefresh(r: Row<'refreshTokens'>): RefreshTokenRecord {
  return {
    id: r.id,
    tenantId: r.tenantId,
    principalId: r.principalId,
    familyId: r.familyId,
    tokenHash: r.tokenHash,
    createdAt: num(r.createdAt),
    expiresAt: num(r.expiresAt),
    usedAt: numOrNull(r.usedAt),
    revokedAt: numOrNull(r.revokedAt),
  };
}

/** An API key's row joined with its principal's columns (`p…`, all null when it has none). */
export type KeyWithPrincipalRow = Row<'apiKeys'> & {
  readonly pId: string | null;
  readonly pKind: string | null;
  readonly pRole: string | null;
  readonly pActsFor: string | null;
  readonly pDisplayName: string | null;
  readonly pPasswordHash: string | null;
  readonly pCreatedAt: Row<'principals'>['createdAt'] | null;
  readonly pDisabledAt: Row<'principals'>['disabledAt'];
};

/** The key and its principal from their joined row (getKeyWithPrincipal's answer). */
export function keyWithPrincipal(r: KeyWithPrincipalRow): {
  key: ApiKeyRecord;
  principal: PrincipalRecord | undefined;
} {
  const principal =
    // A left join: the principal's columns are all null exactly when there is no principal.
    r.pId === null || r.pKind === null || r.pRole === null || r.pCreatedAt === null
      ? undefined
      : toPrincipal({
          tenantId: r.tenantId,
          id: r.pId,
          kind: r.pKind,
          role: r.pRole,
          actsFor: r.pActsFor,
          displayName: r.pDisplayName,
          passwordHash: r.pPasswordHash,
          createdAt: r.pCreatedAt,
          disabledAt: r.pDisabledAt,
        });
  return { key: toKey(r), principal };
}

/** Every request with an API key (authentication): the key and its principal, in one query. */
const KEY_WITH_PRINCIPAL = hotQuery((db: Kysely<CamelCaseDatabase>, a: { id: string }) =>
  db
    .selectFrom('apiKeys')
    .leftJoin('principals', (j) =>
      j.onRef('principals.tenantId', '=', 'apiKeys.tenantId').onRef('principals.id', '=', 'apiKeys.principalId'),
    )
    .selectAll('apiKeys')
    .select([
      'principals.id as pId',
      'principals.kind as pKind',
      'principals.role as pRole',
      'principals.actsFor as pActsFor',
      'principals.displayName as pDisplayName',
      'principals.passwordHash as pPasswordHash',
      'principals.createdAt as pCreatedAt',
      'principals.disabledAt as pDisabledAt',
    ])
    .where('apiKeys.id', '=', a.id),
);

/** Identity in plain Kysely (no engine-specific SQL), so SQLite and PostgreSQL share it. */
export class KyselyIdentity implements IdentityRepository {
  constructor(private readonly db: Kysely<CamelCaseDatabase>) {}

  async ensureTenant(t: TenantRecord): Promise<boolean> {
    const res = await this.db
      .insertInto('tenants')
      .values({ id: t.id, name: t.name, createdAt: t.createdAt })
      .onConflict((oc) => oc.column('id').doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async getTenant(id: string): Promise<TenantRecord | undefined> {
    const r = await this.db.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirst();
    return r === undefined ? undefined : { id: r.id, name: r.name, createdAt: num(r.createdAt) };
  }

  async insertPrincipal(p: PrincipalRecord): Promise<boolean> {
    const res = await this.db
      .insertInto('principals')
      .values({
        tenantId: p.tenantId,
        id: p.id,
        kind: p.kind,
        role: p.role,
        actsFor: p.actsFor,
        displayName: p.displayName,
        passwordHash: p.passwordHash,
        createdAt: p.createdAt,
        disabledAt: p.disabledAt,
      })
      .onConflict((oc) => oc.columns(['tenantId', 'id']).doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async getPrincipal(tenantId: string, id: string): Promise<PrincipalRecord | undefined> {
    const r = await this.db
      .selectFrom('principals')
      .selectAll()
      .where('tenantId', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    return r === undefined ? undefined : toPrincipal(r);
  }

  async setPassword(tenantId: string, id: string, passwordHash: string): Promise<boolean> {
    const res = await this.db
      .updateTable('principals')
      .set({ passwordHash })
      .where('tenantId', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async listPeople(
    tenantId: string,
    page: { readonly after?: string; readonly only?: string; readonly limit: number; readonly now: number },
  ): Promise<PersonRow[]> {
    let q = this.db
      .selectFrom('principals')
      .selectAll()
      .where('tenantId', '=', tenantId)
      .where('kind', '=', 'person')
      .orderBy('id')
      .limit(page.limit);
    if (page.after !== undefined) q = q.where('id', '>', page.after);
    if (page.only !== undefined) q = q.where('id', '=', page.only);
    const rows = await q.execute();
    if (rows.length === 0) return [];
    const counts = await this.db
      .selectFrom('apiKeys')
      .select(['principalId', (eb) => eb.fn.countAll<number | string | bigint>().as('n')])
      .where('tenantId', '=', tenantId)
      .where(
        'principalId',
        'in',
        rows.map((r) => r.id),
      )
      .where('revokedAt', 'is', null)
      .where((eb) => eb.or([eb('expiresAt', 'is', null), eb('expiresAt', '>', page.now)]))
      .groupBy('principalId')
      .execute();
    const live = new Map(counts.map((c) => [c.principalId, Number(c.n)]));
    return rows.map((r) => ({
      principal: toPrincipal(r),
      lastLoginAt: numOrNull(r.lastLoginAt),
      liveKeys: live.get(r.id) ?? 0,
    }));
  }

  async changePrincipal(
    tenantId: string,
    id: string,
    change: { readonly role?: Role; readonly disabledAt?: number | null },
  ): Promise<boolean> {
    const res = await this.db
      .updateTable('principals')
      .set({
        ...(change.role === undefined ? {} : { role: change.role }),
        ...(change.disabledAt === undefined ? {} : { disabledAt: change.disabledAt }),
      })
      .where('tenantId', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async recordLogin(tenantId: string, id: string, at: number): Promise<void> {
    await this.db
      .updateTable('principals')
      .set({ lastLoginAt: at })
      .where('tenantId', '=', tenantId)
      .where('id', '=', id)
      .execute();
  }

  /** SQLite: nothing to take, a write transaction already runs alone (BEGIN IMMEDIATE). */
  lockPeople(_tenantId: string): Promise<void> {
    return Promise.resolve();
  }

  async countActiveAdmins(tenantId: string): Promise<number> {
    const r = await this.db
      .selectFrom('principals')
      .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
      .where('tenantId', '=', tenantId)
      .where('kind', '=', 'person')
      .where('role', '=', 'admin')
      .where('disabledAt', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async revokeKeysOfPerson(tenantId: string, personId: string, at: number): Promise<string[]> {
    const rows = await this.db
      .updateTable('apiKeys')
      .set({ revokedAt: at })
      .where('tenantId', '=', tenantId)
      .where('revokedAt', 'is', null)
      .where('principalId', 'in', (eb) =>
        eb
          .selectFrom('principals')
          .select('principals.id')
          .where('principals.tenantId', '=', tenantId)
          .where((w) => w.or([w('principals.id', '=', personId), w('principals.actsFor', '=', personId)])),
      )
      .returning('id')
      .execute();
    return rows.map((r) => r.id).sort();
  }

  async revokeRefreshTokensOf(tenantId: string, principalId: string, at: number): Promise<number> {
    const res = await this.db
      .updateTable('refreshTokens')
      .set({ revokedAt: at })
      .where('tenantId', '=', tenantId)
      .where('principalId', '=', principalId)
      .where('revokedAt', 'is', null)
      .executeTakeFirst();
    return Number(res.numUpdatedRows);
  }

  async insertKey(k: ApiKeyRecord): Promise<void> {
    await this.db
      .insertInto('apiKeys')
      .values({
        id: k.id,
        tenantId: k.tenantId,
        principalId: k.principalId,
        secretHash: k.secretHash,
        createdBy: k.createdBy,
        createdAt: k.createdAt,
        expiresAt: k.expiresAt,
        revokedAt: k.revokedAt,
      })
      .execute();
  }

  async getKey(id: string): Promise<ApiKeyRecord | undefined> {
    const r = await this.db.selectFrom('apiKeys').selectAll().where('id', '=', id).executeTakeFirst();
    return r === undefined ? undefined : toKey(r);
  }

  async getKeyWithPrincipal(
    id: string,
  ): Promise<{ key: ApiKeyRecord; principal: PrincipalRecord | undefined } | undefined> {
    const r = await KEY_WITH_PRINCIPAL.first(this.db, { id });
    return r === undefined ? undefined : keyWithPrincipal(r);
  }

  async listKeys(tenantId: string): Promise<ApiKeyRecord[]> {
    const rows = await this.db
      .selectFrom('apiKeys')
      .selectAll()
      .where('tenantId', '=', tenantId)
      .orderBy('createdAt')
      .orderBy('id')
      .execute();
    return rows.map(toKey);
  }

  async revokeKey(tenantId: string, id: string, at: number): Promise<boolean> {
    const res = await this.db
      .updateTable('apiKeys')
      .set({ revokedAt: at })
      .where('tenantId', '=', tenantId)
      .where('id', '=', id)
      .where('revokedAt', 'is', null)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async hasLiveKeyForRole(tenantId: string, role: Role, now: number): Promise<boolean> {
    const r = await this.db
      .selectFrom('apiKeys')
      .innerJoin('principals', (j) =>
        j.onRef('principals.tenantId', '=', 'apiKeys.tenantId').onRef('principals.id', '=', 'apiKeys.principalId'),
      )
      .select('apiKeys.id')
      .where('apiKeys.tenantId', '=', tenantId)
      .where('principals.role', '=', role)
      .where('apiKeys.revokedAt', 'is', null)
      .where((eb) => eb.or([eb('apiKeys.expiresAt', 'is', null), eb('apiKeys.expiresAt', '>', now)]))
      .limit(1)
      .executeTakeFirst();
    return r !== undefined;
  }

  async insertRefreshToken(t: RefreshTokenRecord): Promise<void> {
    await this.db
      .insertInto('refreshTokens')
      .values({
        id: t.id,
        tenantId: t.tenantId,
        principalId: t.principalId,
        familyId: t.familyId,
        tokenHash: t.tokenHash,
        createdAt: t.createdAt,
        expiresAt: t.expiresAt,
        usedAt: t.usedAt,
        revokedAt: t.revokedAt,
      })
      .execute();
  }

  async getRefreshToken(id: string): Promise<RefreshTokenRecord | undefined> {
    const r = await this.db.selectFrom('refreshTokens').selectAll().where('id', '=', id).executeTakeFirst();
    return r === undefined ? undefined : toRefresh(r);
  }

  async useRefreshToken(id: string, at: number): Promise<boolean> {
    const res = await this.db
      .updateTable('refreshTokens')
      .set({ usedAt: at })
      .where('id', '=', id)
      .where('usedAt', 'is', null)
      .where('revokedAt', 'is', null)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async revokeRefreshFamily(familyId: string, at: number): Promise<number> {
    const res = await this.db
      .updateTable('refreshTokens')
      .set({ revokedAt: at })
      .where('familyId', '=', familyId)
      .where('revokedAt', 'is', null)
      .executeTakeFirst();
    return Number(res.numUpdatedRows);
  }

  async refreshFamilyRevoked(familyId: string): Promise<boolean> {
    const r = await this.db
      .selectFrom('refreshTokens')
      .select('id')
      .where('familyId', '=', familyId)
      .where('revokedAt', 'is not', null)
      .limit(1)
      .executeTakeFirst();
    return r !== undefined;
  }

  async secret(name: string, value: string, now: number): Promise<string> {
    await this.db
      .insertInto('serviceSecrets')
      .values({ name, value, createdAt: now })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    const r = await this.db
      .selectFrom('serviceSecrets')
      .select('value')
      .where('name', '=', name)
      .executeTakeFirstOrThrow();
    return r.value;
  }
}

import type { Kysely } from 'kysely';
import type { IdempotencyRecord, IdempotencyState } from '../../../ports/records.js';
import type { IdempotencyStore } from '../../../ports/repositories.js';
import type { CamelCaseDatabase, NewRow, Row } from '../schema.js';
import { num, numOrNull } from './columns.js';

/** A stored key as read: integers normalised, response headers parsed. */
function toIdempotencyRecord(r: Row<'idempotencyKeys'>): IdempotencyRecord {
  return {
    tenantId: r.tenantId,
    scope: r.scope,
    key: r.key,
    fingerprint: r.fingerprint,
    state: r.state as IdempotencyState,
    responseStatus: numOrNull(r.responseStatus),
    responseBody: r.responseBody,
    responseHeaders:
      r.responseHeadersJson === null ? null : (JSON.parse(r.responseHeadersJson) as Record<string, string>),
    recoveryPoint: r.recoveryPoint,
    lockedUntil: num(r.lockedUntil),
    createdAt: num(r.createdAt),
    expiresAt: num(r.expiresAt),
  };
}

/** A key as written: every column in table order. */
function idempotencyRow(rec: IdempotencyRecord): NewRow<'idempotencyKeys'> {
  return {
    tenantId: rec.tenantId,
    scope: rec.scope,
    key: rec.key,
    fingerprint: rec.fingerprint,
    state: rec.state,
    responseStatus: rec.responseStatus,
    responseBody: rec.responseBody,
    responseHeadersJson: rec.responseHeaders === null ? null : JSON.stringify(rec.responseHeaders),
    recoveryPoint: rec.recoveryPoint,
    lockedUntil: rec.lockedUntil,
    createdAt: rec.createdAt,
    expiresAt: rec.expiresAt,
  };
}

export class KyselyIdempotency implements IdempotencyStore {
  constructor(protected readonly db: Kysely<CamelCaseDatabase>) {}

  async get(tenantId: string, scope: string, key: string): Promise<IdempotencyRecord | undefined> {
    const r = await this.db
      .selectFrom('idempotencyKeys')
      .selectAll()
      .where('tenantId', '=', tenantId)
      .where('scope', '=', scope)
      .where('key', '=', key)
      .executeTakeFirst();
    return r === undefined ? undefined : toIdempotencyRecord(r);
  }

  async tryInsert(rec: IdempotencyRecord): Promise<boolean> {
    const res = await this.db
      .insertInto('idempotencyKeys')
      .values(idempotencyRow(rec))
      .onConflict((oc) => oc.columns(['tenantId', 'scope', 'key']).doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0n) === 1;
  }

  async relock(tenantId: string, scope: string, key: string, now: number, lockedUntil: number): Promise<boolean> {
    const res = await this.db
      .updateTable('idempotencyKeys')
      .set({ lockedUntil })
      .where('tenantId', '=', tenantId)
      .where('scope', '=', scope)
      .where('key', '=', key)
      .where('state', '=', 'in_flight')
      .where('lockedUntil', '<', now)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async complete(
    tenantId: string,
    scope: string,
    key: string,
    response: { status: number; body: string; headers: Readonly<Record<string, string>> },
  ): Promise<void> {
    await this.db
      .updateTable('idempotencyKeys')
      .set({
        state: 'completed',
        responseStatus: response.status,
        responseBody: response.body,
        responseHeadersJson: JSON.stringify(response.headers),
      })
      .where('tenantId', '=', tenantId)
      .where('scope', '=', scope)
      .where('key', '=', key)
      .execute();
  }

  async setRecoveryPoint(tenantId: string, scope: string, key: string, resourceId: string): Promise<void> {
    await this.db
      .updateTable('idempotencyKeys')
      .set({ recoveryPoint: resourceId })
      .where('tenantId', '=', tenantId)
      .where('scope', '=', scope)
      .where('key', '=', key)
      .execute();
  }

  async remove(tenantId: string, scope: string, key: string): Promise<void> {
    await this.db
      .deleteFrom('idempotencyKeys')
      .where('tenantId', '=', tenantId)
      .where('scope', '=', scope)
      .where('key', '=', key)
      .execute();
  }

  async removeExpired(tenantId: string, scope: string, key: string, now: number): Promise<boolean> {
    const res = await this.db
      .deleteFrom('idempotencyKeys')
      .where('tenantId', '=', tenantId)
      .where('scope', '=', scope)
      .where('key', '=', key)
      .where('expiresAt', '<', now)
      .executeTakeFirst();
    return Number(res.numDeletedRows) === 1;
  }

  async purgeExpired(now: number, limit = 10_000): Promise<number> {
    const victims = this.db
      .selectFrom('idempotencyKeys')
      .select(['tenantId', 'scope', 'key'])
      .where('expiresAt', '<', now)
      .limit(limit);
    const res = await this.db
      .deleteFrom('idempotencyKeys')
      .where((eb) => eb(eb.refTuple('tenantId', 'scope', 'key'), 'in', victims.$asTuple('tenantId', 'scope', 'key')))
      .executeTakeFirst();
    return Number(res.numDeletedRows);
  }
}

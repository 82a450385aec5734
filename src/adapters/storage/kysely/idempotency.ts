import type { Kysely } from 'kysely';
import type { IdempotencyRecord, IdempotencyState } from '../../../ports/records.js';
import type { IdempotencyStore } from '../../../ports/repositories.js';
import type { Database } from '../schema.js';
import { num, numOrNull } from './columns.js';

export class KyselyIdempotency implements IdempotencyStore {
  constructor(protected readonly db: Kysely<Database>) {}

  async get(tenantId: string, scope: string, key: string): Promise<IdempotencyRecord | undefined> {
    const r = await this.db
      .selectFrom('idempotency_keys')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('scope', '=', scope)
      .where('key', '=', key)
      .executeTakeFirst();
    if (r === undefined) return undefined;
    return {
      tenantId: r.tenant_id,
      scope: r.scope,
      key: r.key,
      fingerprint: r.fingerprint,
      state: r.state as IdempotencyState,
      responseStatus: numOrNull(r.response_status),
      responseBody: r.response_body,
      responseHeaders:
        r.response_headers_json === null ? null : (JSON.parse(r.response_headers_json) as Record<string, string>),
      recoveryPoint: r.recovery_point,
      lockedUntil: num(r.locked_until),
      createdAt: num(r.created_at),
      expiresAt: num(r.expires_at),
    };
  }

  async tryInsert(rec: IdempotencyRecord): Promise<boolean> {
    const res = await this.db
      .insertInto('idempotency_keys')
      .values({
        tenant_id: rec.tenantId,
        scope: rec.scope,
        key: rec.key,
        fingerprint: rec.fingerprint,
        state: rec.state,
        response_status: rec.responseStatus,
        response_body: rec.responseBody,
        response_headers_json: rec.responseHeaders === null ? null : JSON.stringify(rec.responseHeaders),
        recovery_point: rec.recoveryPoint,
        locked_until: rec.lockedUntil,
        created_at: rec.createdAt,
        expires_at: rec.expiresAt,
      })
      .onConflict((oc) => oc.columns(['tenant_id', 'scope', 'key']).doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0n) === 1;
  }

  async relock(tenantId: string, scope: string, key: string, now: number, lockedUntil: number): Promise<boolean> {
    const res = await this.db
      .updateTable('idempotency_keys')
      .set({ locked_until: lockedUntil })
      .where('tenant_id', '=', tenantId)
      .where('scope', '=', scope)
      .where('key', '=', key)
      .where('state', '=', 'in_flight')
      .where('locked_until', '<', now)
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
      .updateTable('idempotency_keys')
      .set({
        state: 'completed',
        response_status: response.status,
        response_body: response.body,
        response_headers_json: JSON.stringify(response.headers),
      })
      .where('tenant_id', '=', tenantId)
      .where('scope', '=', scope)
      .where('key', '=', key)
      .execute();
  }

  async setRecoveryPoint(tenantId: string, scope: string, key: string, resourceId: string): Promise<void> {
    await this.db
      .updateTable('idempotency_keys')
      .set({ recovery_point: resourceId })
      .where('tenant_id', '=', tenantId)
      .where('scope', '=', scope)
      .where('key', '=', key)
      .execute();
  }

  async remove(tenantId: string, scope: string, key: string): Promise<void> {
    await this.db
      .deleteFrom('idempotency_keys')
      .where('tenant_id', '=', tenantId)
      .where('scope', '=', scope)
      .where('key', '=', key)
      .execute();
  }

  async removeExpired(tenantId: string, scope: string, key: string, now: number): Promise<boolean> {
    const res = await this.db
      .deleteFrom('idempotency_keys')
      .where('tenant_id', '=', tenantId)
      .where('scope', '=', scope)
      .where('key', '=', key)
      .where('expires_at', '<', now)
      .executeTakeFirst();
    return Number(res.numDeletedRows) === 1;
  }

  async purgeExpired(now: number, limit = 10_000): Promise<number> {
    const victims = this.db
      .selectFrom('idempotency_keys')
      .select(['tenant_id', 'scope', 'key'])
      .where('expires_at', '<', now)
      .limit(limit);
    const res = await this.db
      .deleteFrom('idempotency_keys')
      .where((eb) => eb(eb.refTuple('tenant_id', 'scope', 'key'), 'in', victims.$asTuple('tenant_id', 'scope', 'key')))
      .executeTakeFirst();
    return Number(res.numDeletedRows);
  }
}

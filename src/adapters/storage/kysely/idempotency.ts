import type { Kysely } from 'kysely';
import type { IdempotencyRecord, IdempotencyState } from '../../../ports/records.js';
import type { FieldCipher } from '../../../ports/field-cipher.js';
import type { IdempotencyStore } from '../../../ports/repositories.js';
import type { CamelCaseDatabase, NewRow, Row } from '../schema.js';
import { num, numOrNull } from './columns.js';
import { loadKeys, SEALED } from './sealed.js';

/** A stored key as read: the answer opened (its key loaded first), integers normalised, headers parsed. */
function toIdempotencyRecord(r: Row<'idempotencyKeys'>, cipher: FieldCipher): IdempotencyRecord {
  return {
    tenantId: r.tenantId,
    scope: r.scope,
    key: r.key,
    fingerprint: r.fingerprint,
    state: r.state as IdempotencyState,
    responseStatus: numOrNull(r.responseStatus),
    responseBody: r.responseBody === null ? null : cipher.open(r.responseBody, SEALED.idempotencyBody),
    responseHeaders:
      r.responseHeadersJson === null ? null : (JSON.parse(r.responseHeadersJson) as Record<string, string>),
    recoveryPoint: r.recoveryPoint,
    lockedUntil: num(r.lockedUntil),
    createdAt: num(r.createdAt),
    expiresAt: num(r.expiresAt),
  };
}

/** A key as written: every column in table order, a stored answer sealed. */
function idempotencyRow(rec: IdempotencyRecord, cipher: FieldCipher): NewRow<'idempotencyKeys'> {
  return {
    tenantId: rec.tenantId,
    scope: rec.scope,
    key: rec.key,
    fingerprint: rec.fingerprint,
    state: rec.state,
    responseStatus: rec.responseStatus,
    responseBody: rec.responseBody === null ? null : cipher.seal(rec.responseBody, SEALED.idempotencyBody),
    responseHeadersJson: rec.responseHeaders === null ? null : JSON.stringify(rec.responseHeaders),
    recoveryPoint: rec.recoveryPoint,
    lockedUntil: rec.lockedUntil,
    createdAt: rec.createdAt,
    expiresAt: rec.expiresAt,
  };
}

/**
 * Idempotency keys. The stored first answer is sealed: an agent's answer repeats the phone
 * number it was given (`intent.params.phone`), and answers are kept a day or more.
 */
export class KyselyIdempotency implements IdempotencyStore {
  constructor(
    protected readonly db: Kysely<CamelCaseDatabase>,
    private readonly cipher: FieldCipher,
  ) {}

  async get(tenantId: string, scope: string, key: string): Promise<IdempotencyRecord | undefined> {
    const r = await this.db
      .selectFrom('idempotencyKeys')
      .selectAll()
      .where('tenantId', '=', tenantId)
      .where('scope', '=', scope)
      .where('key', '=', key)
      .executeTakeFirst();
    if (r === undefined) return undefined;
    await loadKeys(this.cipher, this.db, [r.responseBody]);
    return toIdempotencyRecord(r, this.cipher);
  }

  async tryInsert(rec: IdempotencyRecord): Promise<boolean> {
    const res = await this.db
      .insertInto('idempotencyKeys')
      .values(idempotencyRow(rec, this.cipher))
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
        responseBody: this.cipher.seal(response.body, SEALED.idempotencyBody),
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

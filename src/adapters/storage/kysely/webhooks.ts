import { type Kysely, sql } from 'kysely';
import type { FieldCipher } from '../../../ports/field-cipher.js';
import type { AuditRecord } from '../../../ports/records.js';
import type {
  AuditKey,
  WebhookAttemptRecord,
  WebhookDeliveryRecord,
  WebhookDeliveryStatus,
  WebhookRepository,
  WebhookSubscriptionRecord,
} from '../../../ports/webhooks.js';
import type { CamelCaseDatabase, NewRow, Row } from '../schema.js';
import type { Engine } from '../storage.js';
import { toAudit } from './audit-log.js';
import { num, numOrNull } from './columns.js';
import { loadKeys, SEALED } from './sealed.js';

function subscriptionRow(s: WebhookSubscriptionRecord, cipher: FieldCipher): NewRow<'webhookSubscriptions'> {
  return {
    id: s.id,
    tenantId: s.tenantId,
    url: s.url,
    eventsJson: JSON.stringify(s.events),
    description: s.description,
    secret: cipher.seal(s.secret, SEALED.webhookSecret),
    createdBy: s.createdBy,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
    disabledAt: s.disabledAt,
    disabledReason: s.disabledReason,
  };
}

function toDelivery(r: Row<'webhookDeliveries'>): WebhookDeliveryRecord {
  return {
    id: r.id,
    tenantId: r.tenantId,
    subscriptionId: r.subscriptionId,
    eventId: r.eventId,
    eventType: r.eventType,
    lane: r.lane,
    seq: num(r.seq),
    payload: r.payload,
    status: r.status as WebhookDeliveryStatus,
    attempts: num(r.attempts),
    firstAttemptAt: numOrNull(r.firstAttemptAt),
    nextAttemptAt: numOrNull(r.nextAttemptAt),
    lastStatusCode: numOrNull(r.lastStatusCode),
    lastError: r.lastError,
    createdAt: num(r.createdAt),
    updatedAt: num(r.updatedAt),
  };
}

const deliveryRow = (d: WebhookDeliveryRecord): NewRow<'webhookDeliveries'> => ({ ...d });

/**
 * Webhook subscriptions (secrets sealed with the data keys, like phone numbers), deliveries, the
 * delivery log and the dispatcher's cursor in the audit log.
 */
export class KyselyWebhooks implements WebhookRepository {
  constructor(
    private readonly db: Kysely<CamelCaseDatabase>,
    private readonly engine: Engine,
    private readonly cipher: FieldCipher,
  ) {}

  private async toSubscriptions(rows: readonly Row<'webhookSubscriptions'>[]): Promise<WebhookSubscriptionRecord[]> {
    await loadKeys(
      this.cipher,
      this.db,
      rows.map((r) => r.secret),
    );
    return rows.map((r) => ({
      id: r.id,
      tenantId: r.tenantId,
      url: r.url,
      events: JSON.parse(r.eventsJson) as string[],
      description: r.description,
      secret: this.cipher.open(r.secret, SEALED.webhookSecret),
      createdBy: r.createdBy,
      createdAt: num(r.createdAt),
      updatedAt: num(r.updatedAt),
      disabledAt: numOrNull(r.disabledAt),
      disabledReason: r.disabledReason,
    }));
  }

  async insertSubscription(s: WebhookSubscriptionRecord): Promise<void> {
    await this.db.insertInto('webhookSubscriptions').values(subscriptionRow(s, this.cipher)).execute();
  }

  async getSubscription(tenantId: string, id: string): Promise<WebhookSubscriptionRecord | undefined> {
    const rows = await this.db
      .selectFrom('webhookSubscriptions')
      .selectAll()
      .where('tenantId', '=', tenantId)
      .where('id', '=', id)
      .execute();
    return (await this.toSubscriptions(rows))[0];
  }

  async listSubscriptions(tenantId: string): Promise<WebhookSubscriptionRecord[]> {
    const rows = await this.db
      .selectFrom('webhookSubscriptions')
      .selectAll()
      .where('tenantId', '=', tenantId)
      .orderBy('createdAt', 'desc')
      .orderBy('id', 'desc')
      .limit(500)
      .execute();
    return this.toSubscriptions(rows);
  }

  async enabledSubscriptions(tenantIds?: readonly string[]): Promise<WebhookSubscriptionRecord[]> {
    if (tenantIds !== undefined && tenantIds.length === 0) return [];
    let q = this.db.selectFrom('webhookSubscriptions').selectAll().where('disabledAt', 'is', null);
    if (tenantIds !== undefined) q = q.where('tenantId', 'in', tenantIds);
    return this.toSubscriptions(await q.orderBy('id').execute());
  }

  async anyEnabled(): Promise<boolean> {
    const row = await this.db
      .selectFrom('webhookSubscriptions')
      .select('id')
      .where('disabledAt', 'is', null)
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  async updateSubscription(s: WebhookSubscriptionRecord): Promise<boolean> {
    const { id, tenantId, createdBy, createdAt, ...rest } = subscriptionRow(s, this.cipher);
    void createdBy;
    void createdAt;
    const r = await this.db
      .updateTable('webhookSubscriptions')
      .set(rest)
      .where('tenantId', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async disableSubscription(tenantId: string, id: string, at: number, reason: string): Promise<boolean> {
    const r = await this.db
      .updateTable('webhookSubscriptions')
      .set({ disabledAt: at, disabledReason: reason, updatedAt: at })
      .where('tenantId', '=', tenantId)
      .where('id', '=', id)
      .where('disabledAt', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async deleteSubscription(tenantId: string, id: string): Promise<boolean> {
    const r = await this.db
      .deleteFrom('webhookSubscriptions')
      .where('tenantId', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(r.numDeletedRows) === 1;
  }

  async insertDelivery(d: WebhookDeliveryRecord): Promise<boolean> {
    const r = await this.db
      .insertInto('webhookDeliveries')
      .values(deliveryRow(d))
      .onConflict((oc) => oc.columns(['subscriptionId', 'eventId']).doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async getDelivery(tenantId: string, id: string): Promise<WebhookDeliveryRecord | undefined> {
    const row = await this.db
      .selectFrom('webhookDeliveries')
      .selectAll()
      .where('tenantId', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row === undefined ? undefined : toDelivery(row);
  }

  async listDeliveries(
    tenantId: string,
    subscriptionId: string,
    limit: number,
    beforeId?: string,
  ): Promise<WebhookDeliveryRecord[]> {
    let q = this.db
      .selectFrom('webhookDeliveries')
      .selectAll()
      .where('tenantId', '=', tenantId)
      .where('subscriptionId', '=', subscriptionId);
    if (beforeId !== undefined) q = q.where('id', '<', beforeId);
    const rows = await q.orderBy('id', 'desc').limit(limit).execute();
    return rows.map(toDelivery);
  }

  async lockLane(subscriptionId: string, lane: string): Promise<void> {
    // SQLite runs one write transaction at a time: nothing to hold. PostgreSQL: a transaction-level
    // advisory lock on the lane's hash (a collision only makes two lanes wait for each other).
    if (this.engine !== 'postgres') return;
    await sql`select pg_advisory_xact_lock(hashtextextended(${`webhook-lane:${subscriptionId}:${lane}`}, 0))`.execute(
      this.db,
    );
  }

  async laneBusy(subscriptionId: string, lane: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('webhookDeliveries')
      .select('id')
      .where('subscriptionId', '=', subscriptionId)
      .where('lane', '=', lane)
      .where('status', 'in', ['waiting', 'pending'])
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  async batchRowsBusy(subscriptionId: string, batchId: string, seq: number): Promise<boolean> {
    const row = await this.db
      .selectFrom('webhookDeliveries')
      .select('id')
      .where('subscriptionId', '=', subscriptionId)
      .where('status', 'in', ['waiting', 'pending'])
      .where('seq', '<=', seq)
      .where(
        'lane',
        'in',
        this.db
          .selectFrom('recharges')
          .select(sql<string>`'recharge:' || id`.as('lane'))
          .where('batchId', '=', batchId),
      )
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  async batchRechargesEndedBy(tenantId: string, batchId: string, auditId: number): Promise<number> {
    const row = await this.db
      .selectFrom('auditLog')
      .select((eb) => eb.fn.count<number | string>('resourceId').distinct().as('n'))
      .where('tenantId', '=', tenantId)
      .where('resourceType', '=', 'recharge')
      .where('action', 'in', ['recharge.succeeded', 'recharge.failed'])
      .where('id', '<=', auditId)
      .where('resourceId', 'in', this.db.selectFrom('recharges').select('id').where('batchId', '=', batchId))
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async nextInLane(subscriptionId: string, lane: string): Promise<WebhookDeliveryRecord | undefined> {
    const rows = await this.db
      .selectFrom('webhookDeliveries')
      .selectAll()
      .where('subscriptionId', '=', subscriptionId)
      .where('lane', '=', lane)
      .where('status', 'in', ['waiting', 'pending'])
      .orderBy('seq')
      .orderBy('id')
      .execute();
    if (rows.some((r) => r.status === 'pending')) return undefined;
    const first = rows[0];
    return first === undefined ? undefined : toDelivery(first);
  }

  async updateDelivery(d: WebhookDeliveryRecord, from: WebhookDeliveryStatus): Promise<boolean> {
    const r = await this.db
      .updateTable('webhookDeliveries')
      .set({
        status: d.status,
        attempts: d.attempts,
        firstAttemptAt: d.firstAttemptAt,
        nextAttemptAt: d.nextAttemptAt,
        lastStatusCode: d.lastStatusCode,
        lastError: d.lastError,
        updatedAt: d.updatedAt,
      })
      .where('tenantId', '=', d.tenantId)
      .where('id', '=', d.id)
      .where('status', '=', from)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async insertAttempt(a: WebhookAttemptRecord): Promise<void> {
    await this.db
      .insertInto('webhookAttempts')
      .values({ ...a })
      .execute();
  }

  async attempts(deliveryId: string): Promise<WebhookAttemptRecord[]> {
    const rows = await this.db
      .selectFrom('webhookAttempts')
      .selectAll()
      .where('deliveryId', '=', deliveryId)
      .orderBy('n')
      .execute();
    return rows.map((r) => ({
      deliveryId: r.deliveryId,
      tenantId: r.tenantId,
      n: num(r.n),
      at: num(r.at),
      statusCode: numOrNull(r.statusCode),
      latencyMs: num(r.latencyMs),
      error: r.error,
    }));
  }

  async cursor(): Promise<number> {
    const row = await this.db
      .selectFrom('webhookCursor')
      .select('position')
      .where('name', '=', 'audit')
      .executeTakeFirst();
    return row === undefined ? 0 : num(row.position);
  }

  async moveCursor(from: number, to: number, at: number): Promise<boolean> {
    const r = await this.db
      .updateTable('webhookCursor')
      .set({ position: to, updatedAt: at })
      .where('name', '=', 'audit')
      .where('position', '=', from)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async auditAfter(afterId: number, limit: number): Promise<AuditRecord[]> {
    const rows = await this.db
      .selectFrom('auditLog')
      .selectAll()
      .where('id', '>', afterId)
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map(toAudit);
  }

  async auditKeysAfter(afterId: number, limit: number): Promise<AuditKey[]> {
    const rows = await this.db
      .selectFrom('auditLog')
      .select(['id', 'tenantId', 'resourceType', 'resourceId', 'action'])
      .where('id', '>', afterId)
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ ...r, id: num(r.id) }));
  }

  async settledAuditId(): Promise<number> {
    if (this.engine === 'postgres') {
      // A transaction that took an audit id holds ROW EXCLUSIVE on audit_log until it ends; SHARE
      // waits for every such transaction (and holds new ones back for the moment it is held), so
      // once granted, every id at or below max(id) is committed or gone for good. Must run inside
      // a transaction, which releases the lock at once when it ends. Only asked when a gap shows.
      await sql`set local lock_timeout = '2s'`.execute(this.db);
      await sql`lock table audit_log in share mode`.execute(this.db);
    }
    const row = await this.db
      .selectFrom('auditLog')
      .select((eb) => eb.fn.max('id').as('m'))
      .executeTakeFirst();
    return row?.m === null || row?.m === undefined ? 0 : num(row.m);
  }
}

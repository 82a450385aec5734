import type { Kysely, Selectable } from 'kysely';
import type { Currency } from '../../../domain/money.js';
import type { TopUpStatus } from '../../../domain/wallet.js';
import type { TopUpRecord, TopUpRefundStatus } from '../../../ports/records.js';
import type { TopUpRepository } from '../../../ports/repositories.js';
import type { Database, WalletTopUpsTable } from '../schema.js';
import { num } from './columns.js';

function toTopUp(r: Selectable<WalletTopUpsTable>): TopUpRecord {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    userId: r.user_id,
    amount: num(r.amount),
    currency: r.currency as Currency,
    status: r.status as TopUpStatus,
    gateway: r.gateway,
    method: r.method,
    outTradeNo: r.out_trade_no,
    gatewayTradeNo: r.gateway_trade_no,
    failureCode: r.failure_code,
    createdBy: r.created_by,
    updatedBy: r.updated_by,
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
    version: num(r.version),
    ...(r.recharge_id === null ? {} : { rechargeId: r.recharge_id }),
    ...(r.refund_status === null ? {} : { refundStatus: r.refund_status as TopUpRefundStatus }),
  };
}

export class KyselyTopUps implements TopUpRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(t: TopUpRecord): Promise<void> {
    await this.db
      .insertInto('wallet_top_ups')
      .values({
        id: t.id,
        tenant_id: t.tenantId,
        user_id: t.userId,
        amount: t.amount,
        currency: t.currency,
        status: t.status,
        gateway: t.gateway,
        method: t.method,
        out_trade_no: t.outTradeNo,
        gateway_trade_no: t.gatewayTradeNo,
        failure_code: t.failureCode,
        recharge_id: t.rechargeId ?? null,
        refund_status: t.refundStatus ?? null,
        created_by: t.createdBy,
        updated_by: t.updatedBy,
        created_at: t.createdAt,
        updated_at: t.updatedAt,
        version: t.version,
      })
      .execute();
  }

  async listAfter(tenantId: string, afterId: string | null, limit: number): Promise<ReturnType<typeof toTopUp>[]> {
    let q = this.db.selectFrom('wallet_top_ups').selectAll().where('tenant_id', '=', tenantId);
    if (afterId !== null) q = q.where('id', '>', afterId);
    const rows = await q.orderBy('id').limit(limit).execute();
    return rows.map(toTopUp);
  }

  async get(tenantId: string, id: string): Promise<TopUpRecord | undefined> {
    const r = await this.db
      .selectFrom('wallet_top_ups')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    return r === undefined ? undefined : toTopUp(r);
  }

  async update(t: TopUpRecord, expectedVersion: number): Promise<boolean> {
    const res = await this.db
      .updateTable('wallet_top_ups')
      .set({
        status: t.status,
        gateway_trade_no: t.gatewayTradeNo,
        failure_code: t.failureCode,
        refund_status: t.refundStatus ?? null,
        updated_by: t.updatedBy,
        updated_at: t.updatedAt,
        version: t.version,
      })
      .where('tenant_id', '=', t.tenantId)
      .where('id', '=', t.id)
      .where('version', '=', expectedVersion)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }
}

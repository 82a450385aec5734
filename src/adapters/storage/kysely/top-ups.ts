import type { Kysely } from 'kysely';
import type { Currency } from '../../../domain/money.js';
import type { TopUpStatus } from '../../../domain/wallet.js';
import type { TopUpRecord, TopUpRefundStatus } from '../../../ports/records.js';
import type { TopUpRepository } from '../../../ports/repositories.js';
import type { CamelCaseDatabase, NewRow, Row } from '../schema.js';
import { filterOnly, num } from './columns.js';
import { BATCHABLE } from './batchable.js';

/** A top-up as read: integers normalised; the direct-payment fields only when set. */
function toTopUp(r: Row<'walletTopUps'>): TopUpRecord {
  return {
    id: r.id,
    tenantId: r.tenantId,
    userId: r.userId,
    amount: num(r.amount),
    currency: r.currency as Currency,
    status: r.status as TopUpStatus,
    gateway: r.gateway,
    method: r.method,
    outTradeNo: r.outTradeNo,
    gatewayTradeNo: r.gatewayTradeNo,
    failureCode: r.failureCode,
    createdBy: r.createdBy,
    updatedBy: r.updatedBy,
    createdAt: num(r.createdAt),
    updatedAt: num(r.updatedAt),
    version: num(r.version),
    ...(r.rechargeId === null ? {} : { rechargeId: r.rechargeId }),
    ...(r.refundStatus === null ? {} : { refundStatus: r.refundStatus as TopUpRefundStatus }),
    ...(r.qrCode === null ? {} : { qrCode: r.qrCode }),
    ...(r.payUrl === null ? {} : { payUrl: r.payUrl }),
    ...(r.payExpiresAt === null ? {} : { payExpiresAt: num(r.payExpiresAt) }),
    ...(r.settledAt === null ? {} : { settledAt: num(r.settledAt) }),
    ...(r.refundSettledAt === null ? {} : { refundSettledAt: num(r.refundSettledAt) }),
    ...(r.closeReason === null ? {} : { closeReason: r.closeReason }),
  };
}

/** A top-up as written: every column in the order it was always written. */
function topUpRow(t: TopUpRecord): NewRow<'walletTopUps'> {
  return {
    id: t.id,
    tenantId: t.tenantId,
    userId: t.userId,
    amount: t.amount,
    currency: t.currency,
    status: t.status,
    gateway: t.gateway,
    method: t.method,
    outTradeNo: t.outTradeNo,
    gatewayTradeNo: t.gatewayTradeNo,
    failureCode: t.failureCode,
    rechargeId: t.rechargeId ?? null,
    refundStatus: t.refundStatus ?? null,
    qrCode: t.qrCode ?? null,
    payUrl: t.payUrl ?? null,
    payExpiresAt: t.payExpiresAt ?? null,
    settledAt: t.settledAt ?? null,
    refundSettledAt: t.refundSettledAt ?? null,
    closeReason: t.closeReason ?? null,
    createdBy: t.createdBy,
    updatedBy: t.updatedBy,
    createdAt: t.createdAt,
    updatedAt: t.updatedAt,
    version: t.version,
  };
}

export class KyselyTopUps implements TopUpRepository {
  constructor(private readonly db: Kysely<CamelCaseDatabase>) {}

  async insert(t: TopUpRecord): Promise<void> {
    await this.db.insertInto('walletTopUps').values(topUpRow(t)).modifyEnd(BATCHABLE.insert).execute();
  }

  async listAfter(tenantId: string, afterId: string | null, limit: number): Promise<TopUpRecord[]> {
    let q = this.db.selectFrom('walletTopUps').selectAll().where('tenantId', '=', tenantId);
    if (afterId !== null) q = q.where('id', '>', afterId);
    const rows = await q.orderBy('id').limit(limit).execute();
    return rows.map(toTopUp);
  }

  async getByOutTradeNo(outTradeNo: string): Promise<TopUpRecord | undefined> {
    const r = await this.db
      .selectFrom('walletTopUps')
      .selectAll()
      .where('outTradeNo', '=', outTradeNo)
      .executeTakeFirst();
    return r === undefined ? undefined : toTopUp(r);
  }

  async listByGateway(
    gateway: string,
    from: number,
    to: number,
    afterId: string | null,
    limit: number,
  ): Promise<TopUpRecord[]> {
    let q = this.db
      .selectFrom('walletTopUps')
      .selectAll()
      .where('gateway', '=', gateway)
      .where('createdAt', '>=', from)
      .where('createdAt', '<', to);
    if (afterId !== null) q = q.where('id', '>', afterId);
    return (await q.orderBy('id').limit(limit).execute()).map(toTopUp);
  }

  async get(tenantId: string, id: string): Promise<TopUpRecord | undefined> {
    const r = await this.db
      .selectFrom('walletTopUps')
      .selectAll()
      .where('id', '=', id)
      .where(filterOnly('tenantId'), '=', tenantId)
      .executeTakeFirst();
    return r === undefined ? undefined : toTopUp(r);
  }

  async findStale(
    statuses: readonly TopUpStatus[],
    updatedBefore: number,
    updatedAfter: number | undefined,
    limit: number,
  ): Promise<TopUpRecord[]> {
    if (statuses.length === 0) return [];
    let q = this.db
      .selectFrom('walletTopUps')
      .selectAll()
      .where('status', 'in', [...statuses])
      .where('updatedAt', '<', updatedBefore);
    if (updatedAfter !== undefined) q = q.where('updatedAt', '>', updatedAfter);
    const rows = await q.orderBy('updatedAt').limit(limit).execute();
    return rows.map(toTopUp);
  }

  async update(t: TopUpRecord, expectedVersion: number): Promise<boolean> {
    const res = await this.db
      .updateTable('walletTopUps')
      .set({
        status: t.status,
        gatewayTradeNo: t.gatewayTradeNo,
        failureCode: t.failureCode,
        refundStatus: t.refundStatus ?? null,
        qrCode: t.qrCode ?? null,
        payUrl: t.payUrl ?? null,
        payExpiresAt: t.payExpiresAt ?? null,
        settledAt: t.settledAt ?? null,
        refundSettledAt: t.refundSettledAt ?? null,
        closeReason: t.closeReason ?? null,
        updatedBy: t.updatedBy,
        updatedAt: t.updatedAt,
        version: t.version,
      })
      .where('id', '=', t.id)
      .where(filterOnly('tenantId'), '=', t.tenantId)
      .where('version', '=', expectedVersion)
      .modifyEnd(BATCHABLE.version)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }
}

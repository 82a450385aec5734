import type { Kysely } from 'kysely';
import type { Currency } from '../../../domain/money.js';
import type { RefundStatus } from '../../../domain/refund.js';
import type { RefundRecord } from '../../../ports/records.js';
import type { RefundRepository } from '../../../ports/repositories.js';
import type { CamelCaseDatabase, NewRow, Row } from '../schema.js';
import { filterOnly, num } from './columns.js';
import { BATCHABLE } from './batchable.js';

/** A refund as read: integers normalised. */
export function toRefund(row: Row<'refunds'>): RefundRecord {
  const { settledAt, ...r } = row;
  return {
    ...r,
    ...(settledAt === null ? {} : { settledAt: num(settledAt) }),
    amount: num(r.amount),
    currency: r.currency as Currency,
    status: r.status as RefundStatus,
    createdAt: num(r.createdAt),
    updatedAt: num(r.updatedAt),
    version: num(r.version),
  };
}

/** A refund as written: every column in table order. */
function refundRow(r: RefundRecord): NewRow<'refunds'> {
  return {
    id: r.id,
    tenantId: r.tenantId,
    orderId: r.orderId,
    paymentId: r.paymentId,
    outRefundNo: r.outRefundNo,
    amount: r.amount,
    currency: r.currency,
    status: r.status,
    reason: r.reason,
    failureCode: r.failureCode,
    gatewayRefundNo: r.gatewayRefundNo,
    settledAt: r.settledAt ?? null,
    createdBy: r.createdBy,
    updatedBy: r.updatedBy,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    version: r.version,
  };
}

export class KyselyRefunds implements RefundRepository {
  constructor(private readonly db: Kysely<CamelCaseDatabase>) {}

  async insert(refund: RefundRecord): Promise<void> {
    await this.db.insertInto('refunds').values(refundRow(refund)).modifyEnd(BATCHABLE.insert).execute();
  }

  async listAfter(tenantId: string, afterId: string | null, limit: number): Promise<RefundRecord[]> {
    let q = this.db.selectFrom('refunds').selectAll().where('tenantId', '=', tenantId);
    if (afterId !== null) q = q.where('id', '>', afterId);
    const rows = await q.orderBy('id').limit(limit).execute();
    return rows.map(toRefund);
  }

  async listByGateway(
    gateway: string,
    from: number,
    to: number,
    afterId: string | null,
    limit: number,
  ): Promise<RefundRecord[]> {
    let q = this.db
      .selectFrom('refunds')
      .innerJoin('payments', (j) =>
        j.onRef('payments.id', '=', 'refunds.paymentId').onRef('payments.tenantId', '=', 'refunds.tenantId'),
      )
      .selectAll('refunds')
      .where('payments.gateway', '=', gateway)
      .where('refunds.createdAt', '>=', from)
      .where('refunds.createdAt', '<', to);
    if (afterId !== null) q = q.where('refunds.id', '>', afterId);
    return (await q.orderBy('refunds.id').limit(limit).execute()).map(toRefund);
  }

  async get(tenantId: string, id: string): Promise<RefundRecord | undefined> {
    const row = await this.db
      .selectFrom('refunds')
      .selectAll()
      .where('id', '=', id)
      .where(filterOnly('tenantId'), '=', tenantId)
      .executeTakeFirst();
    return row === undefined ? undefined : toRefund(row);
  }

  async getByOutRefundNo(outRefundNo: string): Promise<RefundRecord | undefined> {
    const row = await this.db
      .selectFrom('refunds')
      .selectAll()
      .where('outRefundNo', '=', outRefundNo)
      .executeTakeFirst();
    return row === undefined ? undefined : toRefund(row);
  }

  async listByPayment(tenantId: string, paymentId: string): Promise<RefundRecord[]> {
    const rows = await this.db
      .selectFrom('refunds')
      .selectAll()
      .where('tenantId', '=', tenantId)
      .where('paymentId', '=', paymentId)
      .orderBy('id')
      .execute();
    return rows.map(toRefund);
  }

  async update(r: RefundRecord, expectedVersion: number): Promise<boolean> {
    const res = await this.db
      .updateTable('refunds')
      .set({
        status: r.status,
        failureCode: r.failureCode,
        gatewayRefundNo: r.gatewayRefundNo,
        settledAt: r.settledAt ?? null,
        updatedBy: r.updatedBy,
        updatedAt: r.updatedAt,
        version: r.version,
      })
      .where('id', '=', r.id)
      .where(filterOnly('tenantId'), '=', r.tenantId)
      .where('version', '=', expectedVersion)
      .modifyEnd(BATCHABLE.version)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }
}

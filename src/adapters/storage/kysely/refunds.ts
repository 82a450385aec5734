import type { Kysely, Selectable } from 'kysely';
import type { Currency } from '../../../domain/money.js';
import type { RefundStatus } from '../../../domain/refund.js';
import type { RefundRecord } from '../../../ports/records.js';
import type { RefundRepository } from '../../../ports/repositories.js';
import type { Database, RefundsTable } from '../schema.js';
import { num } from './columns.js';

export function toRefund(r: Selectable<RefundsTable>): RefundRecord {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    orderId: r.order_id,
    paymentId: r.payment_id,
    outRefundNo: r.out_refund_no,
    amount: num(r.amount),
    currency: r.currency as Currency,
    status: r.status as RefundStatus,
    reason: r.reason,
    failureCode: r.failure_code,
    gatewayRefundNo: r.gateway_refund_no,
    createdBy: r.created_by,
    updatedBy: r.updated_by,
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
    version: num(r.version),
  };
}

function fromRefund(r: RefundRecord): Selectable<RefundsTable> {
  return {
    id: r.id,
    tenant_id: r.tenantId,
    order_id: r.orderId,
    payment_id: r.paymentId,
    out_refund_no: r.outRefundNo,
    amount: r.amount,
    currency: r.currency,
    status: r.status,
    reason: r.reason,
    failure_code: r.failureCode,
    gateway_refund_no: r.gatewayRefundNo,
    created_by: r.createdBy,
    updated_by: r.updatedBy,
    created_at: r.createdAt,
    updated_at: r.updatedAt,
    version: r.version,
  };
}

export class KyselyRefunds implements RefundRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(refund: RefundRecord): Promise<void> {
    await this.db.insertInto('refunds').values(fromRefund(refund)).execute();
  }

  async listAfter(tenantId: string, afterId: string | null, limit: number): Promise<ReturnType<typeof toRefund>[]> {
    let q = this.db.selectFrom('refunds').selectAll().where('tenant_id', '=', tenantId);
    if (afterId !== null) q = q.where('id', '>', afterId);
    const rows = await q.orderBy('id').limit(limit).execute();
    return rows.map(toRefund);
  }

  async get(tenantId: string, id: string): Promise<RefundRecord | undefined> {
    const row = await this.db
      .selectFrom('refunds')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row === undefined ? undefined : toRefund(row);
  }

  async getByOutRefundNo(outRefundNo: string): Promise<RefundRecord | undefined> {
    const row = await this.db
      .selectFrom('refunds')
      .selectAll()
      .where('out_refund_no', '=', outRefundNo)
      .executeTakeFirst();
    return row === undefined ? undefined : toRefund(row);
  }

  async listByPayment(tenantId: string, paymentId: string): Promise<RefundRecord[]> {
    const rows = await this.db
      .selectFrom('refunds')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('payment_id', '=', paymentId)
      .orderBy('id')
      .execute();
    return rows.map(toRefund);
  }

  async update(r: RefundRecord, expectedVersion: number): Promise<boolean> {
    const res = await this.db
      .updateTable('refunds')
      .set({
        status: r.status,
        failure_code: r.failureCode,
        gateway_refund_no: r.gatewayRefundNo,
        updated_by: r.updatedBy,
        updated_at: r.updatedAt,
        version: r.version,
      })
      .where('tenant_id', '=', r.tenantId)
      .where('id', '=', r.id)
      .where('version', '=', expectedVersion)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }
}

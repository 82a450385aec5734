import type { Kysely, Selectable } from 'kysely';
import type { Currency } from '../../../domain/money.js';
import type { PaymentStatus } from '../../../domain/payment.js';
import type { PaymentRecord } from '../../../ports/records.js';
import type { PaymentRepository } from '../../../ports/repositories.js';
import type { Database, PaymentsTable } from '../schema.js';
import { num } from './columns.js';

export function toPayment(r: Selectable<PaymentsTable>): PaymentRecord {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    orderId: r.order_id,
    status: r.status as PaymentStatus,
    amount: num(r.amount),
    refundedAmount: num(r.refunded_amount),
    currency: r.currency as Currency,
    gateway: r.gateway,
    method: r.method,
    attempt: num(r.attempt),
    outTradeNo: r.out_trade_no,
    gatewayTradeNo: r.gateway_trade_no,
    failureCode: r.failure_code,
    createdBy: r.created_by,
    updatedBy: r.updated_by,
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
    version: num(r.version),
  };
}

export function fromPayment(p: PaymentRecord): Selectable<PaymentsTable> {
  return {
    id: p.id,
    tenant_id: p.tenantId,
    order_id: p.orderId,
    status: p.status,
    amount: p.amount,
    refunded_amount: p.refundedAmount,
    currency: p.currency,
    gateway: p.gateway,
    method: p.method,
    attempt: p.attempt,
    out_trade_no: p.outTradeNo,
    gateway_trade_no: p.gatewayTradeNo,
    failure_code: p.failureCode,
    created_by: p.createdBy,
    updated_by: p.updatedBy,
    created_at: p.createdAt,
    updated_at: p.updatedAt,
    version: p.version,
  };
}

export class KyselyPayments implements PaymentRepository {
  constructor(protected readonly db: Kysely<Database>) {}

  async insert(p: PaymentRecord): Promise<void> {
    await this.db.insertInto('payments').values(fromPayment(p)).execute();
  }

  async listAfter(tenantId: string, afterId: string | null, limit: number): Promise<ReturnType<typeof toPayment>[]> {
    let q = this.db.selectFrom('payments').selectAll().where('tenant_id', '=', tenantId);
    if (afterId !== null) q = q.where('id', '>', afterId);
    const rows = await q.orderBy('id').limit(limit).execute();
    return rows.map(toPayment);
  }

  async get(tenantId: string, id: string): Promise<PaymentRecord | undefined> {
    const row = await this.db
      .selectFrom('payments')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row === undefined ? undefined : toPayment(row);
  }

  async update(p: PaymentRecord, expectedVersion: number): Promise<boolean> {
    const res = await this.db
      .updateTable('payments')
      .set({
        status: p.status,
        refunded_amount: p.refundedAmount,
        gateway: p.gateway,
        method: p.method,
        attempt: p.attempt,
        out_trade_no: p.outTradeNo,
        gateway_trade_no: p.gatewayTradeNo,
        failure_code: p.failureCode,
        updated_by: p.updatedBy,
        updated_at: p.updatedAt,
        version: p.version,
      })
      .where('tenant_id', '=', p.tenantId)
      .where('id', '=', p.id)
      .where('version', '=', expectedVersion)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async getByOutTradeNo(outTradeNo: string): Promise<PaymentRecord | undefined> {
    const row = await this.db
      .selectFrom('payments')
      .selectAll()
      .where('out_trade_no', '=', outTradeNo)
      .executeTakeFirst();
    return row === undefined ? undefined : toPayment(row);
  }
}

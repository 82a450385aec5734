import type { Kysely } from 'kysely';
import type { Currency } from '../../../domain/money.js';
import type { PaymentStatus } from '../../../domain/payment.js';
import type { PaymentRecord } from '../../../ports/records.js';
import type { PaymentRepository } from '../../../ports/repositories.js';
import type { CamelCaseDatabase, NewRow, Row } from '../schema.js';
import { num } from './columns.js';
import { BATCHABLE } from './batchable.js';

/** A payment as read: integers normalised. */
export function toPayment(row: Row<'payments'>): PaymentRecord {
  const { settledAt, ...r } = row;
  return {
    ...r,
    ...(settledAt === null ? {} : { settledAt: num(settledAt) }),
    status: r.status as PaymentStatus,
    amount: num(r.amount),
    refundedAmount: num(r.refundedAmount),
    currency: r.currency as Currency,
    attempt: num(r.attempt),
    payExpiresAt: r.payExpiresAt === null ? null : num(r.payExpiresAt),
    createdAt: num(r.createdAt),
    updatedAt: num(r.updatedAt),
    version: num(r.version),
  };
}

/** A payment as written: every column in table order (one statement, whatever the record carries). */
export function paymentRow(p: PaymentRecord): NewRow<'payments'> {
  return {
    id: p.id,
    tenantId: p.tenantId,
    orderId: p.orderId,
    status: p.status,
    amount: p.amount,
    refundedAmount: p.refundedAmount,
    currency: p.currency,
    gateway: p.gateway,
    method: p.method,
    attempt: p.attempt,
    outTradeNo: p.outTradeNo,
    gatewayTradeNo: p.gatewayTradeNo,
    failureCode: p.failureCode,
    qrCode: p.qrCode,
    payUrl: p.payUrl,
    payExpiresAt: p.payExpiresAt,
    settledAt: p.settledAt ?? null,
    createdBy: p.createdBy,
    updatedBy: p.updatedBy,
    createdAt: p.createdAt,
    updatedAt: p.updatedAt,
    version: p.version,
  };
}

export class KyselyPayments implements PaymentRepository {
  constructor(protected readonly db: Kysely<CamelCaseDatabase>) {}

  async insert(p: PaymentRecord): Promise<void> {
    await this.db.insertInto('payments').values(paymentRow(p)).modifyEnd(BATCHABLE.insert).execute();
  }

  async listAfter(tenantId: string, afterId: string | null, limit: number): Promise<PaymentRecord[]> {
    let q = this.db.selectFrom('payments').selectAll().where('tenantId', '=', tenantId);
    if (afterId !== null) q = q.where('id', '>', afterId);
    const rows = await q.orderBy('id').limit(limit).execute();
    return rows.map(toPayment);
  }

  async get(tenantId: string, id: string): Promise<PaymentRecord | undefined> {
    const row = await this.db
      .selectFrom('payments')
      .selectAll()
      .where('tenantId', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row === undefined ? undefined : toPayment(row);
  }

  async update(p: PaymentRecord, expectedVersion: number): Promise<boolean> {
    const res = await this.db
      .updateTable('payments')
      .set({
        status: p.status,
        refundedAmount: p.refundedAmount,
        gateway: p.gateway,
        method: p.method,
        attempt: p.attempt,
        outTradeNo: p.outTradeNo,
        gatewayTradeNo: p.gatewayTradeNo,
        failureCode: p.failureCode,
        qrCode: p.qrCode,
        payUrl: p.payUrl,
        payExpiresAt: p.payExpiresAt,
        settledAt: p.settledAt ?? null,
        updatedBy: p.updatedBy,
        updatedAt: p.updatedAt,
        version: p.version,
      })
      .where('tenantId', '=', p.tenantId)
      .where('id', '=', p.id)
      .where('version', '=', expectedVersion)
      .modifyEnd(BATCHABLE.version)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async listByGateway(
    gateway: string,
    from: number,
    to: number,
    afterId: string | null,
    limit: number,
  ): Promise<PaymentRecord[]> {
    let q = this.db
      .selectFrom('payments')
      .selectAll()
      .where('gateway', '=', gateway)
      .where('createdAt', '>=', from)
      .where('createdAt', '<', to);
    if (afterId !== null) q = q.where('id', '>', afterId);
    return (await q.orderBy('id').limit(limit).execute()).map(toPayment);
  }

  async getByOutTradeNo(outTradeNo: string): Promise<PaymentRecord | undefined> {
    const row = await this.db
      .selectFrom('payments')
      .selectAll()
      .where('outTradeNo', '=', outTradeNo)
      .executeTakeFirst();
    return row === undefined ? undefined : toPayment(row);
  }
}

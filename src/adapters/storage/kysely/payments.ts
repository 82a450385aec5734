import type { Kysely } from 'kysely';
import type { Currency } from '../../../domain/money.js';
import type { PaymentStatus } from '../../../domain/payment.js';
import type { PaymentClosing, PaymentRecord } from '../../../ports/records.js';
import type { PaymentRepository } from '../../../ports/repositories.js';
import type { CamelCaseDatabase, NewRow, Row } from '../schema.js';
import { filterOnly, num } from './columns.js';
import { BATCHABLE, versionChecked } from './batchable.js';
import { HotInsert, hotQuery } from './hot-query.js';

/** A payment as read: integers normalised. */
export function toPayment(row: Row<'payments'>): PaymentRecord {
  const { settledAt, closeReason, closeNote, closeMethod, closeGateway, ...r } = row;
  const closing = closingOf(closeReason, closeNote, closeMethod, closeGateway);
  return {
    ...r,
    ...(settledAt === null ? {} : { settledAt: num(settledAt) }),
    ...(closing === undefined ? {} : { closing }),
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

/** A recorded close decision from its columns; a row we never set out to close has none. */
function closingOf(
  reason: string | null,
  note: string | null,
  method: string | null,
  gateway: string | null,
): PaymentClosing | undefined {
  if (reason === 'ORDER_CANCELLED') return { reason, note: note ?? '' };
  if (reason === 'METHOD_CHANGED' && method !== null && gateway !== null) return { reason, method, gateway };
  if (reason !== null) throw new Error(`payments.close_reason holds an unknown reason: ${reason}`);
  return undefined;
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
    closeReason: p.closing?.reason ?? null,
    closeNote: p.closing?.reason === 'ORDER_CANCELLED' ? p.closing.note : null,
    closeMethod: p.closing?.reason === 'METHOD_CHANGED' ? p.closing.method : null,
    closeGateway: p.closing?.reason === 'METHOD_CHANGED' ? p.closing.gateway : null,
    createdBy: p.createdBy,
    updatedBy: p.updatedBy,
    createdAt: p.createdAt,
    updatedAt: p.updatedAt,
    version: p.version,
  };
}

/** A payment by tenant and id, found by its key (the tenant checked on the row: columns.ts filterOnly). */
const PAYMENT_BY_ID = hotQuery((db: Kysely<CamelCaseDatabase>, a: { tenantId: string; id: string }) =>
  db.selectFrom('payments').selectAll().where('id', '=', a.id).where(filterOnly('tenantId'), '=', a.tenantId),
);

const INSERT_PAYMENT = new HotInsert<CamelCaseDatabase, 'payments', NewRow<'payments'>>('payments', (q) =>
  q.modifyEnd(BATCHABLE.insert),
);

/** A version-checked update's values: what can change after creation (the rest is neither written nor bound). */
export type PaymentChange = Omit<NewRow<'payments'>, 'createdAt' | 'createdBy' | 'orderId' | 'amount' | 'currency'> & {
  readonly expected: number;
};

/** `p`'s PaymentChange, to be written over the version `expected`. */
export function paymentChange(p: PaymentRecord, expected: number): PaymentChange {
  const { createdAt: _a, createdBy: _b, orderId: _c, amount: _d, currency: _e, ...change } = paymentRow(p);
  return { ...change, expected };
}

const UPDATE_PAYMENT = hotQuery((db: Kysely<CamelCaseDatabase>, a: PaymentChange) =>
  db
    .updateTable('payments')
    .set({
      status: a.status,
      refundedAmount: a.refundedAmount,
      gateway: a.gateway,
      method: a.method,
      attempt: a.attempt,
      outTradeNo: a.outTradeNo,
      gatewayTradeNo: a.gatewayTradeNo,
      failureCode: a.failureCode,
      qrCode: a.qrCode,
      payUrl: a.payUrl,
      payExpiresAt: a.payExpiresAt,
      settledAt: a.settledAt,
      closeReason: a.closeReason,
      closeNote: a.closeNote,
      closeMethod: a.closeMethod,
      closeGateway: a.closeGateway,
      updatedBy: a.updatedBy,
      updatedAt: a.updatedAt,
      version: a.version,
    })
    .$call((q) => versionChecked(q, a)),
);

export class KyselyPayments implements PaymentRepository {
  constructor(protected readonly db: Kysely<CamelCaseDatabase>) {}

  async insert(p: PaymentRecord): Promise<void> {
    await INSERT_PAYMENT.execute(this.db, [paymentRow(p)]);
  }

  async listAfter(tenantId: string, afterId: string | null, limit: number): Promise<PaymentRecord[]> {
    let q = this.db.selectFrom('payments').selectAll().where('tenantId', '=', tenantId);
    if (afterId !== null) q = q.where('id', '>', afterId);
    const rows = await q.orderBy('id').limit(limit).execute();
    return rows.map(toPayment);
  }

  async get(tenantId: string, id: string): Promise<PaymentRecord | undefined> {
    const row = await PAYMENT_BY_ID.first(this.db, { tenantId, id });
    return row === undefined ? undefined : toPayment(row);
  }

  async update(p: PaymentRecord, expectedVersion: number): Promise<boolean> {
    return (await UPDATE_PAYMENT.affected(this.db, paymentChange(p, expectedVersion))) === 1;
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

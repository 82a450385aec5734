import { type Kysely, type Selectable, sql } from 'kysely';
import type { Currency } from '../../../domain/money.js';
import type { OrderOptions } from '../../../domain/menu.js';
import type { OrderStatus } from '../../../domain/order.js';
import type { OrderRecord, PaymentRecord } from '../../../ports/records.js';
import type { OrderFilter, OrderRepository } from '../../../ports/repositories.js';
import type { Database, OrdersTable } from '../schema.js';
import { num } from './columns.js';
import { toPayment } from './payments.js';

export function toOrder(r: Selectable<OrdersTable>): OrderRecord {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    userId: r.user_id,
    status: r.status as OrderStatus,
    drink: r.drink,
    size: r.size,
    quantity: num(r.quantity),
    options: JSON.parse(r.options_json) as OrderOptions,
    description: r.description,
    unitAmount: num(r.unit_amount),
    amount: num(r.amount),
    currency: r.currency as Currency,
    paymentId: r.payment_id,
    statusReason: r.status_reason,
    createdBy: r.created_by,
    updatedBy: r.updated_by,
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
    version: num(r.version),
  };
}

export function fromOrder(o: OrderRecord): Selectable<OrdersTable> {
  return {
    id: o.id,
    tenant_id: o.tenantId,
    user_id: o.userId,
    status: o.status,
    drink: o.drink,
    size: o.size,
    quantity: o.quantity,
    options_json: JSON.stringify(o.options),
    description: o.description,
    unit_amount: o.unitAmount,
    amount: o.amount,
    currency: o.currency,
    payment_id: o.paymentId,
    status_reason: o.statusReason,
    created_by: o.createdBy,
    updated_by: o.updatedBy,
    created_at: o.createdAt,
    updated_at: o.updatedAt,
    version: o.version,
  };
}

export class KyselyOrders implements OrderRepository {
  constructor(protected readonly db: Kysely<Database>) {}

  async insert(order: OrderRecord): Promise<void> {
    await this.db.insertInto('orders').values(fromOrder(order)).execute();
  }

  async get(tenantId: string, id: string): Promise<OrderRecord | undefined> {
    const row = await this.db
      .selectFrom('orders')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row === undefined ? undefined : toOrder(row);
  }

  async update(order: OrderRecord, expectedVersion: number): Promise<boolean> {
    // Only what can change after creation: fewer columns, fewer index updates.
    const res = await this.db
      .updateTable('orders')
      .set({
        status: order.status,
        status_reason: order.statusReason,
        updated_by: order.updatedBy,
        updated_at: order.updatedAt,
        version: order.version,
      })
      .where('tenant_id', '=', order.tenantId)
      .where('id', '=', order.id)
      .where('version', '=', expectedVersion)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async getWithPayment(
    tenantId: string,
    id: string,
  ): Promise<{ order: OrderRecord; payment: PaymentRecord } | undefined> {
    const order = await this.get(tenantId, id);
    if (order === undefined) return undefined;
    const row = await this.db
      .selectFrom('payments')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('id', '=', order.paymentId)
      .executeTakeFirst();
    return row === undefined ? undefined : { order, payment: toPayment(row) };
  }

  async list(filter: OrderFilter): Promise<OrderRecord[]> {
    let q = this.db.selectFrom('orders').selectAll().where('tenant_id', '=', filter.tenantId);
    if (filter.userId !== undefined) q = q.where('user_id', '=', filter.userId);
    if (filter.status !== undefined && filter.status.length > 0) q = q.where('status', 'in', [...filter.status]);
    if (filter.createdFrom !== undefined) q = q.where('created_at', '>=', filter.createdFrom);
    if (filter.createdTo !== undefined) q = q.where('created_at', '<', filter.createdTo);
    if (filter.beforeId !== undefined) q = q.where('id', '<', filter.beforeId);
    const rows = await q.orderBy('id', 'desc').limit(filter.limit).execute();
    return rows.map(toOrder);
  }

  async findStale(
    statuses: readonly OrderStatus[],
    updatedBefore: number,
    updatedAfter: number | undefined,
    limit: number,
  ): Promise<OrderRecord[]> {
    if (statuses.length === 0) return [];
    let q = this.db
      .selectFrom('orders')
      .selectAll()
      .where('status', 'in', [...statuses])
      .where('updated_at', '<', updatedBefore);
    if (updatedAfter !== undefined) q = q.where('updated_at', '>', updatedAfter);
    const rows = await q.orderBy('updated_at').limit(limit).execute();
    return rows.map(toOrder);
  }

  async sumCommittedSince(tenantId: string, userId: string, since: number, currency: string): Promise<number> {
    const row = await this.db
      .selectFrom('orders')
      .select((eb) => eb.fn.coalesce(eb.fn.sum<number | string>('amount'), sql<number>`0`).as('total'))
      .where('tenant_id', '=', tenantId)
      .where('user_id', '=', userId)
      .where('currency', '=', currency)
      .where('created_at', '>=', since)
      // Money that is held, moving or may still move counts against the limit.
      .where('status', 'not in', ['CANCELLED', 'FAILED', 'REFUNDED'])
      .executeTakeFirstOrThrow();
    return num(row.total);
  }
}

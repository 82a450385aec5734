import { type Kysely, sql } from 'kysely';
import type { Currency } from '../../../domain/money.js';
import type { OrderOptions } from '../../../domain/menu.js';
import type { OrderStatus } from '../../../domain/order.js';
import type { OrderRecord, PaymentRecord } from '../../../ports/records.js';
import type { OrderFilter, OrderRepository } from '../../../ports/repositories.js';
import type { CamelCaseDatabase, NewRow, Row } from '../schema.js';
import { filterOnly, num } from './columns.js';
import { toPayment } from './payments.js';
import { BATCHABLE, versionChecked } from './batchable.js';
import { HotInsert, hotQuery } from './hot-query.js';
import { columnName, propertyName } from './with-camel-case.js';

/** An order as read: integers normalised, options parsed. */
export function toOrder(r: Row<'orders'>): OrderRecord {
  return {
    id: r.id,
    tenantId: r.tenantId,
    userId: r.userId,
    status: r.status as OrderStatus,
    drink: r.drink,
    size: r.size,
    quantity: num(r.quantity),
    options: JSON.parse(r.optionsJson) as OrderOptions,
    description: r.description,
    unitAmount: num(r.unitAmount),
    amount: num(r.amount),
    currency: r.currency as Currency,
    paymentId: r.paymentId,
    statusReason: r.statusReason,
    createdBy: r.createdBy,
    updatedBy: r.updatedBy,
    createdAt: num(r.createdAt),
    updatedAt: num(r.updatedAt),
    version: num(r.version),
  };
}

/**
 * An order as written: every column in table order, whatever else the record object carries and
 * however its caller ordered it, so the statement is always the same one.
 */
export function orderRow(o: OrderRecord): NewRow<'orders'> {
  return {
    id: o.id,
    tenantId: o.tenantId,
    userId: o.userId,
    status: o.status,
    drink: o.drink,
    size: o.size,
    quantity: o.quantity,
    optionsJson: JSON.stringify(o.options),
    description: o.description,
    unitAmount: o.unitAmount,
    amount: o.amount,
    currency: o.currency,
    paymentId: o.paymentId,
    statusReason: o.statusReason,
    createdBy: o.createdBy,
    updatedBy: o.updatedBy,
    createdAt: o.createdAt,
    updatedAt: o.updatedAt,
    version: o.version,
  };
}

/**
 * An order by tenant and id: every order and every order read looks one up. Found by its key, the
 * tenant checked on the row (columns.ts filterOnly: never planned on a tenant index).
 */
const ORDER_BY_ID = hotQuery((db: Kysely<CamelCaseDatabase>, a: { tenantId: string; id: string }) =>
  db.selectFrom('orders').selectAll().where('id', '=', a.id).where(filterOnly('tenantId'), '=', a.tenantId),
);

/** Every column of payments (the type names them all), each read beside its order's as `p_<column>`. */
const PAYMENT_COLUMNS = Object.keys({
  id: 1,
  tenantId: 1,
  orderId: 1,
  status: 1,
  amount: 1,
  refundedAmount: 1,
  currency: 1,
  gateway: 1,
  method: 1,
  attempt: 1,
  outTradeNo: 1,
  gatewayTradeNo: 1,
  failureCode: 1,
  createdBy: 1,
  updatedBy: 1,
  createdAt: 1,
  updatedAt: 1,
  version: 1,
  qrCode: 1,
  payUrl: 1,
  payExpiresAt: 1,
  settledAt: 1,
  closeReason: 1,
  closeNote: 1,
  closeMethod: 1,
  closeGateway: 1,
} satisfies Record<keyof Row<'payments'>, 1>) as Array<keyof Row<'payments'>>;

/** Per payment column: its property, the alias it is read as, and the property that alias comes back as. */
const PAYMENT_ALIASES = PAYMENT_COLUMNS.map((property) => {
  const alias = `p_${columnName(property)}`;
  return { property, alias, read: propertyName(alias) };
});

/**
 * An order and its payment in one statement (one round trip where a statement costs one:
 * PostgreSQL), the payment's columns as `p_<column>`, all null when it has none. Both rows are
 * found by their keys, the tenant checked on each (filterOnly).
 */
const ORDER_WITH_PAYMENT = hotQuery((db: Kysely<CamelCaseDatabase>, a: { tenantId: string; id: string }) =>
  db
    .selectFrom('orders as o')
    .leftJoin('payments as p', (j) =>
      j.onRef('p.id', '=', 'o.paymentId').on((eb) => eb(filterOnly('p.tenantId'), '=', eb.ref('o.tenantId'))),
    )
    .selectAll('o')
    .select((eb) => PAYMENT_ALIASES.map(({ property, alias }) => eb.ref(`p.${property}`).as(alias)))
    .where('o.id', '=', a.id)
    .where(filterOnly('o.tenantId'), '=', a.tenantId),
);

const PAYMENT_READ = new Set(PAYMENT_ALIASES.map((p) => p.read));

/** The payment of an ORDER_WITH_PAYMENT row, if it had one. */
function paymentOf(row: Readonly<Record<string, unknown>>): PaymentRecord | undefined {
  if (row.pId === null || row.pId === undefined) return undefined;
  const payment: Record<string, unknown> = {};
  for (const { property, read } of PAYMENT_ALIASES) payment[property] = row[read];
  return toPayment(payment as Row<'payments'>);
}
const INSERT_ORDER = new HotInsert<CamelCaseDatabase, 'orders', NewRow<'orders'>>('orders', (q) =>
  q.modifyEnd(BATCHABLE.insert),
);

/** A version-checked update's values: only what can change after creation (fewer columns, fewer index updates). */
export interface OrderChange {
  readonly status: string;
  readonly statusReason: string | null;
  readonly updatedBy: string;
  readonly updatedAt: number;
  readonly version: number;
  readonly tenantId: string;
  readonly id: string;
  readonly expected: number;
}

/** `order`'s OrderChange, to be written over the version `expected`. */
export function orderChange(order: OrderRecord, expected: number): OrderChange {
  return {
    status: order.status,
    statusReason: order.statusReason,
    updatedBy: order.updatedBy,
    updatedAt: order.updatedAt,
    version: order.version,
    tenantId: order.tenantId,
    id: order.id,
    expected,
  };
}

const UPDATE_ORDER = hotQuery((db: Kysely<CamelCaseDatabase>, a: OrderChange) =>
  versionChecked(
    db.updateTable('orders').set({
      status: a.status,
      statusReason: a.statusReason,
      updatedBy: a.updatedBy,
      updatedAt: a.updatedAt,
      version: a.version,
    }),
    a,
  ),
);

export class KyselyOrders implements OrderRepository {
  constructor(protected readonly db: Kysely<CamelCaseDatabase>) {}

  async insert(order: OrderRecord): Promise<void> {
    await INSERT_ORDER.execute(this.db, [orderRow(order)]);
  }

  async get(tenantId: string, id: string): Promise<OrderRecord | undefined> {
    const row = await ORDER_BY_ID.first(this.db, { tenantId, id });
    return row === undefined ? undefined : toOrder(row);
  }

  async update(order: OrderRecord, expectedVersion: number): Promise<boolean> {
    return (await UPDATE_ORDER.affected(this.db, orderChange(order, expectedVersion))) === 1;
  }

  async getWithPayment(
    tenantId: string,
    id: string,
  ): Promise<{ order: OrderRecord; payment: PaymentRecord } | undefined> {
    const found = await this.getWithPaymentIfAny(tenantId, id);
    return found?.payment === undefined ? undefined : { order: found.order, payment: found.payment };
  }

  async getWithPaymentIfAny(
    tenantId: string,
    id: string,
  ): Promise<{ order: OrderRecord; payment: PaymentRecord | undefined } | undefined> {
    const row = await ORDER_WITH_PAYMENT.first(this.db, { tenantId, id });
    if (row === undefined) return undefined;
    const order: Record<string, unknown> = {};
    for (const key in row) if (!PAYMENT_READ.has(key)) order[key] = (row as Record<string, unknown>)[key];
    return { order: toOrder(order as Row<'orders'>), payment: paymentOf(row) };
  }

  /**
   * Newest first. With several statuses, each status is read on its own, newest first along
   * `orders_tenant_status` (tenant, status, id), at most `limit` rows each, and the pieces merged
   * in one statement (UNION ALL). One `status in (…)` cannot be read in id order from that index:
   * PostgreSQL then walks the primary key backwards and filters, reading every order of every
   * tenant when none matches (the "anything unfinished?" poll: ~4,500 buffers at 14,000 orders),
   * and SQLite sorts every matching row, all of them for a common status.
   */
  async list(filter: OrderFilter): Promise<OrderRecord[]> {
    const statuses = [...new Set(filter.status ?? [])];
    const newest = (status: OrderStatus | undefined) => {
      let q = this.db.selectFrom('orders').selectAll().where('tenantId', '=', filter.tenantId);
      if (status !== undefined) q = q.where('status', '=', status);
      if (filter.userId !== undefined) q = q.where('userId', '=', filter.userId);
      if (filter.createdFrom !== undefined) q = q.where('createdAt', '>=', filter.createdFrom);
      if (filter.createdTo !== undefined) q = q.where('createdAt', '<', filter.createdTo);
      if (filter.beforeId !== undefined) q = q.where('id', '<', filter.beforeId);
      return q.orderBy('id', 'desc').limit(filter.limit);
    };
    if (statuses.length <= 1) return (await newest(statuses[0]).execute()).map(toOrder);
    const [first, ...rest] = statuses.map((status, i) => this.db.selectFrom(newest(status).as(`s${i}`)).selectAll());
    const merged = rest.reduce((u, part) => u.unionAll(part), first!);
    const rows = await this.db
      .selectFrom(merged.as('merged'))
      .selectAll()
      .orderBy('id', 'desc')
      .limit(filter.limit)
      .execute();
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
      .where('updatedAt', '<', updatedBefore);
    if (updatedAfter !== undefined) q = q.where('updatedAt', '>', updatedAfter);
    const rows = await q.orderBy('updatedAt').limit(limit).execute();
    return rows.map(toOrder);
  }

  async sumCommittedSince(tenantId: string, userId: string, since: number, currency: string): Promise<number> {
    const row = await this.db
      .selectFrom('orders')
      .select((eb) => eb.fn.coalesce(eb.fn.sum<number | string>('amount'), sql<number>`0`).as('total'))
      .where('tenantId', '=', tenantId)
      .where('userId', '=', userId)
      .where('currency', '=', currency)
      .where('createdAt', '>=', since)
      // Money that is held, moving or may still move counts against the limit.
      .where('status', 'not in', ['CANCELLED', 'FAILED', 'REFUNDED'])
      .executeTakeFirstOrThrow();
    return num(row.total);
  }
}

import type { OrderStatus } from '../../domain/order.js';
import type { Result } from '../../domain/result.js';
import { err, ok } from '../../domain/result.js';
import type { OrderRecord, PaymentRecord } from '../../ports/records.js';
import type { Deps } from '../kernel/deps.js';
import { type OrderView, toOrderView } from './order-view.js';

export async function getOrder(
  deps: Deps,
  tenantId: string,
  orderId: string,
): Promise<Result<{ order: OrderRecord; payment: PaymentRecord | undefined }>> {
  const found = await deps.uow.read.orders.getWithPaymentIfAny(tenantId, orderId);
  return found === undefined ? err('ORDER_NOT_FOUND', `no order ${orderId}`) : ok(found);
}

export interface ListOrdersQuery {
  readonly tenantId: string;
  readonly userId?: string;
  readonly status?: readonly OrderStatus[];
  readonly createdFrom?: number;
  readonly createdTo?: number;
  readonly cursor?: string;
  readonly limit: number;
}

export interface OrderPage {
  readonly data: OrderView[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  readonly next_cursor: string | null;
}

/** Newest first, keyset-paginated on the (time-sortable) order id. */
export async function listOrders(deps: Deps, q: ListOrdersQuery): Promise<OrderPage> {
  const rows = await deps.uow.read.orders.list({
    tenantId: q.tenantId,
    ...(q.userId === undefined ? {} : { userId: q.userId }),
    ...(q.status === undefined ? {} : { status: q.status }),
    ...(q.createdFrom === undefined ? {} : { createdFrom: q.createdFrom }),
    ...(q.createdTo === undefined ? {} : { createdTo: q.createdTo }),
    ...(q.cursor === undefined ? {} : { beforeId: q.cursor }),
    limit: q.limit + 1,
  });
  const page = rows.slice(0, q.limit);
  const views = await Promise.all(
    page.map(async (o) => toOrderView(o, await deps.uow.read.payments.get(o.tenantId, o.paymentId))),
  );
  const last = page.at(-1);
  return { data: views, next_cursor: rows.length > q.limit && last !== undefined ? last.id : null };
}

import type { AuditFeed } from '../kernel/audit-feed.js';
import { resourceFeed } from '../kernel/audit-feed.js';
import type { Result } from '../../domain/result.js';
import type { AuditRecord } from '../../ports/records.js';
import type { Caller } from '../kernel/caller.js';
import type { OrderView } from './order-view.js';

/** One order that changed, as the subscriber may see it now. */
export interface OrderChange {
  /**
   * The audit row that told of it (the event's id; it only increases on a stream). Nothing is
   * replayed from it: a stream opened again (`Last-Event-ID`) starts from then.
   */
  readonly seq: number;
  /** What happened, e.g. `order.fulfilled`, `refund.succeed`. */
  readonly action: string;
  readonly order: OrderView;
}

/** Live order changes for whoever watches (the console's orders list). */
export interface OrderFeed {
  /**
   * Call `onChange` for every order change after now that `caller` may see (their own orders; the
   * tenant's with `tenant.read_all`), until the returned function is called. Resolves once "now"
   * is fixed: every change that commits after that reaches `onChange`.
   */
  subscribe(caller: Caller, onChange: (change: OrderChange) => void): Promise<() => void>;
}

/** The order an audit row is about: its own rows, and refunds' and payments' rows that name it. */
export function orderIdOf(a: AuditRecord): string | undefined {
  if (a.resourceType === 'order') return a.resourceId;
  // A recharge's rows name its channel's order id (`order_id`), which is no order of ours.
  if (a.resourceType === 'recharge') return undefined;
  for (const side of [a.after, a.before]) {
    if (typeof side !== 'object' || side === null) continue;
    const id = (side as { orderId?: unknown; order_id?: unknown }).orderId ?? (side as { order_id?: unknown }).order_id;
    if (typeof id === 'string') return id;
  }
  return undefined;
}

/** Order changes from the audit feed, each looked up as each watcher may see it. */
export function createOrderFeed(
  feed: AuditFeed,
  get: (caller: Caller, orderId: string) => Promise<Result<OrderView>>,
): OrderFeed {
  const orders = resourceFeed(feed, orderIdOf, get);
  return {
    subscribe: (caller, onChange) =>
      orders.subscribe(caller, (c) => onChange({ seq: c.seq, action: c.action, order: c.value })),
  };
}

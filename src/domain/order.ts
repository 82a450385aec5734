import { assertNever, err, ok, type Result } from './result.js';

/**
 * Order lifecycle. Only the moves listed in `transitionOrder` exist; everything else is an
 * ILLEGAL_TRANSITION returned to the caller, never a silent overwrite.
 *
 *   CREATED ─┬─ require_confirmation ─► AWAITING_CONFIRMATION ─┐
 *            ├─ await_payment ────────► AWAITING_PAYMENT ──────┤ confirm
 *            └─ submit_payment ───────────────────────────────►┴► PAYMENT_PROCESSING
 *   PAYMENT_PROCESSING ─ payment_succeeded ─► PAID ─ start_fulfilment ─► FULFILLING ─ fulfilled ─► COMPLETED
 *   PAYMENT_PROCESSING ─ payment_failed ─► FAILED
 *   PAYMENT_PROCESSING ─ cancel (its trade closed at the gateway first) ─► CANCELLED
 *   AWAITING_* ─ cancel | expire ─► CANCELLED
 *   PAID | FULFILLING(fulfilment_failed) | COMPLETED ─ refund_requested ─► REFUNDING ─ refunded ─► REFUNDED
 */
export const ORDER_STATUSES = [
  'CREATED',
  'AWAITING_CONFIRMATION',
  'AWAITING_PAYMENT',
  'PAYMENT_PROCESSING',
  'PAID',
  'FULFILLING',
  'COMPLETED',
  'REFUNDING',
  'REFUNDED',
  'CANCELLED',
  'FAILED',
] as const;

export type OrderStatus = (typeof ORDER_STATUSES)[number];

/**
 * States from which no event moves the order. COMPLETED is not one: a completed order can still
 * be refunded (callers that mean "settled" name COMPLETED alongside these).
 */
export const TERMINAL_ORDER_STATUSES: ReadonlySet<OrderStatus> = new Set(['REFUNDED', 'CANCELLED', 'FAILED']);

export type OrderEvent =
  | { readonly type: 'require_confirmation' }
  | { readonly type: 'await_payment' }
  | { readonly type: 'submit_payment' }
  | { readonly type: 'confirm' }
  | { readonly type: 'cancel'; readonly reason: string }
  | { readonly type: 'expire' }
  | { readonly type: 'payment_succeeded' }
  | { readonly type: 'payment_failed'; readonly reason: string }
  | { readonly type: 'start_fulfilment' }
  | { readonly type: 'fulfilled' }
  | { readonly type: 'fulfilment_failed'; readonly reason: string }
  | { readonly type: 'refund_requested' }
  | { readonly type: 'refunded' };

export type OrderEventType = OrderEvent['type'];

export const ORDER_EVENT_TYPES: readonly OrderEventType[] = [
  'require_confirmation',
  'await_payment',
  'submit_payment',
  'confirm',
  'cancel',
  'expire',
  'payment_succeeded',
  'payment_failed',
  'start_fulfilment',
  'fulfilled',
  'fulfilment_failed',
  'refund_requested',
  'refunded',
];

function next(status: OrderStatus, event: OrderEvent): OrderStatus | undefined {
  switch (status) {
    case 'CREATED':
      if (event.type === 'require_confirmation') return 'AWAITING_CONFIRMATION';
      if (event.type === 'await_payment') return 'AWAITING_PAYMENT';
      if (event.type === 'submit_payment') return 'PAYMENT_PROCESSING';
      return undefined;
    case 'AWAITING_CONFIRMATION':
    case 'AWAITING_PAYMENT':
      if (event.type === 'confirm') return 'PAYMENT_PROCESSING';
      if (event.type === 'cancel' || event.type === 'expire') return 'CANCELLED';
      return undefined;
    case 'PAYMENT_PROCESSING':
      if (event.type === 'payment_succeeded') return 'PAID';
      if (event.type === 'payment_failed') return 'FAILED';
      // Only once its trade is closed at the gateway (cancel-order): a capture after it is a late one.
      if (event.type === 'cancel') return 'CANCELLED';
      return undefined;
    case 'PAID':
      if (event.type === 'start_fulfilment') return 'FULFILLING';
      if (event.type === 'refund_requested') return 'REFUNDING';
      return undefined;
    case 'FULFILLING':
      if (event.type === 'fulfilled') return 'COMPLETED';
      // Money was taken but the goods cannot be delivered: the only honest way out is a refund.
      if (event.type === 'fulfilment_failed') return 'REFUNDING';
      return undefined;
    case 'COMPLETED':
      if (event.type === 'refund_requested') return 'REFUNDING';
      return undefined;
    case 'REFUNDING':
      if (event.type === 'refunded') return 'REFUNDED';
      return undefined;
    case 'REFUNDED':
    case 'CANCELLED':
    case 'FAILED':
      return undefined;
    default:
      return assertNever(status);
  }
}

/** The single source of truth for order moves: pure, total, table-tested. */
export function transitionOrder(status: OrderStatus, event: OrderEvent): Result<OrderStatus> {
  const to = next(status, event);
  if (to === undefined) {
    return err('ILLEGAL_TRANSITION', `an order in ${status} cannot take the event ${event.type}`, {
      resource: 'order',
      from: status,
      event: event.type,
    });
  }
  return ok(to);
}

/** Statuses a person can still confirm or cancel. */
export function isAwaitingPerson(status: OrderStatus): boolean {
  return status === 'AWAITING_CONFIRMATION' || status === 'AWAITING_PAYMENT';
}

/** Human wording for the two waiting states, as the seed documents phrase them. */
export function describeOrderStatus(status: OrderStatus): string {
  switch (status) {
    case 'CREATED':
      return '已创建 created';
    case 'AWAITING_CONFIRMATION':
      return '待确认 awaiting confirmation';
    case 'AWAITING_PAYMENT':
      return '已下单，待付款 placed, awaiting payment';
    case 'PAYMENT_PROCESSING':
      return '支付中 payment processing';
    case 'PAID':
      return '已付款 paid';
    case 'FULFILLING':
      return '制作中 being prepared';
    case 'COMPLETED':
      return '已完成 completed';
    case 'REFUNDING':
      return '退款中 refunding';
    case 'REFUNDED':
      return '已退款 refunded';
    case 'CANCELLED':
      return '已取消 cancelled';
    case 'FAILED':
      return '失败 failed';
    default:
      return assertNever(status);
  }
}

import { formatMoney } from '../../domain/money.js';
import type { OrderOptions } from '../../domain/menu.js';
import type { OrderStatus } from '../../domain/order.js';
import type { DomainError, Result } from '../../domain/result.js';
import type { ActionHandler, ActionRegistry, HandlerContext } from './action-registry.js';
import { type AgentOutcome, type Confirmation, confirmationOf } from './agent-outcome.js';
import type { OrderOutcome, OrdersApi, OrderView } from '../orders/orders-api.js';
import type { RefundsApi } from '../refunds/refunds-api.js';

export function refused(e: DomainError): AgentOutcome {
  return e.details === undefined
    ? { kind: 'refused', code: e.code, reason: e.message }
    : { kind: 'refused', code: e.code, reason: e.message, details: e.details };
}

function confirmationFor(order: OrderView, what: 'order' | 'payment'): Confirmation {
  return {
    action: what === 'order' ? 'order_coffee' : 'submit_payment',
    what: `${order.description}, ${formatMoney({ amount: order.amount, currency: order.currency as 'CNY' })}`,
    order_id: order.id,
    amount: order.amount,
    currency: order.currency,
    payee: 'merchant',
    ...(order.payment === null ? {} : { payment_method: order.payment.method }),
    method: 'POST',
    path: `/api/v1/orders/${order.id}/confirm`,
  };
}

/** The engine's order outcome, in the agent's words. */
export function fromOrderOutcome(r: Result<OrderOutcome>): AgentOutcome {
  if (!r.ok) return refused(r.error);
  const o = r.value;
  switch (o.kind) {
    case 'completed':
      return { kind: 'paid', order: o.order };
    case 'payment_failed':
      return { kind: 'payment_failed', order: o.order, reason: o.order.status_reason ?? 'the payment was declined' };
    case 'accepted':
      if (o.order.status === 'AWAITING_CONFIRMATION')
        return { kind: 'awaiting_confirmation', order: o.order, confirm: confirmationFor(o.order, 'order') };
      if (o.order.status === 'AWAITING_PAYMENT')
        return { kind: 'placed', order: o.order, next: o.next, confirm: confirmationFor(o.order, 'payment') };
      return { kind: 'placed', order: o.order, next: o.next };
    default: {
      const never: never = o;
      throw new Error(`unknown outcome ${JSON.stringify(never)}`);
    }
  }
}

/** "last" → the conversation's last order; anything else is taken as an order id. */
function orderRef(params: Readonly<Record<string, unknown>>, ctx: HandlerContext): Result<string> {
  const ref = params.order_id;
  if (ref === 'last' || ref === undefined) {
    return ctx.lastOrderId === null
      ? {
          ok: false,
          error: {
            code: 'NO_LAST_ORDER',
            message: 'there is no earlier order in this conversation; name the order id',
          },
        }
      : { ok: true, value: ctx.lastOrderId };
  }
  return typeof ref === 'string'
    ? { ok: true, value: ref }
    : { ok: false, error: { code: 'ORDER_NOT_FOUND', message: 'order_id must be a string' } };
}

/**
 * Handlers that run the coffee actions through the orders and refunds capabilities, so every policy check,
 * limit and confirmation rule applies exactly as on POST /api/v1/order.
 */
export function registerOrderHandlers(registry: ActionRegistry, orders: OrdersApi, refunds: RefundsApi): void {
  const withOrder =
    (
      run: (orderId: string, params: Readonly<Record<string, unknown>>, ctx: HandlerContext) => Promise<AgentOutcome>,
    ): ActionHandler =>
    async (params, ctx) => {
      const id = orderRef(params, ctx);
      return id.ok ? run(id.value, params, ctx) : refused(id.error);
    };

  registry.handle('order_coffee', async (p, ctx) =>
    fromOrderOutcome(
      typeof ctx.recoveryPoint === 'string'
        ? await orders.outcomeOf(ctx.caller, ctx.recoveryPoint)
        : await orders.place(
            ctx.caller,
            {
              drink: p.drink as string,
              size: p.size as string,
              quantity: p.quantity as number,
              options: p.options as OrderOptions,
            },
            ctx.idem,
          ),
    ),
  );

  registry.handle('list_orders', async (p, ctx) => {
    const page = await orders.list(ctx.caller, {
      limit: typeof p.limit === 'number' ? p.limit : 10,
      ...(Array.isArray(p.status) ? { status: p.status as OrderStatus[] } : {}),
    });
    return { kind: 'done', action: 'list_orders', result: { orders: page.data, next_cursor: page.next_cursor } };
  });

  registry.handle(
    'submit_payment',
    withOrder(async (orderId, p, ctx) => {
      const found = await orders.get(ctx.caller, orderId);
      if (!found.ok) return refused(found.error);
      const order = found.value;
      // The amount a person named must match the order; the engine refuses a mismatch.
      const r = await orders.submitPayment(ctx.caller, {
        order_id: order.id,
        amount: p.amount ?? order.amount,
        currency: order.currency,
        payment_method: orders.defaultPaymentMethod,
      });
      if (
        r.ok &&
        r.value.kind === 'accepted' &&
        (order.status === 'AWAITING_CONFIRMATION' || order.status === 'AWAITING_PAYMENT')
      ) {
        return {
          kind: 'awaiting_confirmation',
          order: r.value.order,
          confirm: confirmationFor(r.value.order, 'payment'),
        };
      }
      return fromOrderOutcome(r);
    }),
  );

  registry.handle(
    'cancel_order',
    withOrder(async (orderId, _p, ctx) => {
      const r = await orders.cancel(ctx.caller, orderId, 'cancelled by the person through the agent');
      return r.ok ? { kind: 'cancelled', order: r.value } : refused(r.error);
    }),
  );

  registry.handle(
    'refund',
    withOrder(async (orderId, p, ctx) => {
      const amount = typeof p.amount === 'number' ? p.amount : undefined;
      const r =
        typeof ctx.recoveryPoint === 'string'
          ? await refunds.outcomeOf(ctx.caller, ctx.recoveryPoint)
          : await refunds.request(
              ctx.caller,
              orderId,
              { ...(amount === undefined ? {} : { amount }), reason: 'asked for through the agent' },
              ctx.idem,
            );
      if (!r.ok) return refused(r.error);
      if (r.value.kind === 'held') return { kind: 'awaiting_confirmation', confirm: confirmationOf(r.value.held) };
      const refund = r.value.refund;
      if (refund.status === 'FAILED')
        return refused({
          code: 'REFUND_DECLINED',
          message: `the gateway refused the refund: ${refund.failure_code ?? 'unknown reason'}`,
        });
      return { kind: 'done', action: 'refund', result: { refund } };
    }),
  );

  registry.handle(
    'query_order',
    withOrder(async (orderId, _p, ctx) => {
      const r = await orders.get(ctx.caller, orderId);
      return r.ok ? { kind: 'found', order: r.value } : refused(r.error);
    }),
  );
}

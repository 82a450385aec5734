import { can } from '../../domain/auth/permissions.js';
import type { Menu, OrderLine } from '../../domain/menu.js';
import { isCurrency, parseAmount } from '../../domain/money.js';
import { decideOrder } from '../../domain/policy.js';
import { err, ok, type DomainError, type Result } from '../../domain/result.js';
import type { AuditRecord, JobRecord } from '../../ports/records.js';
import { JOB } from '../jobs/job-kinds.js';
import type { JobHandler, KnownState } from '../jobs/job-runner.js';
import type { Runtime } from '../jobs/runtime.js';
import type { Caller } from '../kernel/caller.js';
import { canSee } from '../kernel/ownership.js';
import type { IdempotencyRef } from '../kernel/idempotency.js';
import { waitAwhile } from '../kernel/run-and-wait.js';
import { cancelOrder } from './cancel-order.js';
import { confirmOrder } from './confirm-order.js';
import { expireOrder } from './expire-order.js';
import { fulfilOrder } from './fulfil-order.js';
import { classifyOrder, type OrderOutcome } from './order-outcome.js';
import { type OrderView, toOrderView } from './order-view.js';
import { payOrder } from './pay-order.js';
import { placeOrder } from './place-order.js';
import { getOrder, listOrders, type ListOrdersQuery, type OrderPage } from './query-orders.js';

export { markPaid, markPaidAndFulfil, markPaymentFailed } from './payment-outcome.js';
export { closedByDecision, endClosedTradeAndQueue } from './waiting-trade.js';
export type { OrderOutcome } from './order-outcome.js';
export type { OrderView } from './order-view.js';
export { createOrderFeed, type OrderChange, type OrderFeed } from './order-feed.js';
export type { ListOrdersQuery, OrderPage } from './query-orders.js';

/** `submit_payment`'s fields as the caller sent them (validated here). */
export interface PaymentRequest {
  readonly order_id: unknown;
  readonly amount: unknown;
  readonly currency: unknown;
  readonly payment_method: unknown;
}

/** Coffee orders: placed under the engine's policy, paid and fulfilled by durable jobs. */
export interface OrdersApi {
  place(caller: Caller, line: OrderLine, idem?: IdempotencyRef): Promise<Result<OrderOutcome>>;
  confirm(
    caller: Caller,
    orderId: string,
    idem?: IdempotencyRef,
    paymentMethod?: string,
  ): Promise<Result<OrderOutcome>>;
  /**
   * `submit_payment` for an existing order. Every field is validated and every problem reported
   * at once; the amount and currency must match the order. Whether it pays now is the policy's
   * call: if submit_payment is not a trusted action the order keeps waiting for the person.
   */
  submitPayment(
    caller: Caller,
    req: PaymentRequest,
    idem?: IdempotencyRef,
  ): Promise<Result<OrderOutcome, DomainError & { readonly errors?: readonly DomainError[] }>>;
  cancel(caller: Caller, orderId: string, reason: string): Promise<Result<OrderView>>;
  /** One order the caller may see (their own; any of the tenant's for operators); NOT_FOUND otherwise. */
  get(caller: Caller, orderId: string): Promise<Result<OrderView>>;
  /** Newest first; a person sees only their own orders whatever `userId` they ask for. */
  list(caller: Caller, q: Omit<ListOrdersQuery, 'tenantId'>): Promise<OrderPage>;
  /** Current outcome of an order without running anything (a replayed request after a crash). */
  outcomeOf(caller: Caller, orderId: string): Promise<Result<OrderOutcome>>;
  /** The order's audit trail (its own rows: who, when, action, before/after). */
  auditTrail(caller: Caller, orderId: string): Promise<Result<AuditRecord[]>>;
  /** The menu as configured: drinks with their names and prices per size (minor units). */
  menu(): Menu;
  /** The payment method orders use unless the person picks another. */
  readonly defaultPaymentMethod: string;
}

export function createOrders(rt: Runtime): { readonly api: OrdersApi; readonly jobs: Record<string, JobHandler> } {
  const { deps, runner } = rt;

  /** Run the order's pay job (held by this process) and wait up to the configured time. */
  const settle = async (
    tenantId: string,
    orderId: string,
    payJob: JobRecord | null,
    known: KnownState,
  ): Promise<OrderOutcome> => {
    if (payJob !== null) {
      const state = await waitAwhile(runner.runLeased({ job: payJob, known }), rt.waitForCompletionMs);
      // The chain hands back the order as its last job committed it: no need to read it again.
      if (state !== undefined && state.order.id === orderId)
        return classifyOrder(toOrderView(state.order, state.payment));
    } else if (known.order.id === orderId) {
      return classifyOrder(toOrderView(known.order, known.payment));
    }
    const r = await getOrder(deps, tenantId, orderId);
    if (!r.ok) throw new Error(`order ${orderId} vanished`);
    return classifyOrder(toOrderView(r.value.order, r.value.payment));
  };

  /** The order if the caller may see it; the same NOT_FOUND as a missing one otherwise. */
  const visible = async (caller: Caller, orderId: string): ReturnType<typeof getOrder> => {
    // One read whoever's it is: another person's order costs the one statement a missing order
    // costs (its payment is found by key in the same statement), so not even the number of round
    // trips tells them apart; whose it is decides only what is answered.
    const found = await deps.uow.read.orders.getWithPaymentIfAny(caller.tenantId, orderId);
    if (found === undefined || !canSee(caller, found.order.userId))
      return err('ORDER_NOT_FOUND', `no order ${orderId}`);
    return ok(found);
  };

  const api: OrdersApi = {
    defaultPaymentMethod: deps.settings.paymentMethod,
    async place(caller, line, idem) {
      const placed = await placeOrder(deps, caller, line, idem);
      if (!placed.ok) return placed;
      return ok(await settle(caller.tenantId, placed.value.order.id, placed.value.payJob, placed.value));
    },
    async confirm(caller, orderId, idem, paymentMethod) {
      const confirmed = await confirmOrder(
        deps,
        caller,
        orderId,
        paymentMethod === undefined ? {} : { paymentMethod },
        idem,
      );
      if (!confirmed.ok) return confirmed;
      return ok(await settle(caller.tenantId, orderId, confirmed.value.payJob, confirmed.value));
    },
    async submitPayment(caller, req, idem) {
      const problems: DomainError[] = [];
      const amount = parseAmount(req.amount);
      if (!amount.ok) problems.push({ ...amount.error, details: { ...amount.error.details, field: 'amount' } });
      if (!isCurrency(req.currency)) {
        problems.push({
          code: 'INVALID_CURRENCY',
          message: 'currency must be one of CNY, HKD, USD, EUR, JPY',
          details: { field: 'currency' },
        });
      }
      const methods = deps.settings.paymentMethods;
      if (typeof req.payment_method !== 'string' || !methods.includes(req.payment_method)) {
        problems.push({
          code: 'INVALID_PAYMENT_METHOD',
          message: `payment_method must be one of ${methods.join(', ')}`,
          details: { field: 'payment_method', allowed: methods },
        });
      }
      if (typeof req.order_id !== 'string' || req.order_id.length === 0) {
        problems.push({ code: 'VALIDATION_FAILED', message: 'order_id is required', details: { field: 'order_id' } });
      }
      const first = problems[0];
      if (first !== undefined) return { ok: false, error: { ...first, errors: problems } };
      const orderId = req.order_id as string;
      const found = await visible(caller, orderId);
      if (!found.ok) return found;
      const { order } = found.value;
      if (order.amount !== req.amount || order.currency !== req.currency) {
        return err(
          'AMOUNT_MISMATCH',
          `the order is ${order.amount} ${order.currency}; the payment must match it exactly`,
          {
            order_amount: order.amount,
            order_currency: order.currency,
          },
        );
      }
      // An agent's submit_payment pays a waiting order only if the policy, asked again now, would
      // pay it at once; otherwise the order keeps waiting for the person (POST …/confirm).
      const awaiting = order.status === 'AWAITING_CONFIRMATION' || order.status === 'AWAITING_PAYMENT';
      const decision = decideOrder(deps.policy(), {
        total: { amount: order.amount, currency: order.currency },
        spentToday: 0,
      });
      if (awaiting && !(decision.ok && decision.value.kind === 'pay_now')) {
        return ok({
          kind: 'accepted',
          order: toOrderView(order, found.value.payment),
          next: `the policy requires the person's confirmation: POST /api/v1/orders/${order.id}/confirm`,
        });
      }
      // Payable now, or past waiting: confirm pays a waiting order (re-checking limits) and
      // reports any other as it stands.
      return api.confirm(caller, orderId, idem, req.payment_method as string);
    },
    async cancel(caller, orderId, reason) {
      const r = await cancelOrder(deps, caller, orderId, reason);
      if (!r.ok) return r;
      return ok(toOrderView(r.value, await deps.uow.read.payments.get(r.value.tenantId, r.value.paymentId)));
    },
    async get(caller, orderId) {
      const r = await visible(caller, orderId);
      return r.ok ? ok(toOrderView(r.value.order, r.value.payment)) : r;
    },
    list: (caller, q) =>
      listOrders(deps, {
        ...q,
        tenantId: caller.tenantId,
        // A person's list is their own, whatever they filter on; operators filter the tenant's.
        ...(can(caller.role, 'tenant.read_all') ? {} : { userId: caller.userId }),
      }),
    async outcomeOf(caller, orderId) {
      const r = await visible(caller, orderId);
      if (!r.ok) return r;
      return ok(classifyOrder(toOrderView(r.value.order, r.value.payment)));
    },
    async auditTrail(caller, orderId) {
      const r = await visible(caller, orderId);
      if (!r.ok) return r;
      return ok(await deps.uow.read.audit.list(caller.tenantId, 'order', orderId));
    },
    menu: () => deps.menu(),
  };

  return {
    api,
    jobs: {
      [JOB.payOrder]: (job, run) => payOrder(deps, job, run.known),
      [JOB.fulfilOrder]: (job, run) => fulfilOrder(deps, job, run.known),
      [JOB.expireOrder]: (job) => expireOrder(deps, job),
    },
  };
}

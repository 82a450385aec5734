import { type OrderEvent, transitionOrder } from '../domain/order.js';
import { type PaymentEvent, transitionPayment } from '../domain/payment.js';
import type { Actor, OrderRecord, PaymentRecord } from '../ports/records.js';
import type { Repositories } from '../ports/repositories.js';
import { UseCaseError } from './context.js';

/**
 * Apply a domain transition to a stored order inside a transaction: the pure state machine
 * decides, the row is written with an optimistic version check, and the audit row goes into the
 * same transaction. An illegal move throws a UseCaseError (rolling the transaction back).
 */
export async function changeOrder(
  repos: Repositories,
  order: OrderRecord,
  event: OrderEvent,
  meta: { readonly actor: Actor; readonly now: number; readonly requestId: string | null; readonly reason?: string | null },
): Promise<OrderRecord> {
  const moved = transitionOrder(order.status, event);
  if (!moved.ok) throw new UseCaseError(moved.error.code, moved.error.message, moved.error.details);
  const next: OrderRecord = {
    ...order,
    status: moved.value,
    statusReason: meta.reason === undefined ? order.statusReason : meta.reason,
    updatedBy: meta.actor,
    updatedAt: meta.now,
    version: order.version + 1,
  };
  if (!(await repos.orders.update(next, order.version))) {
    throw new UseCaseError('CONCURRENT_MODIFICATION', `order ${order.id} was changed by someone else; try again`);
  }
  await repos.audit.append({
    tenantId: order.tenantId,
    at: meta.now,
    actor: meta.actor,
    action: `order.${event.type}`,
    resourceType: 'order',
    resourceId: order.id,
    before: { status: order.status, version: order.version },
    after: { status: next.status, version: next.version, ...(next.statusReason === null ? {} : { reason: next.statusReason }) },
    requestId: meta.requestId,
  });
  return next;
}

export async function changePayment(
  repos: Repositories,
  payment: PaymentRecord,
  event: PaymentEvent,
  patch: Partial<Pick<PaymentRecord, 'outTradeNo' | 'gatewayTradeNo' | 'failureCode' | 'attempt' | 'method' | 'gateway'>>,
  meta: { readonly actor: Actor; readonly now: number; readonly requestId: string | null },
): Promise<PaymentRecord> {
  const moved = transitionPayment(
    { status: payment.status, amount: { amount: payment.amount, currency: payment.currency }, refundedAmount: payment.refundedAmount },
    event,
  );
  if (!moved.ok) throw new UseCaseError(moved.error.code, moved.error.message, moved.error.details);
  const next: PaymentRecord = {
    ...payment,
    ...patch,
    status: moved.value.status,
    refundedAmount: moved.value.refundedAmount,
    updatedAt: meta.now,
    version: payment.version + 1,
  };
  if (!(await repos.payments.update(next, payment.version))) {
    throw new UseCaseError('CONCURRENT_MODIFICATION', `payment ${payment.id} was changed by someone else; try again`);
  }
  await repos.audit.append({
    tenantId: payment.tenantId,
    at: meta.now,
    actor: meta.actor,
    action: `payment.${event.type}`,
    resourceType: 'payment',
    resourceId: payment.id,
    before: { status: payment.status, refunded_amount: payment.refundedAmount, version: payment.version },
    after: {
      status: next.status,
      refunded_amount: next.refundedAmount,
      version: next.version,
      ...(patch.outTradeNo === undefined ? {} : { out_trade_no: patch.outTradeNo }),
      ...(patch.gatewayTradeNo === undefined ? {} : { gateway_trade_no: patch.gatewayTradeNo }),
      ...(patch.failureCode === undefined ? {} : { failure_code: patch.failureCode }),
    },
    requestId: meta.requestId,
  });
  return next;
}

/** The idempotency key we send to the gateway for a payment attempt: stable across retries. */
export function outTradeNoFor(paymentId: string, attempt: number): string {
  return `${paymentId}_${attempt}`;
}

/** The key the merchant de-duplicates fulfilment on. */
export function fulfilmentKeyFor(orderId: string): string {
  return `${orderId}_fulfil`;
}

export function refundKeyFor(paymentId: string, n: number): string {
  return `${paymentId}_r${n}`;
}

/** Start of the business day containing `now`, for daily limits. */
export function startOfDay(now: number, offsetMinutes: number): number {
  const offset = offsetMinutes * 60_000;
  return Math.floor((now + offset) / 86_400_000) * 86_400_000 - offset;
}

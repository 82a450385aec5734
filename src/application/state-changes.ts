import { account, type Journal, makeJournal, type Posting, transfer } from '../domain/ledger.js';
import type { Currency } from '../domain/money.js';
import { type OrderEvent, transitionOrder } from '../domain/order.js';
import { type PaymentEvent, transitionPayment } from '../domain/payment.js';
import { type RefundEvent, transitionRefund } from '../domain/refund.js';
import type { Actor, AuditEntry, OrderRecord, PaymentRecord, RefundRecord } from '../ports/records.js';
import type { Repositories } from '../ports/repositories.js';
import { UseCaseError } from './context.js';

export interface ChangeMeta {
  readonly actor: Actor;
  readonly now: number;
  readonly requestId: string | null;
}

/**
 * The changes of one transaction, gathered in memory: the pure state machines decide every
 * move, each row is written once at the end with an optimistic version check, and all audit
 * rows (one per move: who, when, action, before/after) go in with the same commit.
 */
export class ChangeSet {
  private readonly audits: AuditEntry[] = [];
  private readonly journals: Journal[] = [];

  constructor(readonly meta: ChangeMeta) {}

  /** Apply events to an order in memory; an illegal move throws (rolling the transaction back). */
  moveOrder(order: OrderRecord, events: readonly OrderEvent[], reason?: string | null): OrderRecord {
    let cur = order;
    for (const event of events) {
      const moved = transitionOrder(cur.status, event);
      if (!moved.ok) throw new UseCaseError(moved.error.code, moved.error.message, moved.error.details);
      const next: OrderRecord = {
        ...cur,
        status: moved.value,
        statusReason: reason === undefined ? cur.statusReason : reason,
        updatedBy: this.meta.actor,
        updatedAt: this.meta.now,
        version: cur.version + 1,
      };
      this.audit(
        'order',
        order.tenantId,
        order.id,
        `order.${event.type}`,
        { status: cur.status, version: cur.version },
        {
          status: next.status,
          version: next.version,
          ...(next.statusReason === null ? {} : { reason: next.statusReason }),
        },
      );
      cur = next;
    }
    return cur;
  }

  /**
   * Apply an event to a payment in memory. Money that moves gets its ledger journal in the same
   * change set: a capture debits the gateway's clearing account and credits sales; a refund
   * (named by `refundId`, which also keys its journal so it can never be posted twice) reverses it.
   */
  movePayment(
    payment: PaymentRecord,
    event: PaymentEvent,
    patch: Partial<
      Pick<PaymentRecord, 'outTradeNo' | 'gatewayTradeNo' | 'failureCode' | 'attempt' | 'method' | 'gateway'>
    > = {},
    refundId?: string,
  ): PaymentRecord {
    const moved = transitionPayment(
      {
        status: payment.status,
        amount: { amount: payment.amount, currency: payment.currency },
        refundedAmount: payment.refundedAmount,
      },
      event,
    );
    if (!moved.ok) throw new UseCaseError(moved.error.code, moved.error.message, moved.error.details);
    const next: PaymentRecord = {
      ...payment,
      ...patch,
      status: moved.value.status,
      refundedAmount: moved.value.refundedAmount,
      updatedBy: this.meta.actor,
      updatedAt: this.meta.now,
      version: payment.version + 1,
    };
    this.audit(
      'payment',
      payment.tenantId,
      payment.id,
      `payment.${event.type}`,
      { status: payment.status, refunded_amount: payment.refundedAmount, version: payment.version },
      {
        status: next.status,
        refunded_amount: next.refundedAmount,
        version: next.version,
        ...(patch.outTradeNo === undefined ? {} : { out_trade_no: patch.outTradeNo }),
        ...(patch.gatewayTradeNo === undefined ? {} : { gateway_trade_no: patch.gatewayTradeNo }),
        ...(patch.failureCode === undefined ? {} : { failure_code: patch.failureCode }),
      },
    );
    if (event.type === 'succeed') {
      this.post(
        payment.tenantId,
        `jrn_${payment.id}_capture`,
        'payment.captured',
        'payment',
        payment.id,
        payment.currency,
        transfer(account.gateway(next.gateway), account.sales(payment.tenantId), payment.amount),
      );
    } else if (event.type === 'refund') {
      if (refundId === undefined) throw new Error('a refund movement needs the refund id for its journal');
      this.post(
        payment.tenantId,
        `jrn_${refundId}`,
        'refund.succeeded',
        'refund',
        refundId,
        payment.currency,
        transfer(account.sales(payment.tenantId), account.gateway(next.gateway), event.amount),
      );
    }
    return next;
  }

  moveRefund(
    refund: RefundRecord,
    event: RefundEvent,
    patch: Partial<Pick<RefundRecord, 'failureCode' | 'gatewayRefundNo'>> = {},
  ): RefundRecord {
    const moved = transitionRefund(refund.status, event);
    if (!moved.ok) throw new UseCaseError(moved.error.code, moved.error.message, moved.error.details);
    const next: RefundRecord = {
      ...refund,
      ...patch,
      status: moved.value,
      updatedBy: this.meta.actor,
      updatedAt: this.meta.now,
      version: refund.version + 1,
    };
    this.audit(
      'refund',
      refund.tenantId,
      refund.id,
      `refund.${event.type}`,
      { status: refund.status, version: refund.version },
      {
        status: next.status,
        version: next.version,
        ...(next.failureCode === null ? {} : { failure_code: next.failureCode }),
      },
    );
    return next;
  }

  /** A balanced journal to write with this change set; an unbalanced one is a bug and throws. */
  post(
    tenantId: string,
    id: string,
    kind: string,
    resourceType: string,
    resourceId: string,
    currency: Currency,
    postings: readonly Posting[],
  ): void {
    const made = makeJournal({
      id,
      tenantId,
      kind,
      resourceType,
      resourceId,
      currency,
      at: this.meta.now,
      actor: this.meta.actor,
      postings,
    });
    if (!made.ok) throw new Error(made.error.message);
    this.journals.push(made.value);
  }

  audit(
    resourceType: string,
    tenantId: string,
    resourceId: string,
    action: string,
    before: unknown,
    after: unknown,
  ): void {
    this.audits.push({
      tenantId,
      at: this.meta.now,
      actor: this.meta.actor,
      action,
      resourceType,
      resourceId,
      before,
      after,
      requestId: this.meta.requestId,
    });
  }

  /** Write an order moved from `prev` (same id); fails the transaction if someone else changed it first. */
  async saveOrder(r: Repositories, prev: OrderRecord, next: OrderRecord): Promise<void> {
    if (next.version === prev.version) return;
    if (!(await r.orders.update(next, prev.version))) {
      throw new UseCaseError('CONCURRENT_MODIFICATION', `order ${prev.id} was changed by someone else; try again`);
    }
  }

  async savePayment(r: Repositories, prev: PaymentRecord, next: PaymentRecord): Promise<void> {
    if (next.version === prev.version) return;
    if (!(await r.payments.update(next, prev.version))) {
      throw new UseCaseError('CONCURRENT_MODIFICATION', `payment ${prev.id} was changed by someone else; try again`);
    }
  }

  async saveRefund(r: Repositories, prev: RefundRecord, next: RefundRecord): Promise<void> {
    if (next.version === prev.version) return;
    if (!(await r.refunds.update(next, prev.version))) {
      throw new UseCaseError('CONCURRENT_MODIFICATION', `refund ${prev.id} was changed by someone else; try again`);
    }
  }

  /** Write the gathered audit rows and ledger journals (call last, inside the same transaction). */
  async flush(r: Repositories): Promise<void> {
    if (this.journals.length > 0) await r.ledger.append(this.journals.splice(0));
    await r.audit.appendMany(this.audits.splice(0));
  }
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

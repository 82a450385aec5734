import { type Journal, makeJournal } from '../../domain/ledger/journal.js';
import { type JournalSpec, postings } from '../../domain/ledger/postings.js';
import { type OrderEvent, transitionOrder } from '../../domain/order.js';
import { type PaymentEvent, transitionPayment } from '../../domain/payment.js';
import { type RefundEvent, transitionRefund } from '../../domain/refund.js';
import { settledAt } from '../../domain/settled-at.js';
import type { Actor, AuditEntry, OrderRecord, PaymentRecord, RefundRecord } from '../../ports/records.js';
import type { Repositories } from '../../ports/repositories.js';
import { UseCaseError } from './use-case-error.js';

/** Who changes things, and when, in one transaction. */
export interface ChangeMeta {
  readonly actor: Actor;
  readonly now: number;
  readonly requestId: string | null;
}

/**
 * The changes of ONE attempt of one transaction, gathered in memory: the pure state machines
 * decide every move, each row is written once with an optimistic version check, and the audit
 * rows (one per move: who, when, action, before/after) and ledger journals go in with the same
 * commit. Only `tx()` creates one — afresh for every attempt — and writes what it gathered on
 * the way out, so a transaction the database runs again can never commit half its effects.
 */
export class ChangeSet {
  private readonly audits: AuditEntry[] = [];
  private readonly journals: Journal[] = [];
  private readonly effects: (() => Promise<unknown>)[] = [];
  private readonly ended: Array<{ readonly tenantId: string; readonly resourceId: string }> = [];

  constructor(private current: ChangeMeta) {}

  /** Who changes things in this transaction, and when (every audit row and journal names them). */
  get meta(): ChangeMeta {
    return this.current;
  }

  /**
   * From here on in this transaction, the actor acts under a mandate: every audit row and journal
   * written after names the principal, the agent and the mandate that let it spend.
   */
  actUnderMandate(mandateId: string): void {
    this.current = { ...this.current, actor: `${this.current.actor} under mandate:${mandateId}` };
  }

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
      // CANCELLED and FAILED are reached only before the money moved: a mandate's spend comes back.
      if (next.status === 'CANCELLED' || next.status === 'FAILED') this.endedUnpaid(order.tenantId, order.id);
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
   * Apply an event to a payment in memory. Money that moves gets its journal in the same change
   * set (`postings.ts` decides the accounts): a capture, or a refund (`refund` names it and keys
   * its journal, so it can never be booked twice). A capture keeps when it happened
   * (`settledAt`): `reportedAt`, the gateway's own time, when believable, else now.
   */
  movePayment(
    payment: PaymentRecord,
    event: PaymentEvent,
    patch: Partial<
      Pick<PaymentRecord, 'outTradeNo' | 'gatewayTradeNo' | 'failureCode' | 'attempt' | 'method' | 'gateway'>
    > = {},
    refund?: Pick<RefundRecord, 'id' | 'amount'>,
    reportedAt?: number,
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
      ...(event.type === 'succeed' ? { settledAt: settledAt(reportedAt, payment, this.meta.now) } : {}),
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
      this.book(postings.paymentCaptured(next));
    } else if (event.type === 'refund') {
      if (refund === undefined || refund.amount !== event.amount)
        throw new Error('a refund movement needs the refund it books');
      this.book(
        postings.refundSucceeded(
          { id: refund.id, tenantId: payment.tenantId, amount: refund.amount, currency: payment.currency },
          next.gateway,
        ),
      );
    }
    return next;
  }

  /** Apply an event to a refund in memory; a success keeps when it happened (as `movePayment` does). */
  moveRefund(
    refund: RefundRecord,
    event: RefundEvent,
    patch: Partial<Pick<RefundRecord, 'failureCode' | 'gatewayRefundNo'>> = {},
    reportedAt?: number,
  ): RefundRecord {
    const moved = transitionRefund(refund.status, event);
    if (!moved.ok) throw new UseCaseError(moved.error.code, moved.error.message, moved.error.details);
    const next: RefundRecord = {
      ...refund,
      ...patch,
      status: moved.value,
      ...(event.type === 'succeed' ? { settledAt: settledAt(reportedAt, refund, this.meta.now) } : {}),
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

  /** Book a journal decided by `postings.ts`; an unbalanced one is a bug and throws. */
  book(spec: JournalSpec): void {
    const made = makeJournal({ ...spec, at: this.meta.now, actor: this.meta.actor });
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
    if (!(await r.orders.update(next, prev.version))) throw conflict('order', prev.id);
  }

  async savePayment(r: Repositories, prev: PaymentRecord, next: PaymentRecord): Promise<void> {
    if (next.version === prev.version) return;
    if (!(await r.payments.update(next, prev.version))) throw conflict('payment', prev.id);
  }

  async saveRefund(r: Repositories, prev: RefundRecord, next: RefundRecord): Promise<void> {
    if (next.version === prev.version) return;
    if (!(await r.refunds.update(next, prev.version))) throw conflict('refund', prev.id);
  }

  /**
   * `resourceId` ended without its money moving: `tx()` gives back, in this same transaction, the
   * budget of the mandate that paid for it (if one did).
   */
  endedUnpaid(tenantId: string, resourceId: string): void {
    if (!this.ended.some((e) => e.tenantId === tenantId && e.resourceId === resourceId))
      this.ended.push({ tenantId, resourceId });
  }

  /**
   * Something to do once this transaction has committed (never if it rolls back): a report to the
   * outside world that must not happen inside the transaction. Its failure is its own to handle.
   */
  afterCommit(effect: () => Promise<unknown>): void {
    this.effects.push(effect);
  }

  /** What was gathered, for `tx()` to write last, inside the same transaction. */
  gathered(): {
    readonly audits: readonly AuditEntry[];
    readonly journals: readonly Journal[];
    readonly effects: readonly (() => Promise<unknown>)[];
    readonly endedUnpaid: ReadonlyArray<{ readonly tenantId: string; readonly resourceId: string }>;
  } {
    return { audits: this.audits, journals: this.journals, effects: this.effects, endedUnpaid: this.ended };
  }
}

/** The refusal a version-checked write gives when someone else committed first. */
export function conflict(kind: string, id: string): UseCaseError {
  return new UseCaseError('CONCURRENT_MODIFICATION', `${kind} ${id} was changed by someone else; try again`);
}

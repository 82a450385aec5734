import type { JobRecord, OrderRecord, PaymentRecord, RefundRecord } from '../ports/records.js';
import type { Repositories } from '../ports/repositories.js';
import { refundOnce } from './charge-once.js';
import type { Deps } from './context.js';
import { completeJob, type JobOutcome } from './run-jobs.js';
import { ChangeSet } from './state-changes.js';

const ACTOR = 'system:worker';

/**
 * Job `refund.execute`: send one PENDING refund to its payment's gateway, exactly once. The
 * first attempt sends; any later attempt (a retry, a resume after a crash) asks the gateway
 * about the refund's key first and only sends again, with the same key, if it never heard of it.
 */
export async function executeRefund(job: JobRecord, deps: Deps): Promise<JobOutcome> {
  const { uow, clock } = deps;
  const refund = await uow.read.refunds.get(job.tenantId, job.resourceId);
  if (refund === undefined) return { kind: 'give_up', error: 'refund not found' };
  const found = await uow.read.orders.getWithPayment(job.tenantId, refund.orderId);
  if (found === undefined) return { kind: 'give_up', error: 'order or payment not found' };
  const { payment } = found;
  if (refund.status !== 'PENDING' || payment.outTradeNo === null) {
    await uow.run((r) => completeJob(r, job, deps, clock.now()));
    return { kind: 'done' };
  }
  const gateway = deps.gateways.get(payment.gateway);
  if (gateway === undefined) return { kind: 'give_up', error: `gateway ${payment.gateway} is not configured` };
  const refunded = await refundOnce(gateway, job.attempts <= 1, {
    outTradeNo: payment.outTradeNo,
    outRefundNo: refund.outRefundNo,
    amount: { amount: refund.amount, currency: refund.currency },
    total: { amount: payment.amount, currency: payment.currency },
    reason: refund.reason,
  });
  if (!refunded.ok) return { kind: 'retry', error: refunded.retry };
  const { result } = refunded;
  switch (result.status) {
    case 'pending':
      return { kind: 'retry', error: 'refund pending at the gateway' };
    case 'not_found':
      return { kind: 'retry', error: 'gateway does not know the refund yet' };
    case 'succeeded':
    case 'failed': {
      const now = clock.now();
      const outcome = {
        status: result.status,
        ...(result.failureCode === undefined ? {} : { failureCode: result.failureCode }),
        ...(result.gatewayRefundNo === undefined ? {} : { gatewayRefundNo: result.gatewayRefundNo }),
      };
      await uow.run(async (r) => {
        const fresh = await loadRefund(r, refund);
        if (fresh !== undefined)
          await settleRefund(r, deps, new ChangeSet({ actor: ACTOR, now, requestId: null }), fresh, outcome);
        await completeJob(r, job, deps, now);
      });
      if (outcome.status === 'succeeded')
        deps.logger.info({ order_id: refund.orderId, refund_id: refund.id, amount: refund.amount }, 'refund succeeded');
      else
        deps.logger.warn(
          { order_id: refund.orderId, refund_id: refund.id, failure_code: outcome.failureCode },
          'refund refused by the gateway; flagged for review',
        );
      return { kind: 'done' };
    }
    default: {
      const never: never = result.status;
      return { kind: 'give_up', error: `unexpected refund status ${String(never)}` };
    }
  }
}

export interface RefundContext {
  readonly refund: RefundRecord;
  readonly payment: PaymentRecord;
  readonly order: OrderRecord;
}

/** The refund with its payment and order, as committed now (inside a transaction). */
export async function loadRefund(
  r: Repositories,
  refund: Pick<RefundRecord, 'tenantId' | 'id'>,
): Promise<RefundContext | undefined> {
  const fresh = await r.refunds.get(refund.tenantId, refund.id);
  if (fresh === undefined) return undefined;
  const found = await r.orders.getWithPayment(fresh.tenantId, fresh.orderId);
  return found === undefined ? undefined : { refund: fresh, ...found };
}

/**
 * Record a definite refund outcome from the gateway (its answer or its callback), in the
 * caller's transaction: the refund's state, the payment's refunded amount and its ledger
 * journal, and the order once everything was given back. A refund already settled is left as
 * it is (a late or duplicate outcome); a failure is flagged for a person to look at.
 */
export async function settleRefund(
  r: Repositories,
  deps: Deps,
  cs: ChangeSet,
  x: RefundContext,
  outcome: {
    readonly status: 'succeeded' | 'failed';
    readonly failureCode?: string;
    readonly gatewayRefundNo?: string;
  },
): Promise<'applied' | 'already_settled'> {
  const { refund, payment, order } = x;
  if (refund.status !== 'PENDING') {
    if ((refund.status === 'SUCCEEDED') !== (outcome.status === 'succeeded')) {
      await raiseFlag(
        r,
        deps,
        cs,
        { tenantId: refund.tenantId, type: 'refund', id: refund.id },
        'REFUND_STATUS_CONFLICT',
        { recorded: refund.status, gateway_says: outcome.status },
      );
      await cs.flush(r);
    }
    return 'already_settled';
  }
  if (outcome.status === 'succeeded') {
    const done = cs.moveRefund(
      refund,
      { type: 'succeed' },
      outcome.gatewayRefundNo === undefined ? {} : { gatewayRefundNo: outcome.gatewayRefundNo },
    );
    const paid = cs.movePayment(payment, { type: 'refund', amount: refund.amount }, {}, refund.id);
    await cs.saveRefund(r, refund, done);
    await cs.savePayment(r, payment, paid);
    if (paid.status === 'REFUNDED') {
      const events =
        order.status === 'REFUNDING'
          ? [{ type: 'refunded' as const }]
          : order.status === 'PAID' || order.status === 'COMPLETED'
            ? [{ type: 'refund_requested' as const }, { type: 'refunded' as const }]
            : [];
      if (events.length > 0) await cs.saveOrder(r, order, cs.moveOrder(order, events));
    }
  } else {
    const code = outcome.failureCode ?? 'REFUND_FAILED';
    await cs.saveRefund(r, refund, cs.moveRefund(refund, { type: 'fail', reason: code }, { failureCode: code }));
    await raiseFlag(r, deps, cs, { tenantId: refund.tenantId, type: 'refund', id: refund.id }, 'REFUND_FAILED', {
      order_id: order.id,
      amount: refund.amount,
      failure_code: code,
      order_status: order.status,
    });
  }
  await cs.flush(r);
  return 'applied';
}

/** A finding for a person, written in the caller's transaction with its audit row. */
export async function raiseFlag(
  r: Repositories,
  deps: Deps,
  cs: ChangeSet,
  subject: { readonly tenantId: string; readonly type: string; readonly id: string },
  code: string,
  detail: Readonly<Record<string, unknown>>,
): Promise<void> {
  const id = deps.ids.next('flg');
  await r.flags.raise({
    id,
    tenantId: subject.tenantId,
    resourceType: subject.type,
    resourceId: subject.id,
    code,
    detail,
    createdAt: cs.meta.now,
    resolvedAt: null,
  });
  cs.audit(subject.type, subject.tenantId, subject.id, `flag.${code.toLowerCase()}`, null, {
    flag_id: id,
    code,
    ...detail,
  });
}

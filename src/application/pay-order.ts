import { formatMoney } from '../domain/money.js';
import type { JobRecord } from '../ports/records.js';
import { chargeOnce } from './charge-once.js';
import type { Deps } from './context.js';
import { JOB, PRIORITY } from './job-kinds.js';
import { advanceJob, completeJob, type JobOutcome, type KnownState } from './run-jobs.js';
import { ChangeSet } from './state-changes.js';

const ACTOR = 'system:worker';

/**
 * Job `order.pay`: charge the order's payment through its gateway, exactly once.
 * The out_trade_no was persisted before this job first ran. On the first attempt we create; on
 * any later attempt (a retry, or a resume after a crash) we QUERY first, because the earlier
 * call may have charged without our hearing back. Only a gateway that says "not found" gets a
 * create again, with the same out_trade_no.
 */
export async function payOrder(job: JobRecord, deps: Deps, known?: KnownState): Promise<JobOutcome> {
  const { uow, clock } = deps;
  const found = known ?? (await uow.read.orders.getWithPayment(job.tenantId, job.resourceId));
  if (found === undefined) return { kind: 'give_up', error: 'order or payment not found' };
  const { order, payment } = found;

  if (order.status !== 'PAYMENT_PROCESSING' || payment.status !== 'PENDING' || payment.outTradeNo === null) {
    // Nothing left to charge (cancelled, already settled by a callback or another run).
    await uow.run((r) => completeJob(r, job, deps, clock.now()));
    return { kind: 'done' };
  }
  const gateway = deps.gateways.get(payment.gateway);
  if (gateway === undefined) return { kind: 'give_up', error: `gateway ${payment.gateway} is not configured` };

  const charged = await chargeOnce(gateway, job.attempts <= 1, {
    outTradeNo: payment.outTradeNo,
    amount: { amount: payment.amount, currency: payment.currency },
    subject: order.description,
    method: payment.method,
    payer: order.userId,
  });
  if (!charged.ok) return { kind: 'retry', error: charged.retry };
  const { result } = charged;

  switch (result.status) {
    case 'pending':
      return { kind: 'retry', error: 'payment pending at the gateway' };
    case 'not_found':
      return { kind: 'retry', error: 'gateway does not know the payment yet' };
    case 'succeeded': {
      if (
        result.amount !== undefined &&
        (result.amount.amount !== payment.amount || result.amount.currency !== payment.currency)
      ) {
        return {
          kind: 'give_up',
          error: `AMOUNT_MISMATCH: gateway recorded ${result.amount.amount} ${result.amount.currency}`,
        };
      }
      const now = clock.now();
      const cs = new ChangeSet({ actor: ACTOR, now, requestId: null });
      const paid = cs.movePayment(payment, { type: 'succeed' }, { gatewayTradeNo: result.gatewayTradeNo ?? null });
      const fulfilling = cs.moveOrder(order, [{ type: 'payment_succeeded' }, { type: 'start_fulfilment' }], null);
      const followUp = await uow.run(async (r) => {
        // No re-read: the version checks in save* refuse the write if anything moved meanwhile
        // (a callback, a cancel), and the job is then retried from fresh state.
        await cs.savePayment(r, payment, paid);
        await cs.saveOrder(r, order, fulfilling);
        await cs.flush(r);
        return advanceJob(r, job, deps, { kind: JOB.fulfilOrder, priority: PRIORITY.fulfil }, now);
      });
      deps.logger.info(
        {
          order_id: order.id,
          payment_id: payment.id,
          out_trade_no: payment.outTradeNo,
          amount: payment.amount,
          currency: payment.currency,
        },
        'Payment submitted successfully',
      );
      deps.logger.debug(
        { order_id: order.id, paid: formatMoney({ amount: payment.amount, currency: payment.currency }) },
        'order paid',
      );
      const state = { order: fulfilling, payment: paid };
      return { kind: 'done', followUps: [{ job: followUp, known: state }], state };
    }
    case 'failed':
    case 'closed': {
      const now = clock.now();
      const code = result.failureCode ?? (result.status === 'closed' ? 'TRADE_CLOSED' : 'DECLINED');
      const cs = new ChangeSet({ actor: ACTOR, now, requestId: null });
      const failedPayment = cs.movePayment(payment, { type: 'fail', reason: code }, { failureCode: code });
      const failedOrder = cs.moveOrder(order, [{ type: 'payment_failed', reason: code }], `payment failed: ${code}`);
      await uow.run(async (r) => {
        await cs.savePayment(r, payment, failedPayment);
        await cs.saveOrder(r, order, failedOrder);
        await cs.flush(r);
        await completeJob(r, job, deps, now);
      });
      deps.logger.warn({ order_id: order.id, payment_id: payment.id, failure_code: code }, 'payment failed');
      return { kind: 'done', state: { order: failedOrder, payment: failedPayment } };
    }
    default: {
      const unreachable: never = result.status;
      return { kind: 'give_up', error: `unexpected gateway status ${String(unreachable)}` };
    }
  }
}

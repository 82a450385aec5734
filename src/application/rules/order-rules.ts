import { flagIds, keys } from '../../domain/keys.js';
import { type Rule, type RuleAction, ruleMatches, ruleRunId } from '../../domain/rules.js';
import { MerchantUnknownOutcomeError } from '../../ports/merchant.js';
import { type GatewayPaymentResult, GatewayUnknownOutcomeError } from '../../ports/payment-gateway.js';
import type { JobRecord, OrderRecord, PaymentRecord } from '../../ports/records.js';
import type { Repositories } from '../../ports/repositories.js';
import { closeUnpaid } from '../jobs/gateway-step.js';
import { JOB, PRIORITY } from '../jobs/job-kinds.js';
import type { JobOutcome } from '../jobs/job-runner.js';
import { completeJob, enqueueJob } from '../jobs/job-steps.js';
import { SYSTEM } from '../kernel/caller.js';
import type { ChangeSet } from '../kernel/change-set.js';
import type { Deps } from '../kernel/deps.js';
import { raiseFlag, raiseFlagOnce } from '../kernel/review-flags.js';
import { tx } from '../kernel/tx.js';
import {
  closedByDecision,
  endClosedTradeAndQueue,
  markPaidAndFulfil,
  markPaymentFailed,
} from '../orders/orders-api.js';
import { flagLateCapture } from '../payments/payments-api.js';
import { openRefund } from '../refunds/refunds-api.js';
import { sweepStale } from './sweep.js';

/** One sweep over orders: one `rule.run` job per stuck order state. */
export function sweepOrderRules(deps: Deps, rules: readonly Rule[], limit: number): Promise<number> {
  return sweepStale(deps, JOB.orderRule, rules, (rule, before, after) =>
    deps.uow.read.orders.findStale(rule.statuses, before, after, limit),
  );
}

/** Job `rule.run`: re-check that the rule still applies to the order as it is now, then act. */
export function orderRuleRunner(deps: Deps, rules: readonly Rule[]): (job: JobRecord) => Promise<JobOutcome> {
  const byName = new Map(rules.map((r) => [r.name, r]));
  return async (job) => {
    const rule = byName.get(String(job.payload.rule));
    const now = deps.clock.now();
    const found = await deps.uow.read.orders.getWithPayment(job.tenantId, job.resourceId);
    if (
      rule === undefined ||
      found === undefined ||
      found.order.version !== job.payload.version ||
      !ruleMatches(rule, found.order, now)
    ) {
      // The order moved on (or the rule was removed): nothing to repair.
      await tx(deps.uow, { actor: SYSTEM.rules, now, requestId: null }, (r) => completeJob(r, job, deps, now));
      return { kind: 'done' };
    }
    const { order } = found;
    try {
      const outcome = await act(rule, order, found.payment, deps);
      await tx(deps.uow, { actor: SYSTEM.rules, now: deps.clock.now(), requestId: null }, async (r, changes) => {
        await outcome.apply(r, changes);
        const after = await r.orders.get(order.tenantId, order.id);
        changes.audit(
          'order',
          order.tenantId,
          order.id,
          `rule.${rule.name}`,
          { status: order.status, version: order.version },
          { action: rule.action, result: outcome.result, status: after?.status ?? order.status },
        );
        await completeJob(r, job, deps, changes.meta.now);
      });
      deps.logger.info({ order_id: order.id, rule: rule.name, result: outcome.result }, 'repair rule ran');
      return { kind: 'done' };
    } catch (e) {
      if (e instanceof GatewayUnknownOutcomeError || e instanceof MerchantUnknownOutcomeError) {
        return { kind: 'retry', error: `outcome unknown: ${e.message}` };
      }
      throw e;
    }
  };
}

/**
 * Settle an order's payment from the gateway's truth now — what the repair rules do once a
 * payment is stale, asked for by reconciliation when a statement shows it settled (补单): a
 * pending payment is settled (or closed), a failed or cancelled one re-checked (money taken
 * anyway is given back and flagged). Audited as `actor`; returns what the gateway said.
 */
export async function settleOrderNow(deps: Deps, tenantId: string, orderId: string, actor: string): Promise<string> {
  const found = await deps.uow.read.orders.getWithPayment(tenantId, orderId);
  if (found === undefined) return 'the order is not there';
  const { order, payment } = found;
  const action: RuleAction | undefined =
    payment.status === 'PENDING'
      ? 'settle_payment'
      : payment.status === 'FAILED' || payment.status === 'CANCELLED'
        ? 'recheck_failed'
        : undefined;
  if (action === undefined) return `nothing to settle: the payment is ${payment.status}`;
  const outcome = await act({ name: 'reconciliation', statuses: [], olderThanMs: 0, action }, order, payment, deps);
  await tx(deps.uow, { actor, now: deps.clock.now(), requestId: null }, async (r, changes) => {
    await outcome.apply(r, changes);
    const after = await r.orders.get(order.tenantId, order.id);
    changes.audit(
      'order',
      order.tenantId,
      order.id,
      'reconciliation.settle',
      { status: order.status, version: order.version },
      { action, result: outcome.result, status: after?.status ?? order.status },
    );
  });
  return outcome.result;
}

interface Action {
  /** What was found outside, in words for the audit row. */
  readonly result: string;
  /** The local change, inside one transaction (version checks keep it honest). */
  readonly apply: (r: Repositories, changes: ChangeSet) => Promise<unknown>;
}

const nothing = (): Promise<void> => Promise.resolve();

/** Ask the outside world first (outside any transaction), then say what to write. */
async function act(rule: Rule, order: OrderRecord, payment: PaymentRecord, deps: Deps): Promise<Action> {
  const gateway = deps.gateways.get(payment.gateway);
  const paymentSubject = { tenantId: order.tenantId, type: 'payment', id: payment.id };
  switch (rule.action) {
    case 'cancel':
      return {
        result: 'cancelled',
        apply: async (r, changes) => {
          await changes.saveOrder(
            r,
            order,
            changes.moveOrder(order, [{ type: 'expire' }], `${rule.name}: not confirmed or paid in time`),
          );
          if (payment.status === 'CREATED') {
            await changes.savePayment(r, payment, changes.movePayment(payment, { type: 'cancel' }));
          }
        },
      };
    case 'settle_payment': {
      if (gateway === undefined || payment.outTradeNo === null || payment.status !== 'PENDING') {
        return { result: 'nothing to settle', apply: nothing };
      }
      // Still unpaid this late: close it at the gateway first, so it can never be paid afterwards.
      const seen: GatewayPaymentResult = await closeUnpaid(gateway, payment.outTradeNo);
      const status = seen.status;
      if (status === 'succeeded') {
        if (seen.amount !== undefined && seen.amount.amount !== payment.amount) {
          return {
            result: `gateway recorded ${seen.amount.amount}`,
            apply: (r, changes) =>
              raiseFlag(r, changes, deps.ids, paymentSubject, 'AMOUNT_MISMATCH', {
                gateway_amount: seen.amount?.amount,
                payment_amount: payment.amount,
              }),
          };
        }
        return {
          result: 'gateway says paid',
          apply: (r, changes) =>
            markPaidAndFulfil(r, deps, changes, order, payment, seen.gatewayTradeNo ?? null, seen.paidAt),
        };
      }
      if ((status === 'closed' || status === 'failed') && closedByDecision(payment)) {
        // The person's cancel or switch decided this close: ended as their request would end it.
        return {
          result: `gateway says ${status}; closed as the person asked (${payment.closing.reason})`,
          apply: (r, changes) => endClosedTradeAndQueue(r, deps, changes, order, payment),
        };
      }
      if (status === 'pending') {
        // The gateway kept the trade open (its close did not take): the payer may still pay it, so
        // failing it here could take money for an order marked failed. Left as it is, for its
        // callback, reconciliation or a person (flagged once) to settle.
        return {
          result: 'gateway still has the trade open: left as it is, flagged',
          apply: (r, changes) =>
            raiseFlagOnce(r, changes, flagIds.tradeNotClosed(payment.id), paymentSubject, 'TRADE_NOT_CLOSED', {
              order_id: order.id,
              out_trade_no: payment.outTradeNo,
              amount: payment.amount,
            }),
        };
      }
      const code = seen.failureCode ?? (status === 'closed' ? 'TRADE_CLOSED' : 'DECLINED');
      return {
        result: `gateway says ${status}`,
        apply: (r, changes) =>
          markPaymentFailed(r, changes, order, payment, code, `payment not completed in time: ${code}`),
      };
    }
    case 'retry_fulfilment':
      return {
        result: 'fulfilment queued again',
        apply: (r, changes) =>
          enqueueJob(
            r,
            deps,
            { tenantId: order.tenantId, kind: JOB.fulfilOrder, resourceId: order.id, priority: PRIORITY.fulfil },
            changes.meta.now,
          ),
      };
    case 'refund_and_flag': {
      const seen = await deps.merchant.query(keys.fulfilment(order.id));
      if (seen.status === 'accepted' && order.status === 'FULFILLING') {
        return {
          result: 'merchant had accepted it',
          apply: (r, changes) => changes.saveOrder(r, order, changes.moveOrder(order, [{ type: 'fulfilled' }])),
        };
      }
      const reason = `${rule.name}: not fulfilled in time (merchant: ${seen.status})`;
      return {
        result: 'refunded',
        apply: async (r, changes) => {
          const events =
            order.status === 'PAID'
              ? [{ type: 'refund_requested' as const }]
              : [{ type: 'fulfilment_failed' as const, reason }];
          await changes.saveOrder(r, order, changes.moveOrder(order, events, reason));
          const opened = await openRefund(r, changes, deps, { order, payment, reason });
          if (opened !== undefined) {
            await enqueueJob(
              r,
              deps,
              {
                tenantId: order.tenantId,
                kind: JOB.executeRefund,
                resourceId: opened.refund.id,
                priority: PRIORITY.refund,
              },
              changes.meta.now,
            );
          }
          await raiseFlag(
            r,
            changes,
            deps.ids,
            { tenantId: order.tenantId, type: 'order', id: order.id },
            'FULFILMENT_ABANDONED',
            {
              merchant_says: seen.status,
              amount: payment.amount,
            },
          );
        },
      };
    }
    case 'recheck_failed': {
      if (
        gateway === undefined ||
        payment.outTradeNo === null ||
        (payment.status !== 'FAILED' && payment.status !== 'CANCELLED')
      ) {
        return { result: 'nothing to check', apply: nothing };
      }
      const seen = await gateway.query(payment.outTradeNo);
      if (seen.status !== 'succeeded') return { result: `gateway agrees (${seen.status})`, apply: nothing };
      return {
        result: 'gateway says paid: correcting',
        apply: (r, changes) => flagLateCapture(r, changes, deps, payment, { order_id: order.id, found_by: rule.name }),
      };
    }
    case 'resume_refund':
      return resumeRefund(rule, order, payment, deps);
    default: {
      const never: never = rule.action;
      throw new Error(`unknown rule action ${String(never)}`);
    }
  }
}

/**
 * An order stuck in REFUNDING always has a way out: a PENDING refund whose job is gone is sent
 * again (a new job; the gateway takes the same out_refund_no once), a FAILED one is flagged
 * REFUND_FAILED again for a person (retry it, or settle it outside), and an order whose payment
 * was all given back is moved to REFUNDED.
 */
async function resumeRefund(rule: Rule, order: OrderRecord, payment: PaymentRecord, deps: Deps): Promise<Action> {
  const refunds = await deps.uow.read.refunds.listByPayment(order.tenantId, payment.id);
  const live = await Promise.all(refunds.map((f) => deps.uow.read.jobs.hasLive(JOB.executeRefund, f.id)));
  const orphaned = refunds.filter((f, i) => f.status === 'PENDING' && live[i] !== true);
  // A failed refund someone is already looking at (its flag is open) needs no second flag.
  const open = await deps.uow.read.flags.list(order.tenantId, { open: true, code: 'REFUND_FAILED', limit: 500 });
  const failed = refunds.filter((f) => f.status === 'FAILED' && !open.some((x) => x.resourceId === f.id));
  if (payment.status === 'REFUNDED' && refunds.every((f) => f.status !== 'PENDING')) {
    return {
      result: 'all given back',
      apply: (r, changes) => changes.saveOrder(r, order, changes.moveOrder(order, [{ type: 'refunded' }])),
    };
  }
  if (orphaned.length === 0 && failed.length === 0) return { result: 'its refund is under way', apply: nothing };
  return {
    result: `${orphaned.length} refund(s) sent again, ${failed.length} failed flagged`,
    apply: async (r, changes) => {
      for (const f of orphaned) {
        await enqueueJob(
          r,
          deps,
          { tenantId: f.tenantId, kind: JOB.executeRefund, resourceId: f.id, priority: PRIORITY.refund },
          changes.meta.now,
        );
      }
      for (const f of failed) {
        await raiseFlagOnce(
          r,
          changes,
          flagIds.once(`REFUND_FAILED_${f.id}_${ruleRunId(rule, order.id, order.version)}`),
          { tenantId: f.tenantId, type: 'refund', id: f.id },
          'REFUND_FAILED',
          {
            order_id: order.id,
            amount: f.amount,
            failure_code: f.failureCode,
            order_status: order.status,
            found_by: rule.name,
          },
        );
      }
    },
  };
}

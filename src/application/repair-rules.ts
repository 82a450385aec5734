import { ruleMatches, ruleRunId, type Rule } from '../domain/rules.js';
import { MerchantUnknownOutcomeError } from '../ports/merchant.js';
import { type GatewayPaymentResult, GatewayUnknownOutcomeError } from '../ports/payment-gateway.js';
import type { JobRecord, OrderRecord, PaymentRecord } from '../ports/records.js';
import type { Repositories } from '../ports/repositories.js';
import type { Deps } from './context.js';
import { raiseFlag } from './execute-refund.js';
import { markPaid } from './handle-callback.js';
import { JOB, PRIORITY } from './job-kinds.js';
import { createRefund } from './request-refund.js';
import { completeJob, type JobOutcome } from './run-jobs.js';
import { ChangeSet, fulfilmentKeyFor } from './state-changes.js';

export const RULE_JOB = 'rule.run';
const ACTOR = 'system:rules';

/**
 * One sweep: for each rule, find orders stuck in its statuses for long enough and queue one
 * `rule.run` job per order state (deterministic ids: every instance and every sweep agree, so a
 * rule acts once per stuck state). Returns how many runs were queued.
 */
export function sweepRules(deps: Deps, rules: readonly Rule[], limit: number): Promise<number> {
  return sweepStale(deps, RULE_JOB, rules, (rule, before, after) =>
    deps.uow.read.orders.findStale(rule.statuses, before, after, limit),
  );
}

/**
 * For each rule, find the subjects (orders, recharges) stuck in its statuses for long enough and
 * queue one job of `kind` per subject state: the id is made of the rule, the subject and its
 * version, so every instance and every sweep agree. Returns how many runs were new.
 */
export async function sweepStale<R extends Rule<string, string>>(
  deps: Deps,
  kind: string,
  rules: readonly R[],
  find: (
    rule: R,
    updatedBefore: number,
    updatedAfter: number | undefined,
  ) => Promise<ReadonlyArray<{ readonly id: string; readonly tenantId: string; readonly version: number }>>,
): Promise<number> {
  const now = deps.clock.now();
  let queued = 0;
  for (const rule of rules) {
    const stale = await find(
      rule,
      now - rule.olderThanMs,
      rule.youngerThanMs === undefined ? undefined : now - rule.youngerThanMs,
    );
    if (stale.length === 0) continue;
    queued += await deps.uow.run(async (r) => {
      let n = 0;
      for (const o of stale) {
        const added = await r.jobs.enqueueIfAbsent({
          id: ruleRunId(rule, o.id, o.version),
          now,
          tenantId: o.tenantId,
          kind,
          resourceId: o.id,
          payload: { rule: rule.name, version: o.version },
          priority: PRIORITY.expire,
          runAt: now,
          maxAttempts: deps.settings.maxAttempts,
        });
        if (added) n += 1;
      }
      return n;
    });
  }
  return queued;
}

/** Job `rule.run`: re-check that the rule still applies to the order as it is now, then act. */
export function ruleRunner(rules: readonly Rule[]): (job: JobRecord, deps: Deps) => Promise<JobOutcome> {
  const byName = new Map(rules.map((r) => [r.name, r]));
  return async (job, deps) => {
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
      await deps.uow.run((r) => completeJob(r, job, deps, now));
      return { kind: 'done' };
    }
    try {
      const outcome = await act(rule, found.order, found.payment, deps);
      await deps.uow.run(async (r) => {
        const cs = new ChangeSet({ actor: ACTOR, now: deps.clock.now(), requestId: null });
        await outcome.apply(r, cs);
        const after = await r.orders.get(found.order.tenantId, found.order.id);
        cs.audit(
          'order',
          found.order.tenantId,
          found.order.id,
          `rule.${rule.name}`,
          { status: found.order.status, version: found.order.version },
          {
            action: rule.action,
            result: outcome.result,
            status: after?.status ?? found.order.status,
          },
        );
        await cs.flush(r);
        await completeJob(r, job, deps, cs.meta.now);
      });
      deps.logger.info({ order_id: found.order.id, rule: rule.name, result: outcome.result }, 'repair rule ran');
      return { kind: 'done' };
    } catch (e) {
      if (e instanceof GatewayUnknownOutcomeError || e instanceof MerchantUnknownOutcomeError)
        return { kind: 'retry', error: `outcome unknown: ${e.message}` };
      throw e;
    }
  };
}

interface Action {
  /** What was found outside, in words for the audit row. */
  readonly result: string;
  /** The local change, inside one transaction (re-reads and version checks keep it honest). */
  readonly apply: (r: Repositories, cs: ChangeSet) => Promise<void>;
}

/** Ask the outside world first (outside any transaction), then say what to write. */
async function act(rule: Rule, order: OrderRecord, payment: PaymentRecord, deps: Deps): Promise<Action> {
  const gateway = deps.gateways.get(payment.gateway);
  switch (rule.action) {
    case 'cancel':
      return {
        result: 'cancelled',
        apply: async (r, cs) => {
          await cs.saveOrder(
            r,
            order,
            cs.moveOrder(order, [{ type: 'expire' }], `${rule.name}: not confirmed or paid in time`),
          );
          if (payment.status === 'CREATED')
            await cs.savePayment(r, payment, cs.movePayment(payment, { type: 'cancel' }));
        },
      };
    case 'settle_payment': {
      if (gateway === undefined || payment.outTradeNo === null || payment.status !== 'PENDING')
        return { result: 'nothing to settle', apply: () => Promise.resolve() };
      let seen: GatewayPaymentResult = await gateway.query(payment.outTradeNo);
      // Still unpaid this late: close it at the gateway first, so it can never be paid afterwards.
      if (seen.status === 'pending' || seen.status === 'not_found') {
        const closed = await gateway.close(payment.outTradeNo);
        seen = closed.status === 'not_found' ? { ...closed, status: 'closed' } : closed;
      }
      const status = seen.status;
      if (status === 'succeeded') {
        if (seen.amount !== undefined && seen.amount.amount !== payment.amount) {
          return {
            result: `gateway recorded ${seen.amount.amount}`,
            apply: (r, cs) =>
              raiseFlag(r, deps, cs, { tenantId: order.tenantId, type: 'payment', id: payment.id }, 'AMOUNT_MISMATCH', {
                gateway_amount: seen.amount?.amount,
                payment_amount: payment.amount,
              }),
          };
        }
        return {
          result: 'gateway says paid',
          apply: (r, cs) => markPaid(r, deps, cs, order, payment, seen.gatewayTradeNo ?? null),
        };
      }
      const code = seen.failureCode ?? (status === 'closed' ? 'TRADE_CLOSED' : 'DECLINED');
      return {
        result: `gateway says ${status}`,
        apply: async (r, cs) => {
          await cs.savePayment(
            r,
            payment,
            cs.movePayment(payment, { type: 'fail', reason: code }, { failureCode: code }),
          );
          await cs.saveOrder(
            r,
            order,
            cs.moveOrder(order, [{ type: 'payment_failed', reason: code }], `payment not completed in time: ${code}`),
          );
        },
      };
    }
    case 'retry_fulfilment':
      return {
        result: 'fulfilment queued again',
        apply: async (r) => {
          await r.jobs.enqueue({
            id: deps.ids.next('job'),
            now: deps.clock.now(),
            tenantId: order.tenantId,
            kind: JOB.fulfilOrder,
            resourceId: order.id,
            priority: PRIORITY.fulfil,
            runAt: deps.clock.now(),
            maxAttempts: deps.settings.maxAttempts,
          });
        },
      };
    case 'refund_and_flag': {
      const seen = await deps.merchant.query(fulfilmentKeyFor(order.id));
      if (seen.status === 'accepted' && order.status === 'FULFILLING') {
        return {
          result: 'merchant had accepted it',
          apply: (r, cs) => cs.saveOrder(r, order, cs.moveOrder(order, [{ type: 'fulfilled' }])),
        };
      }
      const reason = `${rule.name}: not fulfilled in time (merchant: ${seen.status})`;
      return {
        result: 'refunded',
        apply: async (r, cs) => {
          const events =
            order.status === 'PAID'
              ? [{ type: 'refund_requested' as const }]
              : [{ type: 'fulfilment_failed' as const, reason }];
          await cs.saveOrder(r, order, cs.moveOrder(order, events, reason));
          const existing = await r.refunds.listByPayment(order.tenantId, payment.id);
          const reserved = existing.filter((x) => x.status !== 'FAILED').reduce((s, x) => s + x.amount, 0);
          if (payment.amount > reserved) {
            const refund = await createRefund(r, cs, {
              id: deps.ids.next('rfd'),
              order,
              payment,
              amount: payment.amount - reserved,
              reason,
              n: existing.length + 1,
            });
            await r.jobs.enqueue({
              id: deps.ids.next('job'),
              now: cs.meta.now,
              tenantId: order.tenantId,
              kind: JOB.executeRefund,
              resourceId: refund.id,
              priority: PRIORITY.refund,
              runAt: cs.meta.now,
              maxAttempts: deps.settings.maxAttempts,
            });
          }
          await raiseFlag(
            r,
            deps,
            cs,
            { tenantId: order.tenantId, type: 'order', id: order.id },
            'FULFILMENT_ABANDONED',
            { merchant_says: seen.status, amount: payment.amount },
          );
        },
      };
    }
    case 'recheck_failed': {
      if (
        gateway === undefined ||
        payment.outTradeNo === null ||
        (payment.status !== 'FAILED' && payment.status !== 'CANCELLED')
      )
        return { result: 'nothing to check', apply: () => Promise.resolve() };
      const seen = await gateway.query(payment.outTradeNo);
      if (seen.status !== 'succeeded')
        return { result: `gateway agrees (${seen.status})`, apply: () => Promise.resolve() };
      return {
        result: 'gateway says paid: correcting',
        apply: async (r, cs) => {
          await raiseFlag(r, deps, cs, { tenantId: order.tenantId, type: 'payment', id: payment.id }, 'LATE_CAPTURE', {
            order_id: order.id,
            recorded: payment.status,
            gateway_says: 'succeeded',
            found_by: rule.name,
          });
          await r.jobs.enqueue({
            id: deps.ids.next('job'),
            now: cs.meta.now,
            tenantId: order.tenantId,
            kind: JOB.resolveLateCapture,
            resourceId: payment.id,
            priority: PRIORITY.refund,
            runAt: cs.meta.now,
            maxAttempts: deps.settings.maxAttempts,
          });
        },
      };
    }
    default: {
      const never: never = rule.action;
      throw new Error(`unknown rule action ${String(never)}`);
    }
  }
}

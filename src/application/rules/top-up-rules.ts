import type { GatewayPaymentResult } from '../../ports/payment-gateway.js';
import type { JobRecord } from '../../ports/records.js';
import { retryReason } from '../jobs/gateway-step.js';
import { JOB } from '../jobs/job-kinds.js';
import type { JobOutcome } from '../jobs/job-runner.js';
import { completeJob } from '../jobs/job-steps.js';
import { SYSTEM } from '../kernel/caller.js';
import type { Deps } from '../kernel/deps.js';
import { tx } from '../kernel/tx.js';
import { commitRechargeCharge } from '../recharge/recharge-api.js';
import { commitTopUpCharge } from '../wallet/wallet-api.js';
import { sweepStale } from './sweep.js';

/** The built-in expiry of payments nobody paid: a wallet top-up, or a recharge's own payment. */
export const UNPAID_TOP_UP_RULE = 'expire-unpaid-top-up';

function unpaidRule(olderThanMs: number): {
  readonly name: string;
  readonly statuses: readonly ['PENDING'];
  readonly olderThanMs: number;
  readonly action: 'close_unpaid';
} {
  return { name: UNPAID_TOP_UP_RULE, statuses: ['PENDING'], olderThanMs, action: 'close_unpaid' };
}

/** One sweep over top-ups still PENDING after `olderThanMs`: one `top-up-rule.run` job per stuck state. */
export function sweepUnpaidTopUps(deps: Deps, olderThanMs: number, limit: number): Promise<number> {
  return sweepStale(deps, JOB.topUpRule, [unpaidRule(olderThanMs)], (rule, before, after) =>
    deps.uow.read.topUps.findStale(rule.statuses, before, after, limit),
  );
}

/**
 * Job `top-up-rule.run`, the unpaid expiry of top-ups as `cancel-unpaid` is of orders: a payment
 * whose payer never acted (a QR never scanned) is asked about at its gateway, and closed there
 * first when still unpaid, so it can never be paid afterwards; then the answer is committed
 * through the pay job's own commit — closed: the top-up fails (and a recharge it pays for ends
 * before any channel is asked), money-neutral; paid meanwhile: credited or dispatched as if the
 * pay job had heard it. Audited as the rule.
 */
export function unpaidTopUpRunner(deps: Deps, olderThanMs: number): (job: JobRecord) => Promise<JobOutcome> {
  return async (job) => {
    const topUp = await deps.uow.read.topUps.get(job.tenantId, job.resourceId);
    const now = deps.clock.now();
    // An operator's request (a flag's `close_trade`) does not wait for the timeout.
    const onRequest = job.payload.on_request === true;
    const actor = onRequest && typeof job.payload.actor === 'string' ? job.payload.actor : SYSTEM.rules;
    if (
      topUp === undefined ||
      topUp.status !== 'PENDING' ||
      topUp.version !== job.payload.version ||
      (!onRequest && now - topUp.updatedAt < olderThanMs)
    ) {
      // Paid, failed or touched since the sweep: nothing to expire.
      await tx(deps.uow, { actor: SYSTEM.rules, now, requestId: null }, (r) => completeJob(r, job, deps, now));
      return { kind: 'done' };
    }
    const gateway = deps.gateways.get(topUp.gateway);
    if (gateway === undefined) return { kind: 'give_up', error: `gateway ${topUp.gateway} is not configured` };
    let seen: GatewayPaymentResult;
    try {
      seen = await gateway.query(topUp.outTradeNo);
      if (seen.status === 'pending' || seen.status === 'not_found') {
        const closed = await gateway.close(topUp.outTradeNo);
        seen = closed.status === 'not_found' ? { ...closed, status: 'closed' } : closed;
      }
    } catch (e) {
      return { kind: 'retry', error: retryReason(e) };
    }
    if (seen.status === 'pending' || seen.status === 'not_found') {
      return { kind: 'retry', error: 'the gateway has not closed the trade yet' };
    }
    const result = {
      ...seen,
      status: seen.status,
      ...(seen.status === 'closed' ? { failureCode: 'UNPAID_TIMEOUT' } : {}),
    };
    const outcome =
      topUp.rechargeId === undefined
        ? await commitTopUpCharge(deps, job, topUp, result, actor)
        : await commitRechargeCharge(deps, job, topUp, topUp.rechargeId, result, actor);
    deps.logger.info(
      {
        top_up_id: topUp.id,
        recharge_id: topUp.rechargeId ?? null,
        rule: UNPAID_TOP_UP_RULE,
        gateway_says: seen.status,
        actor,
      },
      'unpaid top-up expired',
    );
    return outcome;
  };
}

import type { GatewayPaymentResult } from '../../ports/payment-gateway.js';
import type { JobRecord, TopUpRecord } from '../../ports/records.js';
import { closeUnpaid, retryReason } from '../jobs/gateway-step.js';
import { JOB } from '../jobs/job-kinds.js';
import type { JobOutcome } from '../jobs/job-runner.js';
import { completeJob } from '../jobs/job-steps.js';
import { SYSTEM } from '../kernel/caller.js';
import type { Deps } from '../kernel/deps.js';
import { tx } from '../kernel/tx.js';
import { commitRechargeCharge } from '../recharge/recharge-api.js';
import { commitTopUpCharge, recordCloseReason } from '../wallet/wallet-api.js';
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

/** The failure code of a payment the unpaid expiry closed (an operator's `close_trade` too: it runs the expiry now). */
export const UNPAID_TIMEOUT = 'UNPAID_TIMEOUT';

/**
 * Job `top-up-rule.run`, the unpaid expiry of top-ups as `settle-pending-payment` is of orders:
 * a payment whose payer never acted (a QR never scanned) is asked about at its gateway and, still
 * unpaid, closed there so it can never be paid afterwards — its reason (UNPAID_TIMEOUT) recorded
 * on the top-up first, so whoever commits the closed trade (this rule, or the pay job that saw it
 * closed first) fails it with that code. The answer is committed through the pay job's own
 * commit — closed: the top-up fails (and a recharge it pays for ends before any channel is
 * asked), money-neutral; paid meanwhile: credited or dispatched as if the pay job had heard it.
 * Audited as the rule.
 */
export function unpaidTopUpRunner(deps: Deps, olderThanMs: number): (job: JobRecord) => Promise<JobOutcome> {
  return async (job) => {
    const topUp = await deps.uow.read.topUps.get(job.tenantId, job.resourceId);
    const now = deps.clock.now();
    // An operator's request (a flag's `close_trade`) does not wait for the timeout.
    const onRequest = job.payload.on_request === true;
    const actor = onRequest && typeof job.payload.actor === 'string' ? job.payload.actor : SYSTEM.rules;
    // Once its reason is recorded the close was decided: a later run (after a crash, a gateway
    // error) carries it through whatever touched the top-up since.
    const decided = topUp?.closeReason !== undefined;
    if (
      topUp === undefined ||
      topUp.status !== 'PENDING' ||
      (!decided && (topUp.version !== job.payload.version || (!onRequest && now - topUp.updatedAt < olderThanMs)))
    ) {
      // Paid, failed or touched since the sweep: nothing to expire.
      await tx(deps.uow, { actor: SYSTEM.rules, now, requestId: null }, (r) => completeJob(r, job, deps, now));
      return { kind: 'done' };
    }
    const gateway = deps.gateways.get(topUp.gateway);
    if (gateway === undefined) return { kind: 'give_up', error: `gateway ${topUp.gateway} is not configured` };
    // The top-up as it is once its reason is recorded (a gateway that already says closed or paid needs none).
    const closing: { topUp: TopUpRecord | undefined } = { topUp };
    let seen: GatewayPaymentResult;
    try {
      seen = await closeUnpaid(gateway, topUp.outTradeNo, async () => {
        closing.topUp = await recordCloseReason(deps, topUp, UNPAID_TIMEOUT, actor);
        return closing.topUp !== undefined;
      });
    } catch (e) {
      return { kind: 'retry', error: retryReason(e) };
    }
    const current = closing.topUp;
    // The top-up moved between the question and the close: the next run looks again.
    if (current === undefined) return { kind: 'retry', error: 'the top-up changed before its trade was closed' };
    if (seen.status === 'pending' || seen.status === 'not_found') {
      return { kind: 'retry', error: 'the gateway has not closed the trade yet' };
    }
    // A trade the gateway closed on its own before we asked is expired by this rule all the same.
    const result = {
      ...seen,
      status: seen.status,
      ...(seen.status === 'closed' ? { failureCode: UNPAID_TIMEOUT } : {}),
    };
    const outcome =
      current.rechargeId === undefined
        ? await commitTopUpCharge(deps, job, current, result, actor)
        : await commitRechargeCharge(deps, job, current, current.rechargeId, result, actor);
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

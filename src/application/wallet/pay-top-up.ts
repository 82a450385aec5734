import { postings } from '../../domain/ledger/postings.js';
import type { JobRecord, TopUpRecord } from '../../ports/records.js';
import {
  amountMismatch,
  chargeOnce,
  type DefiniteCharge,
  failureCodeOf,
  runGatewayStep,
} from '../jobs/gateway-step.js';
import type { JobOutcome } from '../jobs/job-runner.js';
import { completeJob } from '../jobs/job-steps.js';
import { SYSTEM } from '../kernel/caller.js';
import type { Deps } from '../kernel/deps.js';
import { tx } from '../kernel/tx.js';
import { moveTopUp, saveTopUp } from './top-up.js';
import { keepTopUpPayerAction } from './top-up-payer-action.js';

/**
 * Job `wallet.top_up`: charge a wallet top-up through its gateway exactly once (the gateway
 * step: create on the first attempt, query first on every later one, same out_trade_no). On
 * success the balance grows and the ledger moves the money from the gateway to the wallet.
 */
export function payTopUp(deps: Deps, job: JobRecord): Promise<JobOutcome> {
  return runGatewayStep(job, deps, {
    load: () => deps.uow.read.topUps.get(job.tenantId, job.resourceId),
    due: (topUp) => topUp.status === 'PENDING',
    gateway: (topUp) => topUp.gateway,
    call: (gateway, topUp, first) =>
      chargeOnce(gateway, first, {
        outTradeNo: topUp.outTradeNo,
        amount: { amount: topUp.amount, currency: topUp.currency },
        subject: 'wallet top-up',
        method: topUp.method,
        payer: topUp.userId,
      }),
    commit: (topUp, result) => commitTopUpCharge(deps, job, topUp, result),
    waiting: (topUp, pending) => keepTopUpPayerAction(deps, topUp, pending),
  });
}

/**
 * Record a top-up charge's definite answer (the pay job's, or the unpaid expiry's after it closed
 * the trade) in one transaction that also finishes `job`: a success credits the wallet; a decline
 * or a closed trade fails the top-up, and nothing moves.
 */
export async function commitTopUpCharge(
  deps: Deps,
  job: JobRecord,
  topUp: TopUpRecord,
  result: DefiniteCharge,
  /** Who the change is recorded as: the pay job's worker, or the rule that closed the trade. */
  actor: string = SYSTEM.worker,
): Promise<JobOutcome> {
  const now = deps.clock.now();
  const meta = { actor, now, requestId: null };
  if (result.status === 'succeeded') {
    const mismatch = amountMismatch(result, topUp);
    if (mismatch !== undefined) return { kind: 'give_up', error: mismatch };
    await tx(deps.uow, meta, async (r, changes) => {
      await saveTopUp(
        r,
        topUp,
        moveTopUp(
          changes,
          topUp,
          { type: 'succeed' },
          { gatewayTradeNo: result.gatewayTradeNo ?? null },
          result.paidAt,
        ),
      );
      changes.book(postings.walletToppedUp(topUp));
      await r.wallets.credit(topUp.tenantId, topUp.userId, topUp.currency, topUp.amount, now);
      await completeJob(r, job, deps, now);
    });
    deps.logger.info({ top_up_id: topUp.id, out_trade_no: topUp.outTradeNo, amount: topUp.amount }, 'wallet topped up');
    return { kind: 'done' };
  }
  const code = failureCodeOf(result, topUp.closeReason);
  await tx(deps.uow, meta, async (r, changes) => {
    await saveTopUp(r, topUp, moveTopUp(changes, topUp, { type: 'fail', reason: code }, { failureCode: code }));
    await completeJob(r, job, deps, now);
  });
  deps.logger.warn({ top_up_id: topUp.id, failure_code: code }, 'top-up payment failed');
  return { kind: 'done' };
}

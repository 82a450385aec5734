import { err, ok, type Result } from '../../domain/result.js';
import { JOB } from '../jobs/job-kinds.js';
import type { JobHandler } from '../jobs/job-runner.js';
import type { Runtime } from '../jobs/runtime.js';
import type { Caller } from '../kernel/caller.js';
import type { IdempotencyRef } from '../kernel/idempotency.js';
import { canSee } from '../kernel/ownership.js';
import { waitAwhile } from '../kernel/run-and-wait.js';
import { payTopUp } from './pay-top-up.js';
import { requestTopUp, toTopUpView, type TopUpView } from './top-up.js';

export { insertTopUp, moveTopUp, newTopUp, saveTopUp, toTopUpView, type TopUpView } from './top-up.js';

/** Users' prepaid wallets: balances and top-ups through the payment gateways. */
export interface WalletApi {
  /** The caller's wallet balance (what recharges are paid from), in fen. */
  balance(caller: Caller): Promise<Result<{ readonly balance: number; readonly currency: 'CNY' }>>;
  /**
   * Put money on the caller's wallet through the payment gateways (routing as for orders). The
   * charge runs as a durable job under one out_trade_no: exactly once, even across a crash.
   */
  topUp(caller: Caller, amount: unknown, idem?: IdempotencyRef): Promise<Result<TopUpView>>;
  /** A top-up of the caller's (any of the tenant's, for operators). */
  topUpOf(caller: Caller, id: string): Promise<Result<TopUpView>>;
}

export function createWallet(rt: Runtime): { readonly api: WalletApi; readonly jobs: Record<string, JobHandler> } {
  const { deps, runner } = rt;
  const topUpOf = async (caller: Caller, id: string): Promise<Result<TopUpView>> => {
    const t = await deps.uow.read.topUps.get(caller.tenantId, id);
    return t === undefined || !canSee(caller, t.userId)
      ? err('TOP_UP_NOT_FOUND', `no top-up ${id}`)
      : ok(toTopUpView(t));
  };
  return {
    api: {
      async balance(caller) {
        const w = await deps.uow.read.wallets.get(caller.tenantId, caller.userId);
        return ok({ balance: w?.balance ?? 0, currency: 'CNY' });
      },
      async topUp(caller, amount, idem) {
        const requested = await requestTopUp(deps, caller, amount, idem);
        if (!requested.ok) return requested;
        await waitAwhile(runner.runLeased({ job: requested.value.job }), rt.waitForCompletionMs);
        return topUpOf(caller, requested.value.topUp.id);
      },
      topUpOf,
    },
    jobs: { [JOB.payTopUp]: (job) => payTopUp(deps, job) },
  };
}

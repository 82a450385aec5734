import { err, ok, type Result } from '../../domain/result.js';
import type { HeldActionRecord } from '../../ports/held-actions.js';
import { JOB } from '../jobs/job-kinds.js';
import type { JobHandler } from '../jobs/job-runner.js';
import type { Runtime } from '../jobs/runtime.js';
import type { Caller } from '../kernel/caller.js';
import type { IdempotencyRef } from '../kernel/idempotency.js';
import { type Confirmed, heldOrMade, type HeldView, toHeldView } from '../kernel/holds.js';
import { canSee } from '../kernel/ownership.js';
import { waitAwhile } from '../kernel/run-and-wait.js';
import { payTopUp } from './pay-top-up.js';
import { requestTopUp, toTopUpView, type TopUpView } from './top-up.js';

export {
  insertTopUp,
  moveTopUp,
  newTopUp,
  saveTopUp,
  topUpPayerAction,
  toTopUpView,
  type TopUpView,
} from './top-up.js';
export { keepTopUpPayerAction } from './top-up-payer-action.js';
export { commitTopUpCharge } from './pay-top-up.js';
export { recordCloseReason } from './record-close-reason.js';

/** A top-up request's answer: the top-up (charged, charging or declined), or held for the person. */
export type TopUpOutcome =
  { readonly kind: 'held'; readonly held: HeldView } | { readonly kind: 'top_up'; readonly topUp: TopUpView };

/** Users' prepaid wallets: balances and top-ups through the payment gateways. */
export interface WalletApi {
  /** The caller's wallet balance (what recharges are paid from), in fen. */
  balance(caller: Caller): Promise<Result<{ readonly balance: number; readonly currency: 'CNY' }>>;
  /**
   * Put money on the caller's wallet through the payment gateways (routing as for orders). The
   * charge runs as a durable job under one out_trade_no: exactly once, even across a crash.
   */
  topUp(caller: Caller, amount: unknown, idem?: IdempotencyRef): Promise<Result<TopUpOutcome>>;
  /** Run a top-up the person confirmed (its hold taken in the same transaction). */
  runConfirmed(caller: Caller, held: HeldActionRecord, confirmed: Confirmed): Promise<Result<TopUpOutcome>>;
  /** Where a top-up request stands: the top-up, or the hold it is waiting in (crash recovery). */
  outcomeOf(caller: Caller, id: string): Promise<Result<TopUpOutcome>>;
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
  const outcomeOf = (caller: Caller, id: string): Promise<Result<TopUpOutcome>> =>
    heldOrMade(deps, caller, id, async (made) => {
      const t = await topUpOf(caller, made);
      return t.ok ? ok({ kind: 'top_up' as const, topUp: t.value }) : t;
    });
  const run = async (
    caller: Caller,
    amount: unknown,
    idem: IdempotencyRef | undefined,
    confirmed?: Confirmed,
  ): Promise<Result<TopUpOutcome>> => {
    const requested = await requestTopUp(deps, caller, amount, idem, confirmed);
    if (!requested.ok) return requested;
    const made = requested.value;
    if (made.kind === 'held') return ok({ kind: 'held', held: toHeldView(made.held) });
    await waitAwhile(runner.runLeased({ job: made.job }), rt.waitForCompletionMs);
    return outcomeOf(caller, made.topUp.id);
  };
  return {
    api: {
      async balance(caller) {
        const w = await deps.uow.read.wallets.get(caller.tenantId, caller.userId);
        return ok({ balance: w?.balance ?? 0, currency: 'CNY' });
      },
      topUp: (caller, amount, idem) => run(caller, amount, idem),
      runConfirmed: (caller, held, confirmed) => run(caller, held.params.amount, undefined, confirmed),
      outcomeOf,
      topUpOf,
    },
    jobs: { [JOB.payTopUp]: (job) => payTopUp(deps, job) },
  };
}

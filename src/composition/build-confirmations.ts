import {
  type ConfirmationsApi,
  createConfirmations,
  type HeldExecutor,
} from '../application/confirmations/confirmations-api.js';
import type { Deps } from '../application/kernel/deps.js';
import type { BatchApi } from '../application/batch/batch-api.js';
import type { RechargeApi } from '../application/recharge/recharge-api.js';
import type { RefundsApi } from '../application/refunds/refunds-api.js';
import type { WalletApi } from '../application/wallet/wallet-api.js';
import { ok } from '../domain/result.js';

/** The capabilities whose actions the policy may hold, and how each runs a confirmed one. */
export interface HoldingServices {
  readonly recharge: RechargeApi;
  readonly wallet: WalletApi;
  readonly refunds: RefundsApi;
  readonly batch: BatchApi;
}

/** Confirmations, with an executor per held action that runs it through the capability owning it. */
export function buildConfirmations(deps: Deps, s: HoldingServices): ConfirmationsApi {
  const executors = new Map<string, HeldExecutor>([
    [
      'recharge_phone',
      async (caller, held, confirmed) => {
        const r = await s.recharge.runConfirmed(caller, held, confirmed);
        if (!r.ok) return r;
        const o = r.value;
        return ok(o.kind === 'held' ? { next: 'held again' } : { recharge: o.recharge, outcome: o.kind });
      },
    ],
    [
      'wallet_top_up',
      async (caller, held, confirmed) => {
        const r = await s.wallet.runConfirmed(caller, held, confirmed);
        if (!r.ok) return r;
        return ok(r.value.kind === 'held' ? { next: 'held again' } : { top_up: r.value.topUp });
      },
    ],
    [
      'refund',
      async (caller, held, confirmed) => {
        const r = await s.refunds.runConfirmed(caller, held, confirmed);
        if (!r.ok) return r;
        return ok(r.value.kind === 'held' ? { next: 'held again' } : { refund: r.value.refund });
      },
    ],
    [
      'recharge_batch',
      async (caller, held, confirmed) => {
        const r = await s.batch.runConfirmed(caller, held, confirmed);
        return r.ok ? ok({ batch: r.value }) : r;
      },
    ],
  ]);
  return createConfirmations(deps, executors).api;
}

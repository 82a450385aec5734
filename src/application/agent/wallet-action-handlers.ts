import type { ActionRegistry } from './action-registry.js';
import type { RechargeApi } from '../recharge/recharge-api.js';
import type { WalletApi } from '../wallet/wallet-api.js';
import { confirmationOf } from './agent-outcome.js';
import { refused } from './order-action-handlers.js';

/**
 * The agent's `recharge_phone`, `top_up_wallet` and `query_balance`, through the same engine methods as
 * POST /api/v1/recharges and GET /api/v1/wallet: the number, the face value and the wallet are
 * checked exactly as there. Whether a recharge may run without the person's confirmation is
 * decided before this handler is reached (trusted_actions), never by the words.
 */
export function registerWalletHandlers(registry: ActionRegistry, recharge: RechargeApi, wallet: WalletApi): void {
  registry.handle('recharge_phone', async (p, ctx) => {
    const r =
      typeof ctx.recoveryPoint === 'string'
        ? await recharge.outcomeOf(ctx.caller, ctx.recoveryPoint)
        : await recharge.request(ctx.caller, { phone: p.phone, amount: p.amount }, ctx.idem);
    if (!r.ok) return refused(r.error);
    const o = r.value;
    switch (o.kind) {
      case 'held':
        return { kind: 'awaiting_confirmation', confirm: confirmationOf(o.held) };
      case 'succeeded':
        return { kind: 'done', action: 'recharge_phone', result: { recharge: o.recharge } };
      case 'in_progress':
        return { kind: 'done', action: 'recharge_phone', result: { recharge: o.recharge, next: o.next } };
      case 'failed':
        return refused({
          code: 'RECHARGE_FAILED',
          message:
            `the recharge failed: ${o.recharge.failure_reason ?? 'every channel refused it'}; ` +
            `the amount is back on the wallet`,
        });
      default: {
        const never: never = o;
        throw new Error(`unknown recharge outcome ${JSON.stringify(never)}`);
      }
    }
  });

  // The same engine method as POST /api/v1/wallet/top-ups: held for the person unless trusted or
  // within a mandate; the charge runs once under the request's idempotency claim.
  registry.handle('top_up_wallet', async (p, ctx) => {
    const r =
      typeof ctx.recoveryPoint === 'string'
        ? await wallet.outcomeOf(ctx.caller, ctx.recoveryPoint)
        : await wallet.topUp(ctx.caller, p.amount, ctx.idem);
    if (!r.ok) return refused(r.error);
    if (r.value.kind === 'held') return { kind: 'awaiting_confirmation', confirm: confirmationOf(r.value.held) };
    const topUp = r.value.topUp;
    if (topUp.status === 'FAILED')
      return refused({
        code: 'PAYMENT_DECLINED',
        message: `the top-up payment was declined: ${topUp.failure_code ?? 'unknown reason'}`,
      });
    return { kind: 'done', action: 'top_up_wallet', result: { top_up: topUp } };
  });

  registry.handle('query_balance', async (_p, ctx) => {
    const r = await wallet.balance(ctx.caller);
    return r.ok
      ? {
          kind: 'done',
          action: 'query_balance',
          result: { wallet: { balance: r.value.balance, currency: r.value.currency } },
        }
      : refused(r.error);
  });
}

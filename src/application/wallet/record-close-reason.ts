import type { TopUpRecord } from '../../ports/records.js';
import type { Deps } from '../kernel/deps.js';
import { tx } from '../kernel/tx.js';
import { amendTopUp } from './top-up.js';

/**
 * Record why we are about to close a top-up's trade at its gateway, durably, before the close:
 * whoever then commits the closed trade (the closer, the top-up's own pay job, a callback's
 * wake-up, reconciliation) fails the top-up with `reason`, not the gateway's TRADE_CLOSED. One
 * transaction, guarded by the top-up's status and version: answers the top-up as recorded, or
 * undefined when it moved since `prev` was read (paid, failed, touched) — then nothing may be
 * closed. A reason already recorded (an earlier run that stopped before the close) stands.
 * The version moves, so a commit from a copy read before it is refused and read again.
 */
export async function recordCloseReason(
  deps: Pick<Deps, 'uow' | 'clock'>,
  prev: TopUpRecord,
  reason: string,
  actor: string,
): Promise<TopUpRecord | undefined> {
  if (prev.closeReason !== undefined) return prev;
  const now = deps.clock.now();
  return tx(deps.uow, { actor, now, requestId: null }, async (r, changes) => {
    const fresh = await r.topUps.get(prev.tenantId, prev.id);
    if (fresh === undefined || fresh.status !== 'PENDING' || fresh.version !== prev.version) return undefined;
    return amendTopUp(r, changes, fresh, { closeReason: reason }, 'top_up.closing', {
      out_trade_no: fresh.outTradeNo,
      close_reason: reason,
    });
  });
}

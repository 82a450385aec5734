import type { GatewayPaymentResult } from '../../ports/payment-gateway.js';
import type { TopUpRecord } from '../../ports/records.js';
import { SYSTEM } from '../kernel/caller.js';
import type { Deps } from '../kernel/deps.js';
import { tx } from '../kernel/tx.js';
import { amendTopUp } from './top-up.js';

/**
 * A top-up's (or a directly paid recharge's) trade waits for its payer: keep what they need on
 * the top-up, once per trade, so every answer about it (and about its recharge) hands it on, as
 * orders do. Nothing is kept once the top-up has moved on (paid by a callback, failed, closed).
 */
export async function keepTopUpPayerAction(
  deps: Deps,
  topUp: TopUpRecord,
  pending: GatewayPaymentResult,
): Promise<void> {
  const qrCode = pending.payUrl;
  if (qrCode === undefined || qrCode.length === 0 || topUp.qrCode === qrCode) return;
  const now = deps.clock.now();
  await tx(deps.uow, { actor: SYSTEM.worker, now, requestId: null }, async (r, changes) => {
    const fresh = await r.topUps.get(topUp.tenantId, topUp.id);
    if (fresh === undefined || fresh.status !== 'PENDING' || fresh.outTradeNo !== pending.outTradeNo) return;
    if (fresh.qrCode === qrCode) return;
    const payUrl = /^https?:\/\//i.test(qrCode) ? qrCode : undefined;
    // The gateway's QR validity, or sooner the unpaid expiry: the payer is told the earlier bound.
    const payExpiresAt = now + deps.settings.payerWindowMs;
    await amendTopUp(
      r,
      changes,
      fresh,
      { qrCode, ...(payUrl === undefined ? {} : { payUrl }), payExpiresAt },
      'top_up.awaiting_payer',
      { out_trade_no: fresh.outTradeNo, expires_at: payExpiresAt },
    );
  });
}

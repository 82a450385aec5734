import type { GatewayPaymentResult } from '../../ports/payment-gateway.js';
import type { OrderRecord, PaymentRecord } from '../../ports/records.js';
import { SYSTEM } from '../kernel/caller.js';
import type { Deps } from '../kernel/deps.js';
import { tx } from '../kernel/tx.js';

/**
 * The gateway opened a trade that waits for its payer (a QR code to scan, a page to open): keep
 * what the payer needs on the payment, once per trade, so every answer about the order can hand
 * it on. Nothing is kept when the payment has moved on meanwhile (paid by a callback, cancelled,
 * or another trade opened): what it would show could no longer be paid.
 */
export async function keepPayerAction(
  deps: Deps,
  order: OrderRecord,
  payment: PaymentRecord,
  pending: GatewayPaymentResult,
): Promise<void> {
  const qrCode = pending.payUrl;
  if (qrCode === undefined || qrCode.length === 0 || payment.qrCode === qrCode) return;
  const now = deps.clock.now();
  await tx(deps.uow, { actor: SYSTEM.worker, now, requestId: null }, async (r, changes) => {
    const fresh = await r.payments.get(payment.tenantId, payment.id);
    if (
      fresh === undefined ||
      fresh.status !== 'PENDING' ||
      fresh.outTradeNo !== pending.outTradeNo ||
      fresh.qrCode === qrCode
    )
      return;
    const next: PaymentRecord = {
      ...fresh,
      qrCode,
      // A link a person can open in a browser; WeChat's weixin:// content is for the app's scanner only.
      payUrl: /^https?:\/\//i.test(qrCode) ? qrCode : null,
      // The repair rules close a trade still unpaid this long after the order began to be paid.
      payExpiresAt: order.updatedAt + deps.settings.payerWindowMs,
      updatedBy: SYSTEM.worker,
      updatedAt: now,
      version: fresh.version + 1,
    };
    changes.audit(
      'payment',
      fresh.tenantId,
      fresh.id,
      'payment.awaiting_payer',
      { version: fresh.version },
      { out_trade_no: fresh.outTradeNo, expires_at: next.payExpiresAt, version: next.version },
    );
    await changes.savePayment(r, fresh, next);
  });
}

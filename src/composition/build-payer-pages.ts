import { createHmac } from 'node:crypto';
import type { PaymentsApi } from '../application/payments/payments-api.js';
import type { PayerPages, PayerPageTrade } from '../interfaces/http/payer-page-routes.js';
import type { Clock } from '../ports/clock.js';
import type { PaymentRepository } from '../ports/repositories.js';
import type { SimTrade, SimulatedGateway } from '../simulator/simulated-gateway.js';

/**
 * A pay page's name: the trade number and a MAC of it under this installation's key, so trade
 * numbers (sequential) cannot be walked to see or pay someone else's trade — only the link the
 * payer was handed opens it, as at a real gateway.
 */
export function payPageId(key: string, tradeNo: string): string {
  return `${tradeNo}.${createHmac('sha256', key).update(tradeNo).digest('base64url').slice(0, 22)}`;
}

/** Who the embedded simulator pays out to: the service's own (simulated) merchant account. */
const PAYEE = 'Open-AutoGLM merchant (simulated)';

const shown = (t: SimTrade): PayerPageTrade => ({
  tradeNo: t.tradeNo,
  amount: t.amount.amount,
  currency: t.amount.currency,
  subject: t.subject,
  payee: PAYEE,
  method: t.method,
  status: t.status,
});

/**
 * The embedded simulator's pay pages. Paying one is what a payer's scan does at a real gateway:
 * the simulator settles the trade, then sends its signed notification to the service's callback
 * handler — in process, through the same verification, windows and de-duplication as a callback
 * over HTTP — under the name of the gateway the payment went through. A trade that is no order's
 * payment (a wallet top-up, a directly paid recharge) gets no callback: its job asks the gateway.
 */
export function buildPayerPages(
  bank: SimulatedGateway,
  payments: Pick<PaymentRepository, 'getByOutTradeNo'>,
  callbacks: Pick<PaymentsApi, 'handleCallback'>,
  clock: Pick<Clock, 'now'>,
  pageKey: string,
): PayerPages {
  const trade = (page: string): SimTrade | undefined => {
    const dot = page.lastIndexOf('.');
    const tradeNo = page.slice(0, Math.max(dot, 0));
    return dot > 0 && payPageId(pageKey, tradeNo) === page ? bank.tradeByTradeNo(tradeNo) : undefined;
  };
  return {
    show(page) {
      const t = trade(page);
      return t === undefined ? undefined : shown(t);
    },
    async pay(page, decline) {
      const t = trade(page);
      if (t === undefined) return undefined;
      if (!bank.payPending(t.outTradeNo, decline)) return { paid: false, trade: shown(t) };
      const payment = await payments.getByOutTradeNo(t.outTradeNo);
      if (payment !== undefined) {
        const n = bank.notificationFor({ kind: 'payment', trade: t }, Math.floor(clock.now() / 1000));
        await callbacks.handleCallback(payment.gateway, { headers: n.headers, body: n.body });
      }
      return { paid: true, trade: shown(t) };
    },
  };
}

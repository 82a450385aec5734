import type { PaymentsApi } from '../application/payments/payments-api.js';
import type { PayerPages } from '../interfaces/http/payer-page-routes.js';
import type { Clock } from '../ports/clock.js';
import type { PaymentRepository } from '../ports/repositories.js';
import type { SimPayPages } from '../simulator/pay-pages.js';
import type { SimulatedGateway } from '../simulator/simulated-gateway.js';

/** Who the embedded simulator pays out to: the service's own (simulated) merchant account. */
export const EMBEDDED_PAYEE = 'Open-AutoGLM merchant (simulated)';

/**
 * The embedded simulator's pay pages. Paying one is what a payer's scan does at a real gateway:
 * the simulator settles the trade, then sends its signed notification to the service's callback
 * handler — in process, through the same verification, windows and de-duplication as a callback
 * over HTTP — under the name of the gateway the payment went through. A trade that is no order's
 * payment (a wallet top-up, a directly paid recharge) gets no callback: its job asks the gateway.
 */
export function buildPayerPages(
  bank: SimulatedGateway,
  pages: SimPayPages,
  payments: Pick<PaymentRepository, 'getByOutTradeNo'>,
  callbacks: Pick<PaymentsApi, 'handleCallback'>,
  clock: Pick<Clock, 'now'>,
  /** Told of a callback the service did not take (logged; the payment's job settles it). */
  notTaken: (error: unknown, outTradeNo: string) => void,
): PayerPages {
  return {
    show(page) {
      const t = pages.trade(page);
      return t === undefined ? undefined : pages.shown(t);
    },
    async pay(page, decline) {
      const t = pages.trade(page);
      if (t === undefined) return undefined;
      if (!bank.payPending(t.outTradeNo, decline)) return { paid: false, trade: pages.shown(t) };
      // Paid at the gateway whatever follows: a callback the service could not take (a write that
      // lost a race with the payment's own job, say) is what a refused HTTP callback is at a real
      // gateway — the payer's page still says paid, and the payment's job asks the gateway.
      try {
        const payment = await payments.getByOutTradeNo(t.outTradeNo);
        if (payment !== undefined) {
          const n = bank.notificationFor({ kind: 'payment', trade: t }, Math.floor(clock.now() / 1000));
          await callbacks.handleCallback(payment.gateway, { headers: n.headers, body: n.body });
        }
      } catch (e) {
        notTaken(e, t.outTradeNo);
      }
      return { paid: true, trade: pages.shown(t) };
    },
  };
}

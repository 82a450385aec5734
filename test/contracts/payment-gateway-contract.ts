import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PaymentGateway, RawNotification } from '../../src/ports/payment-gateway.js';
import type { SimEvent, SimulatedGateway } from '../../src/simulator/simulated-gateway.js';

/**
 * What a gateway under contract test needs around it: the gateway itself (a real-protocol
 * connector talking to the simulator, or the simulator itself), the simulator's order book that
 * holds the ground truth, and the notification the gateway's protocol would send for an event.
 */
export interface GatewayUnderTest {
  readonly gateway: PaymentGateway;
  readonly bank: SimulatedGateway;
  /** The method to create payments with (e.g. "wallet", "alipay_qr", "wechat_native"). */
  readonly method: string;
  /** The notification as the protocol delivers it for this simulator event, signed. */
  notificationFor(event: SimEvent): RawNotification | Promise<RawNotification>;
  /**
   * Change the amount inside a genuine notification as an attacker would, keeping its signature.
   * Only for protocols whose amount is not in clear text (WeChat Pay seals it inside the
   * resource); by default the amount is rewritten in the body text.
   */
  tamperAmount?(raw: RawNotification, newAmount: number): RawNotification | Promise<RawNotification>;
  close(): Promise<void>;
}

let seq = 0;
const uniqueNo = (prefix: string): string =>
  `${prefix}${Date.now().toString(36)}${(seq++).toString(36).padStart(4, '0')}`;

/**
 * The contract every PaymentGateway adapter passes: exactly-once creates, queries, refunds
 * bounded by what was paid, idempotent refund keys, close, and notifications that verify when
 * genuine and are refused when forged or malformed.
 */
export function gatewayContract(label: string, make: () => Promise<GatewayUnderTest>): void {
  describe(`PaymentGateway contract: ${label}`, () => {
    let t: GatewayUnderTest;
    beforeAll(async () => {
      t = await make();
    });
    afterAll(async () => {
      await t.close();
    });

    /** Create and, if the method waits for the payer, let the simulated payer pay. */
    async function paid(amount = 3200): Promise<string> {
      const outTradeNo = uniqueNo('ct');
      const r = await t.gateway.create({
        outTradeNo,
        amount: { amount, currency: 'CNY' },
        subject: 'contract latte',
        method: t.method,
        payer: 'payer-1',
      });
      expect(['succeeded', 'pending']).toContain(r.status);
      if (r.status === 'pending') expect(t.bank.payPending(outTradeNo)).toBe(true);
      const q = await t.gateway.query(outTradeNo);
      expect(q.status).toBe('succeeded');
      return outTradeNo;
    }

    it('creates a payment and reports it through query with the recorded amount', async () => {
      const outTradeNo = await paid(4567);
      const q = await t.gateway.query(outTradeNo);
      expect(q).toMatchObject({ status: 'succeeded', outTradeNo, amount: { amount: 4567, currency: 'CNY' } });
      expect(q.gatewayTradeNo).toBeTruthy();
    });

    it('never charges twice for the same out_trade_no', async () => {
      const outTradeNo = await paid();
      const again = await t.gateway.create({
        outTradeNo,
        amount: { amount: 3200, currency: 'CNY' },
        subject: 'contract latte',
        method: t.method,
        payer: 'payer-1',
      });
      expect(['succeeded', 'failed']).toContain(again.status);
      expect(t.bank.groundTruth.filter((e) => e.type === 'capture' && e.outTradeNo === outTradeNo)).toHaveLength(1);
    });

    it('answers not_found for a payment it never saw', async () => {
      expect((await t.gateway.query(uniqueNo('nx'))).status).toBe('not_found');
    });

    it('refunds partially, then the rest, never more than was paid, and each refund key once', async () => {
      const outTradeNo = await paid(1000);
      const r1 = await t.gateway.refund({
        outTradeNo,
        outRefundNo: `${outTradeNo}r1`,
        amount: { amount: 400, currency: 'CNY' },
        total: { amount: 1000, currency: 'CNY' },
        reason: 'partial',
      });
      expect(['succeeded', 'pending']).toContain(r1.status);
      const again = await t.gateway.refund({
        outTradeNo,
        outRefundNo: `${outTradeNo}r1`,
        amount: { amount: 400, currency: 'CNY' },
        total: { amount: 1000, currency: 'CNY' },
        reason: 'partial',
      });
      expect(['succeeded', 'pending']).toContain(again.status);
      const over = await t.gateway.refund({
        outTradeNo,
        outRefundNo: `${outTradeNo}r2`,
        amount: { amount: 700, currency: 'CNY' },
        total: { amount: 1000, currency: 'CNY' },
        reason: 'too much',
      });
      expect(over.status).toBe('failed');
      const rest = await t.gateway.refund({
        outTradeNo,
        outRefundNo: `${outTradeNo}r3`,
        amount: { amount: 600, currency: 'CNY' },
        total: { amount: 1000, currency: 'CNY' },
        reason: 'rest',
      });
      expect(['succeeded', 'pending']).toContain(rest.status);
      const refunds = t.bank.groundTruth.filter((e) => e.type === 'refund' && e.outTradeNo === outTradeNo);
      expect(refunds.map((e) => e.amount.amount).sort((a, b) => a - b)).toEqual([400, 600]);
      expect((await t.gateway.queryRefund(outTradeNo, `${outTradeNo}r1`)).status).toBe('succeeded');
      expect((await t.gateway.queryRefund(outTradeNo, `${outTradeNo}r9`)).status).toBe('not_found');
    });

    it('refuses to refund a payment that was never paid', async () => {
      const r = await t.gateway.refund({
        outTradeNo: uniqueNo('nx'),
        outRefundNo: uniqueNo('rf'),
        amount: { amount: 100, currency: 'CNY' },
        total: { amount: 100, currency: 'CNY' },
        reason: 'x',
      });
      expect(r.status).toBe('failed');
    });

    it('closes a payment nobody paid, which can then never be paid', async () => {
      const outTradeNo = uniqueNo('cl');
      const created = await t.gateway.create({
        outTradeNo,
        amount: { amount: 500, currency: 'CNY' },
        subject: 'closed',
        method: t.method,
        payer: 'payer-1',
      });
      const closed = await t.gateway.close(outTradeNo);
      if (created.status === 'pending') {
        expect(closed.status).toBe('closed');
        expect(t.bank.payPending(outTradeNo)).toBe(false);
        expect((await t.gateway.query(outTradeNo)).status).toBe('closed');
      } else {
        // A method that charges at once cannot be closed after the charge: it stays paid.
        expect(closed.status).toBe('succeeded');
      }
      expect(t.bank.groundTruth.filter((e) => e.type === 'capture' && e.outTradeNo === outTradeNo).length).toBe(
        created.status === 'pending' ? 0 : 1,
      );
    });

    it('verifies a genuine payment notification and maps it to our terms', async () => {
      const outTradeNo = await paid(2100);
      const trade = t.bank.trade(outTradeNo);
      if (trade === undefined) throw new Error('no trade');
      const raw = await t.notificationFor({ kind: 'payment', trade });
      const v = await t.gateway.verifyNotification(raw);
      expect(v.ok).toBe(true);
      if (!v.ok) return;
      expect(v.notification).toMatchObject({
        kind: 'payment',
        outTradeNo,
        status: 'succeeded',
        amount: { amount: 2100, currency: 'CNY' },
      });
      expect(v.notification.eventId).toBeTruthy();
      const ack = t.gateway.acknowledge(true);
      expect(ack.status).toBeGreaterThanOrEqual(200);
      expect(ack.status).toBeLessThan(300);
    });

    it('refuses a tampered notification (amount changed after signing)', async () => {
      const outTradeNo = await paid(2200);
      const trade = t.bank.trade(outTradeNo);
      if (trade === undefined) throw new Error('no trade');
      const raw = await t.notificationFor({ kind: 'payment', trade });
      const tampered =
        t.tamperAmount === undefined
          ? { headers: raw.headers, body: raw.body.replace(/22\.00|2200/g, (m) => (m === '2200' ? '1' : '0.01')) }
          : await t.tamperAmount(raw, 1);
      expect(tampered.body).not.toBe(raw.body);
      const v = await t.gateway.verifyNotification(tampered);
      expect(v.ok).toBe(false);
      if (!v.ok) expect(['SIGNATURE_INVALID', 'DECRYPTION_FAILED']).toContain(v.code);
    });

    it('refuses garbage without throwing', async () => {
      for (const raw of [
        { headers: {}, body: '' },
        { headers: { 'content-type': 'application/json' }, body: '{"x":1}' },
        { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'sign=abc&out_trade_no=1' },
        { headers: {}, body: '\u0000\uffff' },
      ]) {
        const v = await t.gateway.verifyNotification(raw);
        expect(v.ok).toBe(false);
      }
      const nack = t.gateway.acknowledge(false);
      expect(nack.status === 200 || nack.status >= 400).toBe(true);
    });
  });
}

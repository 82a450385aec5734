import { AlipaySdk } from 'alipay-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AlipayRig, alipayRig, APP_ID } from '../../../test/support/alipay-fixture.js';
import { alipayNotificationFor } from './alipay-notification-for.js';
import { fenOf, yuanOf } from './alipay-protocol.js';

// The face spoken to by Alipay's own SDK (an independent client), plus its notification builder.
describe('simulator Alipay face', () => {
  let rig: AlipayRig;
  let sdk: AlipaySdk;
  beforeAll(async () => {
    rig = await alipayRig();
    sdk = new AlipaySdk({
      appId: APP_ID,
      privateKey: rig.appKeys.privatePem,
      alipayPublicKey: rig.alipayKeys.publicPem,
      gateway: rig.url,
    });
  });
  afterAll(async () => {
    await rig.close();
  });

  it('refuses another app_id, an unknown method and bad amounts with Alipay codes, signed', async () => {
    const other = new AlipaySdk({
      appId: '2021000000000999',
      privateKey: rig.appKeys.privatePem,
      alipayPublicKey: rig.alipayKeys.publicPem,
      gateway: rig.url,
    });
    expect(
      await other.exec('alipay.trade.query', { bizContent: { out_trade_no: 'a' } }, { validateSign: true }),
    ).toMatchObject({ code: '40002', subCode: 'isv.invalid-app-id' });
    // An unknown method is answered under error_response, which the SDK's text search cannot
    // locate for signature checking (it looks for the method's key), so it is read unverified.
    expect(await sdk.exec('alipay.trade.pay', { bizContent: { out_trade_no: 'a' } })).toMatchObject({
      code: '40002',
      subCode: 'isv.invalid-method',
    });
    for (const total of ['0.00', '-1', '1.001', '100000000.01', 'abc']) {
      expect(
        await sdk.exec(
          'alipay.trade.precreate',
          { bizContent: { out_trade_no: `bad${total.length}`, total_amount: total, subject: 's' } },
          { validateSign: true },
        ),
      ).toMatchObject({ code: '40004' });
    }
    expect(
      await sdk.exec('alipay.trade.query', { bizContent: { out_trade_no: 'never-seen' } }, { validateSign: true }),
    ).toMatchObject({ code: '40004', subCode: 'ACQ.TRADE_NOT_EXIST' });
  });

  it('reports a fully refunded trade as TRADE_CLOSED and refuses refunding more', async () => {
    const outTradeNo = `full${Date.now()}`;
    await sdk.exec('alipay.trade.precreate', {
      bizContent: { out_trade_no: outTradeNo, total_amount: '1.00', subject: 's' },
    });
    rig.bank.payPending(outTradeNo);
    expect(
      await sdk.exec(
        'alipay.trade.refund',
        { bizContent: { out_trade_no: outTradeNo, refund_amount: '1.00' } },
        { validateSign: true },
      ),
    ).toMatchObject({ code: '10000', refundFee: '1.00' });
    expect(
      await sdk.exec('alipay.trade.query', { bizContent: { out_trade_no: outTradeNo } }, { validateSign: true }),
    ).toMatchObject({ tradeStatus: 'TRADE_CLOSED' });
    expect(
      await sdk.exec('alipay.trade.refund', {
        bizContent: { out_trade_no: outTradeNo, refund_amount: '0.01', out_request_no: 'more' },
      }),
    ).toMatchObject({ code: '40004', subCode: 'ACQ.REFUND_AMT_NOT_EQUAL_TOTAL' });
  });

  it(
    'signs refund notifications with out_biz_no and the cumulative refund_fee, ' + 'and keeps notify_id per event',
    async () => {
      const outTradeNo = `rn${Date.now()}`;
      await rig.gateway.create({
        outTradeNo,
        amount: { amount: 500, currency: 'CNY' },
        subject: 's',
        method: 'alipay_qr',
        payer: 'p',
      });
      rig.bank.payPending(outTradeNo);
      await rig.gateway.refund({
        outTradeNo,
        outRefundNo: `${outTradeNo}a`,
        amount: { amount: 200, currency: 'CNY' },
        reason: 'r',
      });
      const trade = rig.bank.trade(outTradeNo);
      if (trade === undefined) throw new Error('no trade');
      const event = { kind: 'refund' as const, trade, outRefundNo: `${outTradeNo}a`, amount: 200, refundNo: 'x' };
      const opts = { appId: APP_ID, alipayPrivateKey: rig.alipayKeys.privateKey };
      const first = Object.fromEntries(new URLSearchParams(alipayNotificationFor(event, opts).body));
      const again = Object.fromEntries(
        new URLSearchParams(alipayNotificationFor(event, { ...opts, now: () => Date.now() + 240_000 }).body),
      );
      expect(first).toMatchObject({
        out_biz_no: `${outTradeNo}a`,
        refund_fee: '2.00',
        trade_status: 'TRADE_SUCCESS',
        total_amount: '5.00',
      });
      expect(again.notify_id).toBe(first.notify_id);
      expect(again.notify_time).not.toBe(first.notify_time);
      expect(sdk.checkNotifySignV2(first)).toBe(true);
      const v = await rig.gateway.verifyNotification({ headers: {}, body: new URLSearchParams(first).toString() });
      expect(v).toMatchObject({
        ok: true,
        notification: { kind: 'refund', outRefundNo: `${outTradeNo}a`, eventId: first.notify_id },
      });
    },
  );

  it('converts amounts with integers only', () => {
    expect([1, 10, 100, 8888, 10_000_000_000].map(yuanOf)).toEqual(['0.01', '0.10', '1.00', '88.88', '100000000.00']);
    expect(['0.01', '1', '1.5', '88.88', '100000000.00'].map(fenOf)).toEqual([1, 100, 150, 8888, 10_000_000_000]);
    for (const bad of ['0', '0.00', '00.10', '1.', '.1', '1e2', '100000000.01']) expect(fenOf(bad)).toBeUndefined();
  });
});

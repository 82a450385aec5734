import { AlipaySdk } from 'alipay-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentString, rawMember, rsa2Sign, rsa2Verify } from '../src/adapters/gateways/alipay/alipay-signing.js';
import { alipayNotificationFor } from '../src/simulator/alipay/alipay-notification-for.js';
import { type AlipayRig, alipayRig, APP_ID, rsaPair } from './support/alipay-fixture.js';

/**
 * Interoperability with the official Node SDK (`alipay-sdk`, Alipay's own code): what it signs,
 * our connector and simulator face verify; what they sign, it verifies. Both sides of our code
 * were written from the protocol description, independently of each other and of the SDK.
 */
describe('interop with alipay-sdk', () => {
  let rig: AlipayRig;
  /** The SDK as a merchant app: our app keys, the simulated Alipay's public key. */
  let merchantSdk: AlipaySdk;
  beforeAll(async () => {
    rig = await alipayRig();
    merchantSdk = new AlipaySdk({
      appId: APP_ID,
      privateKey: rig.appKeys.privatePem,
      alipayPublicKey: rig.alipayKeys.publicPem,
      gateway: rig.url,
      timeout: 5000,
    });
  });
  afterAll(async () => {
    await rig.close();
  });

  describe('what alipay-sdk signs, we verify', () => {
    it(
      'the face accepts SDK-signed calls, ' + 'and the SDK verifies every answer the face signs (validateSign)',
      async () => {
        const outTradeNo = `sdk${Date.now()}`;
        const created = await merchantSdk.exec(
          'alipay.trade.precreate',
          { bizContent: { out_trade_no: outTradeNo, total_amount: '88.88', subject: '拿铁 latte / 中杯' } },
          { validateSign: true },
        );
        expect(created).toMatchObject({ code: '10000', outTradeNo });
        // A URL to encode as the QR, as Alipay's is: the simulator's own pay page, where a person
        // plays the payer (Alipay's would be https://qr.alipay.com/…, opened by its app).
        expect(String(created.qrCode)).toMatch(/^https:\/\/\S+\/pay\/\S+$/);
        expect(rig.bank.payPending(outTradeNo)).toBe(true);

        const queried = await merchantSdk.exec(
          'alipay.trade.query',
          { bizContent: { out_trade_no: outTradeNo } },
          { validateSign: true },
        );
        expect(queried).toMatchObject({ code: '10000', tradeStatus: 'TRADE_SUCCESS', totalAmount: '88.88' });

        const refunded = await merchantSdk.exec(
          'alipay.trade.refund',
          { bizContent: { out_trade_no: outTradeNo, refund_amount: '0.01', out_request_no: `${outTradeNo}r` } },
          { validateSign: true },
        );
        expect(refunded).toMatchObject({ code: '10000', fundChange: 'Y', refundFee: '0.01' });
        const refundQuery = await merchantSdk.exec(
          'alipay.trade.fastpay.refund.query',
          { bizContent: { out_trade_no: outTradeNo, out_request_no: `${outTradeNo}r` } },
          { validateSign: true },
        );
        expect(refundQuery).toMatchObject({ code: '10000', refundAmount: '0.01', refundStatus: 'REFUND_SUCCESS' });
        // …and our connector reads the same trade the SDK created.
        expect(await rig.gateway.query(outTradeNo)).toMatchObject({
          status: 'succeeded',
          amount: { amount: 8888, currency: 'CNY' },
        });
      },
    );

    it('the face refuses the SDK when it signs with a key that is not the app key', async () => {
      const stranger = new AlipaySdk({
        appId: APP_ID,
        privateKey: rsaPair().privatePem,
        alipayPublicKey: rig.alipayKeys.publicPem,
        gateway: rig.url,
      });
      const r = await stranger.exec(
        'alipay.trade.query',
        { bizContent: { out_trade_no: 'x1' } },
        { validateSign: true },
      );
      expect(r).toMatchObject({ code: '40002', subCode: 'isv.invalid-signature' });
    });

    it("our content string is the SDK's: signing the SDK's parameters gives its signature byte for byte", () => {
      const order = merchantSdk.sdkExecute('alipay.trade.app.pay', {
        bizContent: { out_trade_no: 'o-1', total_amount: '0.01', subject: 'a+b=c & d%' },
        notify_url: 'https://shop.example/cb?x=1',
      });
      const params = Object.fromEntries(new URLSearchParams(order));
      expect(params.sign).toBeTruthy();
      expect(rsa2Verify(contentString(params), params.sign ?? '', rig.appKeys.publicKey)).toBe(true);
      expect(rsa2Sign(contentString(params), rig.appKeys.privateKey)).toBe(params.sign);
    });

    it(
      "our connector accepts a notification the SDK signed with Alipay's key (sign_type covered, " + 'as rsaCheckV2)',
      async () => {
        const alipaySide = new AlipaySdk({
          appId: APP_ID,
          privateKey: rig.alipayKeys.privatePem,
          alipayPublicKey: rig.appKeys.publicPem,
        });
        const body = alipaySide.sdkExecute('alipay.trade.notify', {
          notify_id: 'sdk-notify-1',
          notify_type: 'trade_status_sync',
          notify_time: '2026-11-24 16:00:00',
          out_trade_no: 'sdk-order-1',
          trade_no: '2026112422001400000000000001',
          trade_status: 'TRADE_SUCCESS',
          total_amount: '100000000.00',
          subject: '话费 100元 + tip',
        });
        const v = await rig.gateway.verifyNotification({
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body,
        });
        expect(v).toEqual({
          ok: true,
          notification: {
            kind: 'payment',
            eventId: 'sdk-notify-1',
            outTradeNo: 'sdk-order-1',
            gatewayTradeNo: '2026112422001400000000000001',
            status: 'succeeded',
            amount: { amount: 10_000_000_000, currency: 'CNY' },
            timestamp: Date.UTC(2026, 10, 24, 8, 0, 0),
          },
        });
        const tampered = body.replace('total_amount=100000000.00', 'total_amount=1.00');
        expect(tampered).not.toBe(body);
        expect(await rig.gateway.verifyNotification({ headers: {}, body: tampered })).toMatchObject({
          ok: false,
          code: 'SIGNATURE_INVALID',
        });
      },
    );

    it("our raw-node extraction agrees with the SDK's getSignStr on real-shaped answers", () => {
      // A real RSA2 sign is 344 base64 characters; the SDK's text search relies on that length.
      const sig = Buffer.alloc(256, 7).toString('base64');
      const bodies = [
        '{"alipay_trade_query_response":{"code":"10000","msg":"Success","trade_status":"TRADE_SUCCESS",' +
          '"total_amount":"88.88"},"sign":"abc"}',
        '{"alipay_trade_precreate_response":{"code":"10000","qr_code":"https:\\/\\/qr.alipay.com\\/bax0"},' +
          '"sign":"abc=="}',
        '{"alipay_trade_refund_response":{"code":"40004","msg":"Business Failed",' +
          '"sub_code":"ACQ.TRADE_NOT_EXIST","sub_msg":"交易不存在"},"sign":"x/y+z="}',
        '{"alipay_trade_query_response":{"code":"10000","fund_bill_list":[{"amount":"1.00",' +
          '"fund_channel":"ALIPAYACCOUNT"}]},"sign":"s"}',
      ];
      for (const raw of bodies.map((b) => b.replace(/"sign":"[^"]*"/, `"sign":"${sig}"`))) {
        const key = /^\{"(\w+_response)"/.exec(raw)?.[1] ?? '';
        expect(rawMember(raw, key)).toBe(merchantSdk.getSignStr(raw, key));
      }
    });
  });

  describe('what we sign, alipay-sdk verifies', () => {
    it(
      "the SDK verifies the face's notifications (checkNotifySign and checkNotifySignV2), " +
        'and refuses them tampered',
      async () => {
        const notifyFor = async (subject: string): Promise<Record<string, string>> => {
          const outTradeNo = `sdkn${Date.now()}${subject.length}`;
          await rig.gateway.create({
            outTradeNo,
            amount: { amount: 1, currency: 'CNY' },
            subject,
            method: 'alipay_qr',
            payer: 'p',
          });
          expect(rig.bank.payPending(outTradeNo)).toBe(true);
          const trade = rig.bank.trade(outTradeNo);
          if (trade === undefined) throw new Error('no trade');
          const raw = alipayNotificationFor(
            { kind: 'payment', trade },
            { appId: APP_ID, alipayPrivateKey: rig.alipayKeys.privateKey },
          );
          return Object.fromEntries(new URLSearchParams(raw.body));
        };
        const plain = await notifyFor('拿铁 + 糖');
        expect(plain.total_amount).toBe('0.01');
        expect(merchantSdk.checkNotifySign(plain)).toBe(true);
        expect(merchantSdk.checkNotifySignV2(plain)).toBe(true);
        // checkNotifySign URL-decodes values a second time and throws on a bare "%" (the SDK's
        // issue #45, why it added V2); V2 verifies the values as received.
        const percent = await notifyFor('100% 拿铁');
        expect(merchantSdk.checkNotifySignV2(percent)).toBe(true);
        expect(merchantSdk.checkNotifySignV2({ ...plain, total_amount: '100.00' })).toBe(false);
        expect(merchantSdk.checkNotifySignV2({ ...plain, app_id: '2021999999999999' })).toBe(false);
      },
    );

    it("the SDK's own sorted-parameter check accepts the requests our connector signs", () => {
      // An SDK instance whose "Alipay public key" is our app's public key checks our request
      // signatures with the SDK's code (the request string keeps sign_type, as its V2 check does).
      const asGateway = new AlipaySdk({
        appId: APP_ID,
        privateKey: rig.alipayKeys.privatePem,
        alipayPublicKey: rig.appKeys.publicPem,
      });
      const params = rig.gateway.signedParams(
        'alipay.trade.precreate',
        { out_trade_no: 'o-2', total_amount: '32.00', subject: '拿铁 & 蛋糕' },
        'https://shop.example/api/v1/callbacks/alipay',
      );
      expect(asGateway.checkNotifySignV2(params)).toBe(true);
      expect(
        asGateway.checkNotifySignV2({ ...params, biz_content: params.biz_content?.replace('32.00', '0.32') }),
      ).toBe(false);
    });
  });
});

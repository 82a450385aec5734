import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { connectorFor } from '../../../../test/support/wechatpay-harness.js';
import type { RawNotification } from '../../../ports/payment-gateway.js';
import { SimulatedGateway, type SimTrade } from '../../../simulator/simulated-gateway.js';
import { generateWechatpayKeys } from '../../../simulator/wechatpay/wechatpay-keys.js';
import { wechatpayNotificationFor } from '../../../simulator/wechatpay/wechatpay-notification.js';
import { platformSignatureHeaders } from '../../../simulator/wechatpay/wechatpay-sim-crypto.js';

// Callback verification: genuine ones map to our terms; each way of faking one is refused with
// its own code, and nothing throws.
const keys = generateWechatpayKeys();
const NOW = 1_760_000_000;
const gateway = connectorFor(keys, { fetch: () => Promise.reject(new Error('no network in this test')) });

const bank = new SimulatedGateway({ payerActionMethods: ['wechat_native'] });
async function paidTrade(no: string, amount: number): Promise<SimTrade> {
  await bank.create({
    outTradeNo: no,
    amount: { amount, currency: 'CNY' },
    subject: 's',
    method: 'wechat_native',
    payer: 'p',
  });
  bank.payPending(no);
  const t = bank.trade(no);
  if (t === undefined) throw new Error('no trade');
  return t;
}

function genuine(t: SimTrade, opts: Partial<Parameters<typeof wechatpayNotificationFor>[1]> = {}): RawNotification {
  const n = wechatpayNotificationFor(
    { kind: 'payment', trade: t },
    { ...keys, nowSec: () => NOW, nonce: 'ENVELOPE-NONCE', ...opts },
  );
  if (n === undefined) throw new Error('no notification');
  return n;
}

/** Re-sign a changed body with the real platform key: the signature is fine, the content is not. */
function resigned(body: string): RawNotification {
  return {
    headers: {
      'content-type': 'application/json',
      ...platformSignatureHeaders(body, keys.platformPrivateKey, keys.platformSerial, NOW, 'N2'),
    },
    body,
  };
}

describe('WeChat Pay callbacks', () => {
  it(
    'maps a genuine TRANSACTION.SUCCESS: event id, out_trade_no, transaction id, amount, ' +
      'envelope timestamp and nonce',
    async () => {
      const t = await paidTrade('wxn000001', 1888);
      const v = await gateway.verifyNotification(genuine(t));
      expect(v).toEqual({
        ok: true,
        notification: {
          kind: 'payment',
          eventId: `EV-${t.tradeNo}-SUCCESS`,
          outTradeNo: 'wxn000001',
          gatewayTradeNo: t.tradeNo,
          status: 'succeeded',
          amount: { amount: 1888, currency: 'CNY' },
          // success_time: when the payer paid, what dates the capture on the statement's day.
          paidAt: NOW * 1000,
          timestamp: NOW * 1000,
          nonce: 'ENVELOPE-NONCE',
        },
      });
    },
  );

  it('maps a genuine REFUND.SUCCESS', async () => {
    const t = await paidTrade('wxn000002', 1000);
    const r = await bank.refund({
      outTradeNo: 'wxn000002',
      outRefundNo: 'wxn000002-r1',
      amount: { amount: 300, currency: 'CNY' },
      reason: '',
    });
    const n = wechatpayNotificationFor(
      { kind: 'refund', trade: t, outRefundNo: 'wxn000002-r1', amount: 300, refundNo: r.gatewayRefundNo ?? '' },
      { ...keys, nowSec: () => NOW },
    );
    if (n === undefined) throw new Error('no notification');
    const v = await gateway.verifyNotification(n);
    expect(v).toMatchObject({
      ok: true,
      notification: {
        kind: 'refund',
        outTradeNo: 'wxn000002',
        outRefundNo: 'wxn000002-r1',
        gatewayRefundNo: r.gatewayRefundNo,
        status: 'succeeded',
        amount: { amount: 300, currency: 'CNY' },
      },
    });
  });

  it('WeChat sends nothing for a payment that did not succeed', async () => {
    await bank.create({
      outTradeNo: 'wxn000003',
      amount: { amount: 5, currency: 'CNY' },
      subject: 's',
      method: 'wechat_native',
      payer: 'p',
    });
    bank.payPending('wxn000003', true);
    const t = bank.trade('wxn000003');
    if (t === undefined) throw new Error('no trade');
    expect(wechatpayNotificationFor({ kind: 'payment', trade: t }, keys)).toBeUndefined();
  });

  it("refuses a forged signature (SIGNATURE_INVALID), including the platform's SIGNTEST probes", async () => {
    const raw = genuine(await paidTrade('wxn000004', 100));
    const forger = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const forged = {
      headers: {
        ...raw.headers,
        ...platformSignatureHeaders(raw.body, forger.privateKey, keys.platformSerial, NOW, 'N3'),
      },
      body: raw.body,
    };
    expect(await gateway.verifyNotification(forged)).toMatchObject({ ok: false, code: 'SIGNATURE_INVALID' });
    const probe = {
      headers: {
        ...raw.headers,
        'wechatpay-signature': `WECHATPAY/SIGNTEST/${raw.headers['wechatpay-signature'] ?? ''}`,
      },
      body: raw.body,
    };
    expect(await gateway.verifyNotification(probe)).toMatchObject({ ok: false, code: 'SIGNATURE_INVALID' });
    expect(
      await gateway.verifyNotification({
        headers: { ...raw.headers, 'wechatpay-signature-type': 'WECHATPAY2-SM2-WITH-SM3' },
        body: raw.body,
      }),
    ).toMatchObject({ ok: false, code: 'SIGNATURE_INVALID' });
    // A nonce or timestamp swapped after signing breaks the signature as well.
    expect(
      await gateway.verifyNotification({ headers: { ...raw.headers, 'wechatpay-nonce': 'OTHER' }, body: raw.body }),
    ).toMatchObject({ ok: false, code: 'SIGNATURE_INVALID' });
    expect(
      await gateway.verifyNotification({
        headers: { ...raw.headers, 'wechatpay-timestamp': String(NOW + 1) },
        body: raw.body,
      }),
    ).toMatchObject({ ok: false, code: 'SIGNATURE_INVALID' });
  });

  it("refuses an unknown serial (UNKNOWN_CERTIFICATE) even when the signature is by that serial's key", async () => {
    const t = await paidTrade('wxn000005', 100);
    const rogue = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const raw = genuine(t, { platformSerial: 'PUB_KEY_ID_ROGUE', platformPrivateKey: rogue.privateKey });
    expect(await gateway.verifyNotification(raw)).toMatchObject({ ok: false, code: 'UNKNOWN_CERTIFICATE' });
  });

  it(
    'refuses a resource whose GCM tag does not authenticate (DECRYPTION_FAILED), ' + 'even when the envelope is signed',
    async () => {
      const raw = genuine(await paidTrade('wxn000006', 100));
      const env = JSON.parse(raw.body) as { resource: { ciphertext: string; associated_data: string } };
      const sealed = Buffer.from(env.resource.ciphertext, 'base64');
      sealed[sealed.length - 1] = (sealed[sealed.length - 1] ?? 0) ^ 1;
      env.resource.ciphertext = sealed.toString('base64');
      expect(await gateway.verifyNotification(resigned(JSON.stringify(env)))).toMatchObject({
        ok: false,
        code: 'DECRYPTION_FAILED',
      });
      const aad = JSON.parse(raw.body) as { resource: { associated_data: string } };
      aad.resource.associated_data = 'refund';
      expect(await gateway.verifyNotification(resigned(JSON.stringify(aad)))).toMatchObject({
        ok: false,
        code: 'DECRYPTION_FAILED',
      });
    },
  );

  it('refuses a resource sealed with another API v3 key (DECRYPTION_FAILED)', async () => {
    const raw = genuine(await paidTrade('wxn000007', 100), {
      apiV3Key: Buffer.from('0123456789abcdef0123456789abcdef'),
    });
    expect(await gateway.verifyNotification(raw)).toMatchObject({ ok: false, code: 'DECRYPTION_FAILED' });
  });

  it('refuses a genuine callback for another merchant', async () => {
    const raw = genuine(await paidTrade('wxn000008', 100), { mchid: '1999999999' });
    expect(await gateway.verifyNotification(raw)).toMatchObject({ ok: false, code: 'MALFORMED_NOTIFICATION' });
  });

  it('refuses missing headers and unknown event types as malformed', async () => {
    const raw = genuine(await paidTrade('wxn000009', 100));
    const { 'wechatpay-serial': _s, ...noSerial } = raw.headers;
    expect(await gateway.verifyNotification({ headers: noSerial, body: raw.body })).toMatchObject({
      ok: false,
      code: 'MALFORMED_NOTIFICATION',
    });
    const env = JSON.parse(raw.body) as { event_type: string };
    env.event_type = 'MARKETING.COUPON';
    expect(await gateway.verifyNotification(resigned(JSON.stringify(env)))).toMatchObject({
      ok: false,
      code: 'MALFORMED_NOTIFICATION',
    });
  });

  it('answers as WeChat expects: 2xx to accept, 4xx with code FAIL to have it sent again', () => {
    expect(gateway.acknowledge(true)).toMatchObject({ status: 200 });
    const nack = gateway.acknowledge(false);
    expect(nack.status).toBe(400);
    expect(JSON.parse(nack.body)).toMatchObject({ code: 'FAIL' });
  });
});

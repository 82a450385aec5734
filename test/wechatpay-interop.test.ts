import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Aes, Formatter, Rsa, Wechatpay } from 'wechatpay-axios-plugin';
import { authorization } from '../src/adapters/gateways/wechatpay/wechatpay-signing.js';
import { wechatpayNotificationFor } from '../src/simulator/wechatpay/wechatpay-notification.js';
import { startWechatpayHarness, type WechatpayHarness } from './support/wechatpay-harness.js';

/**
 * Interoperability with `wechatpay-axios-plugin` (TheNorthMemory), a widely used independent
 * implementation of the v3 protocol: its client talks to our simulator face; what it signs and
 * seals our connector verifies and opens; what we sign and seal it verifies and opens.
 */
let h: WechatpayHarness;
let seq = 0;
const no = (p: string): string => `${p}${Date.now().toString(36)}${(seq++).toString(36)}`;

interface SdkError {
  response?: { status: number; data: { code?: string } };
  code?: string;
}

beforeAll(async () => {
  h = await startWechatpayHarness();
});
afterAll(async () => {
  await h.close();
});

const sdk = (over: { privateKey?: unknown; serial?: string; certs?: Record<string, unknown> } = {}): Wechatpay =>
  new Wechatpay({
    mchid: h.keys.mchid,
    serial: over.serial ?? h.keys.merchantSerialNo,
    privateKey: (over.privateKey ?? h.keys.merchantPrivateKey) as string,
    certs: (over.certs ?? { [h.keys.platformSerial]: h.keys.platformPublicKey }) as Record<string, string>,
    baseURL: `${h.baseUrl}/`,
  });

describe('wechatpay-axios-plugin client ⇄ our simulator face', () => {
  it('its signed Native order, query, refund and close are accepted, and it verifies every answer', async () => {
    const wx = sdk();
    const outTradeNo = no('sdk');
    const created = await wx.chain('v3/pay/transactions/native').post({
      appid: h.keys.appid,
      mchid: h.keys.mchid,
      description: 'Image形象店-深圳腾大-QQ公仔',
      out_trade_no: outTradeNo,
      notify_url: 'https://weixin.qq.com/',
      amount: { total: 1234, currency: 'CNY' },
    });
    expect(created.status).toBe(200);
    expect((created.data as unknown as { code_url: string }).code_url).toMatch(/^weixin:\/\/wxpay\/bizpayurl\?pr=/);
    expect(h.bank.payPending(outTradeNo)).toBe(true);
    const q = await wx
      .chain('v3/pay/transactions/out-trade-no/{out_trade_no}')
      .get({ params: { mchid: h.keys.mchid }, out_trade_no: outTradeNo });
    expect(q.data).toMatchObject({
      out_trade_no: outTradeNo,
      trade_state: 'SUCCESS',
      amount: { total: 1234, currency: 'CNY' },
    });
    const r = await wx.chain('v3/refund/domestic/refunds').post({
      out_trade_no: outTradeNo,
      out_refund_no: `${outTradeNo}R`,
      amount: { refund: 234, total: 1234, currency: 'CNY' },
    });
    expect(r.data).toMatchObject({ status: 'PROCESSING', amount: { refund: 234 } });
    // And our connector sees the same order book through the same face.
    expect(await h.gateway.queryRefund(outTradeNo, `${outTradeNo}R`)).toMatchObject({
      status: 'succeeded',
      amount: { amount: 234, currency: 'CNY' },
    });

    const open = no('sdk');
    await wx.chain('v3/pay/transactions/native').post({
      appid: h.keys.appid,
      mchid: h.keys.mchid,
      description: 'x',
      out_trade_no: open,
      notify_url: 'https://weixin.qq.com/',
      amount: { total: 1 },
    });
    const closed = await wx
      .chain('v3/pay/transactions/out-trade-no/{out_trade_no}/close')
      .post({ mchid: h.keys.mchid }, { out_trade_no: open });
    expect(closed.status).toBe(204);
    expect(h.bank.trade(open)?.status).toBe('closed');
  });

  it(
    'the face refuses its requests signed with another key or serial (401 SIGN_ERROR), ' + 'and nothing is created',
    async () => {
      const outTradeNo = no('bad');
      const body = {
        appid: h.keys.appid,
        mchid: h.keys.mchid,
        description: 'x',
        out_trade_no: outTradeNo,
        notify_url: 'https://weixin.qq.com/',
        amount: { total: 1 },
      };
      for (const wx of [
        sdk({ privateKey: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey }),
        sdk({ serial: 'ABCDEF0123456789' }),
      ]) {
        const e = (await wx
          .chain('v3/pay/transactions/native')
          .post(body)
          .then(
            () => ({}),
            (x: unknown) => x,
          )) as SdkError;
        expect(e.response?.status).toBe(401);
        expect(e.response?.data.code).toBe('SIGN_ERROR');
      }
      expect(h.bank.trade(outTradeNo)).toBeUndefined();
    },
  );

  it('it refuses the face when it trusts another platform key (so the face really signs)', async () => {
    const wx = sdk({
      certs: { [h.keys.platformSerial]: generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey },
    });
    // The SDK verifies 2xx answers only, so ask about an order that exists.
    const outTradeNo = no('ver');
    await h.gateway.create({
      outTradeNo,
      amount: { amount: 5, currency: 'CNY' },
      subject: 's',
      method: 'wechat_native',
      payer: 'p',
    });
    const e2 = (await wx
      .chain('v3/pay/transactions/out-trade-no/{out_trade_no}')
      .get({ params: { mchid: h.keys.mchid }, out_trade_no: outTradeNo })
      .then(
        () => ({}),
        (x: unknown) => x,
      )) as SdkError;
    expect(e2.code).toBe('EV3_RES_HEADER_SIGNATURE_DIGEST');
  });
});

describe('signatures and sealed resources, both directions', () => {
  it('what we sign (Authorization) the SDK verifies over its own request message', () => {
    const body = JSON.stringify({ mchid: h.keys.mchid });
    const header = authorization(
      { mchid: h.keys.mchid, serialNo: h.keys.merchantSerialNo, privateKey: h.keys.merchantPrivateKey },
      'POST',
      '/v3/pay/transactions/out-trade-no/x1/close',
      body,
      1_700_000_000,
      'NONCE123',
    );
    const signature = /signature="([^"]+)"/.exec(header)?.[1] ?? '';
    expect(
      Rsa.verify(
        Formatter.request('POST', '/v3/pay/transactions/out-trade-no/x1/close', 1_700_000_000, 'NONCE123', body),
        signature,
        h.keys.merchantPublicKey,
      ),
    ).toBe(true);
    expect(
      Rsa.verify(
        Formatter.request('POST', '/v3/pay/transactions/out-trade-no/x2/close', 1_700_000_000, 'NONCE123', body),
        signature,
        h.keys.merchantPublicKey,
      ),
    ).toBe(false);
  });

  it('a callback the SDK signs and seals, our connector verifies and opens', async () => {
    const outTradeNo = no('cb');
    const plain = JSON.stringify({
      appid: h.keys.appid,
      mchid: h.keys.mchid,
      out_trade_no: outTradeNo,
      transaction_id: '4200000001',
      trade_type: 'NATIVE',
      trade_state: 'SUCCESS',
      amount: { total: 888, payer_total: 888, currency: 'CNY', payer_currency: 'CNY' },
    });
    const iv = randomBytes(6).toString('hex');
    const ciphertext = Aes.AesGcm.encrypt(plain, h.keys.apiV3Key, iv, 'transaction');
    const body = JSON.stringify({
      id: 'EV-2018022511223320873',
      create_time: '2015-05-20T13:29:35+08:00',
      resource_type: 'encrypt-resource',
      event_type: 'TRANSACTION.SUCCESS',
      summary: '支付成功',
      resource: {
        original_type: 'transaction',
        algorithm: 'AEAD_AES_256_GCM',
        ciphertext,
        associated_data: 'transaction',
        nonce: iv,
      },
    });
    const ts = Formatter.timestamp();
    const nonce = Formatter.nonce();
    const headers = {
      'wechatpay-timestamp': String(ts),
      'wechatpay-nonce': nonce,
      'wechatpay-serial': h.keys.platformSerial,
      'wechatpay-signature': Rsa.sign(Formatter.response(ts, nonce, body), h.keys.platformPrivateKey),
    };
    const v = await h.gateway.verifyNotification({ headers, body });
    expect(v).toEqual({
      ok: true,
      notification: {
        kind: 'payment',
        eventId: 'EV-2018022511223320873',
        outTradeNo,
        gatewayTradeNo: '4200000001',
        status: 'succeeded',
        amount: { amount: 888, currency: 'CNY' },
        timestamp: ts * 1000,
        nonce,
      },
    });
  });

  it('a callback our simulator signs and seals, the SDK verifies and opens', async () => {
    const outTradeNo = no('cb');
    await h.gateway.create({
      outTradeNo,
      amount: { amount: 4321, currency: 'CNY' },
      subject: 's',
      method: 'wechat_native',
      payer: 'p',
    });
    h.bank.payPending(outTradeNo);
    const trade = h.bank.trade(outTradeNo);
    if (trade === undefined) throw new Error('no trade');
    const n = wechatpayNotificationFor({ kind: 'payment', trade }, h.keys);
    if (n === undefined) throw new Error('no notification');
    const ok = Rsa.verify(
      Formatter.response(n.headers['wechatpay-timestamp'] ?? '', n.headers['wechatpay-nonce'] ?? '', n.body),
      n.headers['wechatpay-signature'] ?? '',
      h.keys.platformPublicKey,
    );
    expect(ok).toBe(true);
    const { resource } = JSON.parse(n.body) as {
      resource: { ciphertext: string; nonce: string; associated_data: string };
    };
    const opened = JSON.parse(
      Aes.AesGcm.decrypt(resource.ciphertext, h.keys.apiV3Key, resource.nonce, resource.associated_data),
    ) as { out_trade_no: string; amount: { total: number } };
    expect(opened).toMatchObject({ out_trade_no: outTradeNo, amount: { total: 4321 } });
  });
});

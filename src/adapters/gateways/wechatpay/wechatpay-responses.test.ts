import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { connectorFor } from '../../../../test/support/wechatpay-harness.js';
import { GatewayRateLimitedError, GatewayUnknownOutcomeError } from '../../../ports/payment-gateway.js';
import { generateWechatpayKeys } from '../../../simulator/wechatpay/wechatpay-keys.js';
import { platformSignatureHeaders } from '../../../simulator/wechatpay/wechatpay-sim-crypto.js';
import {
  type WechatpayGateway,
  WechatpayRequestRejectedError,
  WechatpayResponseSignatureError,
} from './wechatpay-gateway.js';

// How the connector reads what comes back: each answer is scripted (a fake fetch), signed with
// the platform key unless the case is about signatures.
const keys = generateWechatpayKeys();
const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
let now = 1_760_000_000;

interface Scripted {
  readonly status: number;
  readonly body?: unknown;
  readonly sign?: 'platform' | 'none' | 'other-key' | 'other-serial' | 'tampered';
  readonly headers?: Record<string, string>;
}

function connector(
  script: (url: string, init: RequestInit) => Scripted | Promise<Scripted>,
  seen: string[] = [],
  timeoutMs = 5000,
): WechatpayGateway {
  const fake = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = input instanceof Request ? input.url : String(input);
    seen.push(`${init?.method ?? 'GET'} ${new URL(url).pathname}`);
    const s = await script(url, init ?? {});
    const text = s.body === undefined ? '' : JSON.stringify(s.body);
    const mode = s.sign ?? 'platform';
    const signed =
      mode === 'none'
        ? {}
        : platformSignatureHeaders(
            mode === 'tampered' ? `${text} ` : text,
            mode === 'other-key' ? other.privateKey : keys.platformPrivateKey,
            mode === 'other-serial' ? 'PUB_KEY_ID_SOMEONE_ELSE' : keys.platformSerial,
            now,
            'N0NCE',
          );
    return new Response(s.status === 204 ? null : text, {
      status: s.status,
      headers: { ...signed, ...(s.headers ?? {}) },
    });
  };
  return connectorFor(keys, { baseUrl: 'https://api.mch.weixin.qq.com', nowSec: () => now, timeoutMs, fetch: fake });
}

const trade = (state: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  appid: keys.appid,
  mchid: keys.mchid,
  out_trade_no: 'o123456',
  trade_state: state,
  amount: { total: 990, currency: 'CNY' },
  ...extra,
});

describe('WeChat Pay connector: reading answers', () => {
  it.each([
    ['SUCCESS', 'succeeded', undefined],
    ['REFUND', 'succeeded', undefined],
    ['NOTPAY', 'pending', undefined],
    ['USERPAYING', 'pending', undefined],
    ['CLOSED', 'closed', 'CLOSED'],
    ['REVOKED', 'closed', 'REVOKED'],
    ['PAYERROR', 'failed', 'PAYERROR'],
  ])('trade_state %s → %s', async (state, status, failureCode) => {
    const r = await connector(() => ({ status: 200, body: trade(state, { transaction_id: '4200001' }) })).query(
      'o123456',
    );
    expect(r).toEqual({
      status,
      outTradeNo: 'o123456',
      gatewayTradeNo: '4200001',
      amount: { amount: 990, currency: 'CNY' },
      ...(failureCode === undefined ? {} : { failureCode }),
    });
  });

  it.each([
    ['SUCCESS', 'succeeded', undefined],
    ['PROCESSING', 'pending', undefined],
    ['ABNORMAL', 'pending', 'REFUND_ABNORMAL'],
    ['CLOSED', 'failed', 'REFUND_CLOSED'],
  ])('refund status %s → %s', async (state, status, failureCode) => {
    const r = await connector(() => ({
      status: 200,
      body: {
        out_refund_no: 'r1',
        out_trade_no: 'o123456',
        refund_id: '5030',
        status: state,
        amount: { refund: 300, total: 990, currency: 'CNY' },
      },
    })).queryRefund('o123456', 'r1');
    expect(r).toEqual({
      status,
      outRefundNo: 'r1',
      gatewayRefundNo: '5030',
      amount: { amount: 300, currency: 'CNY' },
      ...(failureCode === undefined ? {} : { failureCode }),
    });
  });

  it.each(['ORDER_NOT_EXIST', 'RESOURCE_NOT_EXISTS'])('404 %s → not_found', async (code) => {
    const gw = connector(() => ({ status: 404, body: { code, message: '订单不存在' } }));
    expect((await gw.query('o123456')).status).toBe('not_found');
    expect((await gw.queryRefund('o123456', 'r1')).status).toBe('not_found');
    expect((await gw.close('o123456')).status).toBe('not_found');
  });

  it.each([500, 502, 503, 504])('%i → unknown outcome (resolve by query, never pay again)', async (status) => {
    const gw = connector(() => ({ status, body: { code: 'SYSTEM_ERROR', message: '系统错误' } }));
    await expect(
      gw.create({
        outTradeNo: 'o123456',
        amount: { amount: 990, currency: 'CNY' },
        subject: 's',
        method: 'wechat_native',
        payer: 'u',
      }),
    ).rejects.toBeInstanceOf(GatewayUnknownOutcomeError);
    await expect(
      gw.refund({
        outTradeNo: 'o123456',
        outRefundNo: 'r1',
        amount: { amount: 1, currency: 'CNY' },
        total: { amount: 990, currency: 'CNY' },
        reason: '',
      }),
    ).rejects.toBeInstanceOf(GatewayUnknownOutcomeError);
  });

  it('a redirect is not followed: the outcome is unknown', async () => {
    const init: RequestInit[] = [];
    const gw = connector((_u, i) => {
      init.push(i);
      return { status: 302, sign: 'none', headers: { location: 'https://elsewhere.example/' } };
    });
    await expect(
      gw.create({
        outTradeNo: 'o123456',
        amount: { amount: 990, currency: 'CNY' },
        subject: 's',
        method: 'wechat_native',
        payer: 'u',
      }),
    ).rejects.toBeInstanceOf(GatewayUnknownOutcomeError);
    expect(init[0]?.redirect).toBe('manual');
  });

  it('a timeout or a reset is an unknown outcome', async () => {
    const slow = connector(
      (_u, init) =>
        new Promise<Scripted>((_r, reject) =>
          init.signal?.addEventListener('abort', () => reject(init.signal?.reason as Error)),
        ),
      [],
      50,
    );
    await expect(slow.query('o123456')).rejects.toBeInstanceOf(GatewayUnknownOutcomeError);
    const reset = connector(() => Promise.reject(new TypeError('fetch failed')));
    await expect(reset.close('o123456')).rejects.toBeInstanceOf(GatewayUnknownOutcomeError);
  });

  it('429 → rate limited with Retry-After, nothing done', async () => {
    const gw = connector(() => ({
      status: 429,
      body: { code: 'FREQUENCY_LIMITED', message: '频率超限' },
      headers: { 'retry-after': '3' },
    }));
    const e = await gw.query('o123456').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(GatewayRateLimitedError);
    expect((e as GatewayRateLimitedError).retryAfterMs).toBe(3000);
  });

  it.each([
    ['none', 'MALFORMED'],
    ['other-key', 'SIGNATURE_INVALID'],
    ['other-serial', 'UNKNOWN_CERTIFICATE'],
    ['tampered', 'SIGNATURE_INVALID'],
  ] as const)('a 2xx signed %s is not believed (%s): unknown outcome', async (sign, code) => {
    const gw = connector(() => ({ status: 200, body: trade('SUCCESS', { transaction_id: '4200001' }), sign }));
    const e = await gw.query('o123456').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(WechatpayResponseSignatureError);
    expect(e).toBeInstanceOf(GatewayUnknownOutcomeError);
    expect((e as WechatpayResponseSignatureError).code).toBe(code);
  });

  it('a signed error must verify too; an unsigned 4xx is read as a refusal', async () => {
    const forged = connector(() => ({
      status: 400,
      body: { code: 'INVALID_REQUEST', message: 'x' },
      sign: 'other-key',
    }));
    await expect(
      forged.refund({
        outTradeNo: 'o123456',
        outRefundNo: 'r1',
        amount: { amount: 1, currency: 'CNY' },
        total: { amount: 990, currency: 'CNY' },
        reason: '',
      }),
    ).rejects.toBeInstanceOf(WechatpayResponseSignatureError);
    const plain = connector(() => ({
      status: 400,
      body: { code: 'INVALID_REQUEST', message: '申请退款金额超过订单可退金额' },
      sign: 'none',
    }));
    expect(
      await plain.refund({
        outTradeNo: 'o123456',
        outRefundNo: 'r1',
        amount: { amount: 1, currency: 'CNY' },
        total: { amount: 990, currency: 'CNY' },
        reason: '',
      }),
    ).toEqual({ status: 'failed', outRefundNo: 'r1', failureCode: 'INVALID_REQUEST' });
  });

  it('a create answered ORDERPAID reports the existing order (found by query), not a failure', async () => {
    const seen: string[] = [];
    const gw = connector(
      (url) =>
        url.includes('/native')
          ? { status: 400, body: { code: 'ORDERPAID', message: '该订单已支付' } }
          : { status: 200, body: trade('SUCCESS', { transaction_id: '4200001' }) },
      seen,
    );
    const r = await gw.create({
      outTradeNo: 'o123456',
      amount: { amount: 990, currency: 'CNY' },
      subject: 's',
      method: 'wechat_native',
      payer: 'u',
    });
    expect(r).toMatchObject({ status: 'succeeded', gatewayTradeNo: '4200001' });
    expect(seen).toEqual(['POST /v3/pay/transactions/native', 'GET /v3/pay/transactions/out-trade-no/o123456']);
    // …but an out_trade_no already used for another amount is not our order.
    const reused = connector((url) =>
      url.includes('/native')
        ? { status: 400, body: { code: 'OUT_TRADE_NO_USED', message: '商户订单号重复' } }
        : { status: 200, body: trade('NOTPAY') },
    );
    expect(
      await reused.create({
        outTradeNo: 'o123456',
        amount: { amount: 1, currency: 'CNY' },
        subject: 's',
        method: 'wechat_native',
        payer: 'u',
      }),
    ).toEqual({ status: 'failed', outTradeNo: 'o123456', failureCode: 'OUT_TRADE_NO_USED' });
  });

  it('refuses what WeChat Pay cannot take without calling it', async () => {
    const seen: string[] = [];
    const gw = connector(() => ({ status: 500 }), seen);
    expect(
      (
        await gw.create({
          outTradeNo: 'o123456',
          amount: { amount: 990, currency: 'USD' },
          subject: 's',
          method: 'wechat_native',
          payer: 'u',
        })
      ).failureCode,
    ).toBe('CURRENCY_NOT_SUPPORTED');
    expect(
      (
        await gw.create({
          outTradeNo: 'o123456',
          amount: { amount: 990, currency: 'CNY' },
          subject: 's',
          method: 'alipay_qr',
          payer: 'u',
        })
      ).failureCode,
    ).toBe('METHOD_NOT_SUPPORTED');
    expect(seen).toEqual([]);
  });

  it('a query 4xx that is not "no such order" throws for a person to look at, never reads as failed', async () => {
    const gw = connector(() => ({ status: 400, body: { code: 'PARAM_ERROR', message: 'mchid不正确' } }));
    await expect(gw.query('o123456')).rejects.toBeInstanceOf(WechatpayRequestRejectedError);
  });

  it('sends what the API expects: amount in fen, total with refunds, notify_url, a signed Authorization', async () => {
    const bodies: unknown[] = [];
    const auths: string[] = [];
    const gw = connector((url, init) => {
      bodies.push(JSON.parse(init.body as string));
      auths.push(String((init.headers as Record<string, string>).authorization));
      return url.includes('/native')
        ? { status: 200, body: { code_url: 'weixin://wxpay/bizpayurl?pr=abc' } }
        : {
            status: 200,
            body: {
              out_refund_no: 'r1',
              out_trade_no: 'o123456',
              refund_id: '5030',
              status: 'PROCESSING',
              amount: { refund: 300, total: 990, currency: 'CNY' },
            },
          };
    });
    expect(
      await gw.create({
        outTradeNo: 'o123456',
        amount: { amount: 990, currency: 'CNY' },
        subject: '中杯拿铁',
        method: 'wechat_native',
        payer: 'u',
      }),
    ).toEqual({
      status: 'pending',
      outTradeNo: 'o123456',
      amount: { amount: 990, currency: 'CNY' },
      payUrl: 'weixin://wxpay/bizpayurl?pr=abc',
    });
    expect(
      await gw.refund({
        outTradeNo: 'o123456',
        outRefundNo: 'r1',
        amount: { amount: 300, currency: 'CNY' },
        total: { amount: 990, currency: 'CNY' },
        reason: '退一部分',
      }),
    ).toMatchObject({ status: 'pending', gatewayRefundNo: '5030' });
    expect(bodies).toEqual([
      {
        appid: keys.appid,
        mchid: keys.mchid,
        description: '中杯拿铁',
        out_trade_no: 'o123456',
        notify_url: 'https://merchant.example/cb',
        amount: { total: 990, currency: 'CNY' },
      },
      {
        out_trade_no: 'o123456',
        out_refund_no: 'r1',
        reason: '退一部分',
        notify_url: 'https://merchant.example/cb',
        amount: { refund: 300, total: 990, currency: 'CNY' },
      },
    ]);
    expect(auths[0]).toMatch(
      new RegExp(
        '^WECHATPAY2-SHA256-RSA2048 mchid="1900000109",nonce_str="[A-Za-z0-9]{32}",signature="[A-Za-z0-9+/=]+",' +
          'timestamp="1760000000",serial_no="[0-9A-F]{40}"$',
      ),
    );
    now += 1;
  });
});

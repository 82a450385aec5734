import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWechatpayHarness, type WechatpayHarness } from '../../../test/support/wechatpay-harness.js';
import { parseAuthorization } from './wechatpay-sim-crypto.js';

// The face's own rules, through our connector over HTTP (the interop suite covers a foreign client).
let h: WechatpayHarness;
let seq = 0;
const no = (): string => `face${Date.now().toString(36)}${(seq++).toString(36)}`;
const cny = (amount: number) => ({ amount, currency: 'CNY' as const });

beforeAll(async () => {
  h = await startWechatpayHarness();
});
afterAll(async () => {
  await h.close();
});

describe('WeChat Pay simulator face', () => {
  it('parses Authorization parameters in any order and refuses a malformed header', () => {
    const a = parseAuthorization(
      'WECHATPAY2-SHA256-RSA2048 serial_no="S",timestamp="1",nonce_str="N",signature="X=",mchid="M"',
    );
    expect(a).toEqual({ mchid: 'M', nonce: 'N', signature: 'X=', timestamp: '1', serialNo: 'S' });
    expect(
      parseAuthorization(
        'WECHATPAY2-SHA256-RSA2048 mchid="M",mchid="M",nonce_str="N",signature="X",timestamp="1",serial_no="S"',
      ),
    ).toBeUndefined();
    expect(
      parseAuthorization('WECHATPAY2-SHA256-RSA2048 mchid="M",nonce_str="N",signature="X",timestamp="1"'),
    ).toBeUndefined();
    expect(parseAuthorization('Bearer abc')).toBeUndefined();
    expect(parseAuthorization('WECHATPAY2-SHA256-RSA2048 mchid="M" junk')).toBeUndefined();
  });

  it('refuses a request signed more than 5 minutes away from its clock, and creates nothing', async () => {
    const outTradeNo = no();
    const stale = h.connector({ nowSec: () => Math.floor(Date.now() / 1000) - 301 });
    expect(
      await stale.create({ outTradeNo, amount: cny(100), subject: 's', method: 'wechat_native', payer: 'p' }),
    ).toEqual({ status: 'failed', outTradeNo, failureCode: 'SIGN_ERROR' });
    expect(h.bank.trade(outTradeNo)).toBeUndefined();
  });

  it('refuses another merchant serial', async () => {
    const outTradeNo = no();
    const r = await h
      .connector({ merchantSerialNo: '00AA' })
      .create({ outTradeNo, amount: cny(100), subject: 's', method: 'wechat_native', payer: 'p' });
    expect(r.failureCode).toBe('SIGN_ERROR');
    expect(h.bank.trade(outTradeNo)).toBeUndefined();
  });

  it('answers a repeated Native order with the same code_url, and refuses the number for another amount', async () => {
    const outTradeNo = no();
    const a = await h.gateway.create({
      outTradeNo,
      amount: cny(300),
      subject: 'latte',
      method: 'wechat_native',
      payer: 'p',
    });
    const b = await h.gateway.create({
      outTradeNo,
      amount: cny(300),
      subject: 'latte',
      method: 'wechat_native',
      payer: 'p',
    });
    expect(a.status).toBe('pending');
    expect(b.payUrl).toBe(a.payUrl);
    expect(
      await h.gateway.create({ outTradeNo, amount: cny(301), subject: 'latte', method: 'wechat_native', payer: 'p' }),
    ).toMatchObject({ status: 'failed', failureCode: 'OUT_TRADE_NO_USED' });
    expect(h.bank.groundTruth.filter((e) => e.outTradeNo === outTradeNo)).toHaveLength(0);
  });

  it('a paid order cannot be closed: close answers its paid state', async () => {
    const outTradeNo = no();
    await h.gateway.create({ outTradeNo, amount: cny(300), subject: 'latte', method: 'wechat_native', payer: 'p' });
    h.bank.payPending(outTradeNo);
    expect(await h.gateway.close(outTradeNo)).toMatchObject({ status: 'succeeded', amount: cny(300) });
  });

  it('refunds need the order total and a refund number used once for one amount', async () => {
    const outTradeNo = no();
    await h.gateway.create({ outTradeNo, amount: cny(1000), subject: 'latte', method: 'wechat_native', payer: 'p' });
    h.bank.payPending(outTradeNo);
    const wrongTotal = await h.gateway.refund({
      outTradeNo,
      outRefundNo: `${outTradeNo}a`,
      amount: cny(100),
      total: cny(999),
      reason: '',
    });
    expect(wrongTotal).toMatchObject({ status: 'failed', failureCode: 'INVALID_REQUEST' });
    // Without a total, the connector asks the order for it.
    expect(
      await h.gateway.refund({ outTradeNo, outRefundNo: `${outTradeNo}b`, amount: cny(100), reason: '' }),
    ).toMatchObject({ status: 'pending', amount: cny(100) });
    expect(
      await h.gateway.refund({
        outTradeNo,
        outRefundNo: `${outTradeNo}b`,
        amount: cny(200),
        total: cny(1000),
        reason: '',
      }),
    ).toMatchObject({ status: 'failed', failureCode: 'INVALID_REQUEST' });
    expect(
      h.bank.groundTruth.filter((e) => e.type === 'refund' && e.outTradeNo === outTradeNo).map((e) => e.amount.amount),
    ).toEqual([100]);
    expect(await h.gateway.query(outTradeNo)).toMatchObject({ status: 'succeeded' });
  });

  it("the order book failing is the platform's 500: an unknown outcome for the connector", async () => {
    const broken = await startWechatpayHarness();
    try {
      broken.bank.chaos.set({ errorRate: 1 });
      await expect(
        broken.gateway.create({ outTradeNo: no(), amount: cny(1), subject: 's', method: 'wechat_native', payer: 'p' }),
      ).rejects.toThrow(/answered 500/);
    } finally {
      await broken.close();
    }
  });
});

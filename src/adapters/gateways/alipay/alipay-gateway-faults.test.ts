import { createSign } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayRateLimitedError, GatewayUnknownOutcomeError } from '../../../ports/payment-gateway.js';
import { type AlipayRig, alipayRig, APP_ID, rsaPair } from '../../../../test/support/alipay-fixture.js';
import { AlipayGateway, AlipayRequestRefusedError } from './alipay-gateway.js';

let seq = 0;
const no = (p: string): string => `${p}${Date.now().toString(36)}${seq++}`;
const cny = (amount: number): { amount: number; currency: 'CNY' } => ({ amount, currency: 'CNY' });

describe('Alipay connector: refusals, unknown outcomes and tampering', () => {
  let rig: AlipayRig;
  let canned: FastifyInstance;
  let cannedUrl: string;
  /** What the canned server answers next: status, headers, body. */
  let next: { status: number; headers?: Record<string, string>; body: string; delayMs?: number } = {
    status: 200,
    body: '',
  };

  beforeAll(async () => {
    rig = await alipayRig();
    // Some answers here are abandoned by the client mid-way (timeouts): do not wait for them.
    canned = Fastify({ forceCloseConnections: true });
    canned.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_r, body, done) =>
      done(null, body),
    );
    canned.post('/gateway.do', async (_req, reply) => {
      if (next.delayMs !== undefined) await new Promise((r) => setTimeout(r, next.delayMs));
      return reply
        .code(next.status)
        .headers(next.headers ?? {})
        .type('application/json')
        .send(next.body);
    });
    cannedUrl = `${await canned.listen({ host: '127.0.0.1', port: 0 })}/gateway.do`;
  });
  afterAll(async () => {
    await canned.close();
    await rig.close();
  });

  const connector = (over: Partial<ConstructorParameters<typeof AlipayGateway>[0]> = {}): AlipayGateway =>
    new AlipayGateway({
      appId: APP_ID,
      privateKey: rig.appKeys.privateKey,
      alipayPublicKey: rig.alipayKeys.publicKey,
      gatewayUrl: rig.url,
      timeoutMs: 2000,
      ...over,
    });
  /** An answer signed by the simulated Alipay's key over `nodeText`, written as given. */
  const signedBody = (key: string, nodeText: string): string =>
    `{"${key}":${nodeText},` +
    `"sign":"${createSign('RSA-SHA256').update(nodeText).sign(rig.alipayKeys.privateKey, 'base64')}"}`;

  it(
    'a wrong app_id is a refused create (nothing opened) ' + 'and a refused query (not a statement about the payment)',
    async () => {
      const g = connector({ appId: '2021000000000999' });
      const outTradeNo = no('app');
      expect(
        await g.create({ outTradeNo, amount: cny(100), subject: 's', method: 'alipay_qr', payer: 'p' }),
      ).toMatchObject({ status: 'failed', failureCode: 'isv.invalid-app-id' });
      expect(rig.bank.trade(outTradeNo)).toBeUndefined();
      await expect(g.query(outTradeNo)).rejects.toBeInstanceOf(AlipayRequestRefusedError);
    },
  );

  it('requests signed with a key that is not the app key are refused by the face', async () => {
    const outTradeNo = no('key');
    const g = connector({ privateKey: rsaPair().privateKey });
    expect(
      await g.create({ outTradeNo, amount: cny(100), subject: 's', method: 'alipay_qr', payer: 'p' }),
    ).toMatchObject({ status: 'failed', failureCode: 'isv.invalid-signature' });
    expect(rig.bank.trade(outTradeNo)).toBeUndefined();
  });

  it('a request altered in transit (biz_content changed after signing) is refused by the face', async () => {
    const params = rig.gateway.signedParams('alipay.trade.precreate', {
      out_trade_no: no('mitm'),
      total_amount: '32.00',
      subject: 's',
    });
    const body = new URLSearchParams({ ...params, biz_content: (params.biz_content ?? '').replace('32.00', '0.01') });
    const res = await fetch(rig.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
    });
    expect(await res.text()).toContain('"sub_code":"isv.invalid-signature"');
  });

  it('answers that do not verify with the Alipay public key are unknown outcomes, never believed', async () => {
    const g = connector({ alipayPublicKey: rsaPair().publicKey });
    await expect(g.query(no('pk'))).rejects.toBeInstanceOf(GatewayUnknownOutcomeError);
  });

  it('an answer altered in transit (amount changed after Alipay signed it) is an unknown outcome', async () => {
    const outTradeNo = no('tamper');
    const node =
      `{"code":"10000","msg":"Success","out_trade_no":"${outTradeNo}","trade_no":"t1",` +
      `"trade_status":"TRADE_SUCCESS","total_amount":"32.00"}`;
    next = { status: 200, body: signedBody('alipay_trade_query_response', node).replace('"32.00"', '"0.01"') };
    await expect(connector({ gatewayUrl: cannedUrl }).query(outTradeNo)).rejects.toBeInstanceOf(
      GatewayUnknownOutcomeError,
    );
    // The same answer untouched is believed, in fen.
    next = { status: 200, body: signedBody('alipay_trade_query_response', node) };
    expect(await connector({ gatewayUrl: cannedUrl }).query(outTradeNo)).toMatchObject({
      status: 'succeeded',
      amount: cny(3200),
    });
  });

  it('a genuine answer about another trade is an unknown outcome', async () => {
    next = {
      status: 200,
      body: signedBody(
        'alipay_trade_query_response',
        '{"code":"10000","out_trade_no":"someone-else","trade_status":"TRADE_SUCCESS","total_amount":"1.00"}',
      ),
    };
    await expect(connector({ gatewayUrl: cannedUrl }).query(no('other'))).rejects.toBeInstanceOf(
      GatewayUnknownOutcomeError,
    );
  });

  it('an answer whose node key appears twice is read from the occurrence that was verified', async () => {
    const outTradeNo = no('dup');
    const genuine =
      `{"code":"10000","out_trade_no":"${outTradeNo}","trade_status":"WAIT_BUYER_PAY",` + `"total_amount":"5.00"}`;
    const body = signedBody('alipay_trade_query_response', genuine).replace(
      /}$/,
      `,"alipay_trade_query_response":{"code":"10000","out_trade_no":"${outTradeNo}","trade_status":"TRADE_SUCCESS",` +
        `"total_amount":"5.00"}}`,
    );
    next = { status: 200, body };
    expect((await connector({ gatewayUrl: cannedUrl }).query(outTradeNo)).status).toBe('pending');
  });

  it.each([
    ['HTTP 502', { status: 502, body: 'bad gateway' }],
    ['HTTP 200 that is not JSON', { status: 200, body: '<html>' }],
    ['20000 service unavailable', { status: 200, body: '' }],
    ['SYSTEM_ERROR under 40004', { status: 200, body: '' }],
    ['10003 still processing', { status: 200, body: '' }],
    ['an unknown trade_status', { status: 200, body: '' }],
  ])('%s is an unknown outcome', async (label, answer) => {
    const outTradeNo = no('u');
    const nodes: Record<string, string> = {
      '20000 service unavailable':
        '{"code":"20000","msg":"Service Currently Unavailable","sub_code":"isp.unknow-error"}',
      'SYSTEM_ERROR under 40004': '{"code":"40004","msg":"Business Failed","sub_code":"ACQ.SYSTEM_ERROR"}',
      '10003 still processing': `{"code":"10003","msg":"ORDER_SUCCESS_PAY_INPROCESS","out_trade_no":"${outTradeNo}"}`,
      'an unknown trade_status': `{"code":"10000","out_trade_no":"${outTradeNo}","trade_status":"TRADE_PAID_LATER"}`,
    };
    const node = nodes[label];
    next = node === undefined ? answer : { status: 200, body: signedBody('alipay_trade_query_response', node) };
    await expect(connector({ gatewayUrl: cannedUrl }).query(outTradeNo)).rejects.toBeInstanceOf(
      GatewayUnknownOutcomeError,
    );
  });

  it('a late answer is an unknown outcome after timeout_ms', async () => {
    next = { status: 200, body: '{}', delayMs: 1500 };
    const started = Date.now();
    await expect(connector({ gatewayUrl: cannedUrl, timeoutMs: 200 }).query(no('late'))).rejects.toBeInstanceOf(
      GatewayUnknownOutcomeError,
    );
    expect(Date.now() - started).toBeLessThan(1400);
  });

  it('429 is "slow down", with Retry-After in ms', async () => {
    next = { status: 429, headers: { 'retry-after': '2' }, body: '' };
    const e: unknown = await connector({ gatewayUrl: cannedUrl })
      .query(no('rl'))
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(GatewayRateLimitedError);
    expect((e as GatewayRateLimitedError).retryAfterMs).toBe(2000);
  });

  it('nothing listening is an unknown outcome', async () => {
    await expect(connector({ gatewayUrl: 'http://127.0.0.1:9/gateway.do' }).query(no('down'))).rejects.toBeInstanceOf(
      GatewayUnknownOutcomeError,
    );
  });

  it(
    'accept-then-hang: the precreate took effect, the answer never came; ' +
      'query finds it and a repeat opens nothing new',
    async () => {
      const outTradeNo = no('hang');
      rig.bank.chaos.freeze(1);
      const g = connector({ timeoutMs: 300 });
      await expect(
        g.create({ outTradeNo, amount: cny(3200), subject: 's', method: 'alipay_qr', payer: 'p' }),
      ).rejects.toBeInstanceOf(GatewayUnknownOutcomeError);
      rig.bank.chaos.thaw();
      expect(await g.query(outTradeNo)).toMatchObject({ status: 'pending', amount: cny(3200) });
      expect(
        (await g.create({ outTradeNo, amount: cny(3200), subject: 's', method: 'alipay_qr', payer: 'p' })).status,
      ).toBe('pending');
      expect(rig.bank.payPending(outTradeNo)).toBe(true);
      expect(
        await g.create({ outTradeNo, amount: cny(3200), subject: 's', method: 'alipay_qr', payer: 'p' }),
      ).toMatchObject({ status: 'succeeded', amount: cny(3200) });
      expect(rig.bank.groundTruth.filter((e) => e.type === 'capture' && e.outTradeNo === outTradeNo)).toHaveLength(1);
    },
  );

  it('the order book failing before any effect is an unknown outcome with nothing opened', async () => {
    const outTradeNo = no('err');
    rig.bank.chaos.set({ errorRate: 1 });
    try {
      await expect(
        rig.gateway.create({ outTradeNo, amount: cny(100), subject: 's', method: 'alipay_qr', payer: 'p' }),
      ).rejects.toBeInstanceOf(GatewayUnknownOutcomeError);
    } finally {
      rig.bank.chaos.set({ errorRate: 0 });
    }
    expect((await rig.gateway.query(outTradeNo)).status).toBe('not_found');
  });

  it('closing a paid trade reports it paid; closing an unknown one reports not_found', async () => {
    const outTradeNo = no('cp');
    await rig.gateway.create({ outTradeNo, amount: cny(700), subject: 's', method: 'alipay_qr', payer: 'p' });
    rig.bank.payPending(outTradeNo);
    expect(await rig.gateway.close(outTradeNo)).toMatchObject({ status: 'succeeded', amount: cny(700) });
    expect((await rig.gateway.close(no('cx'))).status).toBe('not_found');
  });

  it('the same out_trade_no with another amount is refused, not silently merged', async () => {
    const outTradeNo = no('ctx');
    await rig.gateway.create({ outTradeNo, amount: cny(700), subject: 's', method: 'alipay_qr', payer: 'p' });
    expect(
      await rig.gateway.create({ outTradeNo, amount: cny(701), subject: 's', method: 'alipay_qr', payer: 'p' }),
    ).toMatchObject({ status: 'failed', failureCode: 'ACQ.CONTEXT_INCONSISTENT' });
  });

  it('amount edges cross the wire exactly: 0.01 and 100000000.00 yuan', async () => {
    for (const fen of [1, 10_000_000_000]) {
      const outTradeNo = no('edge');
      expect(
        (await rig.gateway.create({ outTradeNo, amount: cny(fen), subject: 's', method: 'alipay_qr', payer: 'p' }))
          .status,
      ).toBe('pending');
      expect(await rig.gateway.query(outTradeNo)).toMatchObject({ status: 'pending', amount: cny(fen) });
    }
  });

  it('refuses what Alipay cannot take before sending anything', async () => {
    const before = rig.bank.calls.create;
    expect(
      await rig.gateway.create({
        outTradeNo: no('usd'),
        amount: { amount: 100, currency: 'USD' },
        subject: 's',
        method: 'alipay_qr',
        payer: 'p',
      }),
    ).toMatchObject({ status: 'failed', failureCode: 'CURRENCY_NOT_SUPPORTED' });
    expect(
      await rig.gateway.create({ outTradeNo: no('wal'), amount: cny(100), subject: 's', method: 'wallet', payer: 'p' }),
    ).toMatchObject({ status: 'failed', failureCode: 'METHOD_NOT_SUPPORTED' });
    expect(rig.bank.calls.create).toBe(before);
  });

  it('acknowledges with the plain text "success" Alipay waits for', () => {
    expect(rig.gateway.acknowledge(true)).toEqual({ status: 200, contentType: 'text/plain', body: 'success' });
    expect(rig.gateway.acknowledge(false).body).not.toBe('success');
  });
});

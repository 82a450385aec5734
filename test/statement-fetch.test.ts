import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readStatement } from '../src/adapters/statements/read-statement.js';
import { shanghaiDate } from '../src/domain/statements/shanghai-time.js';
import type { StatementFile, StatementLine } from '../src/domain/statements/statement-line.js';
import { SimulatorHttpGateway } from '../src/adapters/gateways/simulator-http/simulator-http-gateway.js';
import { startTestSimulator, TEST_SECRET } from './support/simulator-server.js';
import { JuheRechargeChannel } from '../src/adapters/recharge/juhe/juhe-channel.js';
import { DEFAULT_OPERATOR_SETTINGS } from '../src/domain/recharge/operator-settings.js';
import { JuheSimulator } from '../src/simulator/juhe-simulator.js';
import { SimulatedCarriers } from '../src/simulator/simulated-carriers.js';
import { type AlipayRig, alipayRig } from './support/alipay-fixture.js';
import { type WechatpayHarness, startWechatpayHarness } from './support/wechatpay-harness.js';

async function read(file: StatementFile): Promise<StatementLine[]> {
  const out: StatementLine[] = [];
  for await (const l of readStatement(file)) out.push(l);
  return out;
}

const cny = (amount: number) => ({ amount, currency: 'CNY' as const });

describe('WeChat Pay connector fetches its trade bill from the simulator face', () => {
  let h: WechatpayHarness;
  const today = shanghaiDate(Date.now());

  beforeAll(async () => {
    h = await startWechatpayHarness();
    await h.gateway.create({
      outTradeNo: 'wxbill_0001',
      amount: cny(3200),
      subject: '拿铁',
      method: 'wechat_native',
      payer: 'p',
    });
    h.bank.payPending('wxbill_0001');
    await h.gateway.refund({ outTradeNo: 'wxbill_0001', outRefundNo: 'wxrf_0001', amount: cny(1200), reason: '' });
  });
  afterAll(() => h.close());

  it('signed tradebill query, then the gzip download, SHA1 checked, read back', async () => {
    const file = await h.gateway.statement(today);
    expect(file.format).toBe('wechatpay');
    expect(new TextDecoder().decode(file.bytes.subarray(0, 12))).toBe('交易时间');
    const lines = await read(file);
    expect(lines.map((l) => [l.kind, l.outTradeNo, l.outRefundNo, l.amount])).toEqual([
      ['payment', 'wxbill_0001', null, 3200],
      ['refund', 'wxbill_0001', 'wxrf_0001', 1200],
    ]);
  });

  it('refuses a download that does not match the SHA1 the platform gave', async () => {
    const tampering: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (!(input instanceof URL && input.pathname.includes('/v3/billdownload/'))) return res;
      const { gunzipSync, gzipSync } = await import('node:zlib');
      const bill = gunzipSync(Buffer.from(await res.arrayBuffer()))
        .toString('utf8')
        .replace('`32.00', '`3.20');
      return new Response(gzipSync(bill), { status: 200 });
    };
    await expect(h.connector({ fetch: tampering }).statement(today)).rejects.toMatchObject({
      code: 'STATEMENT_INVALID',
      message: expect.stringContaining('SHA1') as unknown,
    });
  });

  it('a bill of a day not begun is refused by the platform, a bad date by the face', async () => {
    await expect(h.gateway.statement('2999-01-01')).rejects.toMatchObject({ code: 'NO_STATEMENT_EXIST' });
    await expect(h.gateway.statement('2026-13-01')).rejects.toMatchObject({ code: 'PARAM_ERROR' });
  });

  it('the download URL needs our signature and dies with its token', async () => {
    const res = await fetch(`${h.baseUrl}/v3/billdownload/file?token=nope`);
    expect(res.status).toBe(401);
  });
});

describe('Alipay connector fetches its trade bill from the simulator face', () => {
  let rig: AlipayRig;
  let t = Date.parse('2026-12-04T10:00:00+08:00');
  const now = (): number => t;

  beforeAll(async () => {
    rig = await alipayRig({ bank: { now }, face: { now }, gateway: { clock: { now } } });
    await rig.gateway.create({
      outTradeNo: 'alibill_01',
      amount: cny(3200),
      subject: '拿铁',
      method: 'alipay_qr',
      payer: 'p',
    });
    rig.bank.payPending('alibill_01');
    t += 60_000;
    await rig.gateway.refund({ outTradeNo: 'alibill_01', outRefundNo: 'alirf_01', amount: cny(1230), reason: '' });
    t = Date.parse('2026-12-05T09:00:00+08:00');
  });
  afterAll(() => rig.close());

  it('signed downloadurl.query, then the zip download, read back', async () => {
    const file = await rig.gateway.statement('2026-12-04');
    expect(file.format).toBe('alipay');
    expect((await read(file)).map((l) => [l.kind, l.outTradeNo, l.outRefundNo, l.amount])).toEqual([
      ['payment', 'alibill_01', null, 3200],
      ['refund', 'alibill_01', 'alirf_01', 1230],
    ]);
    expect(await read(await rig.gateway.statement('2026-12-05'))).toEqual([]);
  });

  it('the download URL dies after 30 s; a day not begun has no bill', async () => {
    const query = await fetch(rig.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(
        rig.gateway.signedParams('alipay.data.dataservice.bill.downloadurl.query', {
          bill_type: 'trade',
          bill_date: '2026-12-04',
        }),
      ).toString(),
    });
    const url = (JSON.parse(await query.text()) as Record<string, Record<string, string>>)[
      'alipay_data_dataservice_bill_downloadurl_query_response'
    ]?.bill_download_url;
    expect(url).toMatch(/downloadBillFile\.resource\?/);
    expect((await fetch(url ?? '')).status).toBe(200);
    t += 30_000;
    expect((await fetch(url ?? '')).status).toBe(404);
    await expect(rig.gateway.statement('2026-12-31')).rejects.toMatchObject({ subCode: 'isp.bill_not_exist' });
  });
});

describe('Juhe channel fetches its order list from the aggregator simulator', () => {
  it('orders ended that day, with face value, cost and state; a bad date is refused', async () => {
    let t = Date.parse('2026-12-04T12:00:00+08:00');
    const now = (): number => t;
    const sim = new JuheSimulator({ appKey: 'k'.repeat(32), openId: 'openid', carriers: new SimulatedCarriers(), now });
    const baseUrl = await sim.start();
    const juhe = new JuheRechargeChannel({
      name: 'juhe',
      baseUrl,
      apiKey: 'k'.repeat(32),
      openId: 'openid',
      operatorSettings: DEFAULT_OPERATOR_SETTINGS,
      clock: { now },
    });
    try {
      const order = (orderId: string) => ({
        orderId,
        phone: '13800138000',
        amount: cny(5000),
        operator: 'CHINA_MOBILE' as const,
      });
      expect((await juhe.submit(order('rcstmt0001'))).status).not.toBe('failed');
      t = Date.parse('2026-12-05T00:00:01+08:00');
      await juhe.submit(order('rcstmt0002'));
      await sim.idle();
      const file = await juhe.statement('2026-12-04');
      expect(file.format).toBe('juhe');
      expect(await read(file)).toEqual([
        {
          line: 1,
          kind: 'recharge',
          outTradeNo: 'rcstmt0001',
          outRefundNo: null,
          channelId: expect.stringMatching(/^J\d+$/) as unknown,
          amount: 5000,
          fee: null,
          cost: 5000,
          status: 'SUCCESS',
          at: Date.parse('2026-12-04T12:00:00+08:00'),
        },
      ]);
      await expect(read(await juhe.statement('2026-13-40'))).rejects.toMatchObject({ code: 'STATEMENT_INVALID' });
    } finally {
      juhe.close();
      await sim.stop();
    }
  });
});

describe('simulator-http gateway fetches the statement from the standalone simulator server', () => {
  it('over the signed native API: the order book’s bill of the day, read back; a bad date is refused', async () => {
    const t = Date.parse('2026-12-04T15:00:00+08:00');
    const sim = await startTestSimulator({ bank: { now: () => t } });
    const gw = new SimulatorHttpGateway({ name: 'sim-http', baseUrl: sim.url, secret: TEST_SECRET, timeoutMs: 3000 });
    try {
      await gw.create({ outTradeNo: 'simbill_01', amount: cny(990), subject: '茶', method: 'wallet', payer: 'p' });
      const file = await gw.statement('2026-12-04');
      expect(file.format).toBe('alipay');
      expect((await read(file)).map((l) => [l.kind, l.outTradeNo, l.amount, l.at])).toEqual([
        ['payment', 'simbill_01', 990, t],
      ]);
      await expect(gw.statement('2026-02-30')).rejects.toThrow(/400/);
    } finally {
      await gw.shutdown();
      await sim.close();
    }
  });
});

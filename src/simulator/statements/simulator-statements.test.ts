import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readStatement } from '../../adapters/statements/read-statement.js';
import { ResilientGateway } from '../../adapters/resilience/resilient-gateway.js';
import type { StatementFile, StatementLine } from '../../domain/statements/statement-line.js';
import { SimulatedCarriers } from '../simulated-carriers.js';
import { SimulatedGateway } from '../simulated-gateway.js';
import { SimulatedRechargeChannel } from '../simulated-recharge-channel.js';

async function read(file: StatementFile): Promise<StatementLine[]> {
  const out: StatementLine[] = [];
  for await (const l of readStatement(file)) out.push(l);
  return out;
}

/** A clock a test moves: 23:59:59 on 4 December in Shanghai is still the 4th; a second later it is the 5th. */
const clock = (start: string): { now: () => number; set: (t: string) => void } => {
  let t = Date.parse(start);
  return { now: () => t, set: (s) => void (t = Date.parse(s)) };
};

const pay = (outTradeNo: string, amount: number) => ({
  outTradeNo,
  amount: { amount, currency: 'CNY' as const },
  subject: '拿铁',
  method: 'wallet',
  payer: 'p1',
});

async function dayOfTrades(gateway: SimulatedGateway, c: ReturnType<typeof clock>): Promise<void> {
  c.set('2026-12-03T23:30:00+08:00');
  await gateway.create(pay('ord_yesterday', 1000));
  c.set('2026-12-04T09:00:00+08:00');
  await gateway.create(pay('ord_a', 3200));
  c.set('2026-12-04T09:30:00+08:00');
  await gateway.refund({
    outTradeNo: 'ord_yesterday',
    outRefundNo: 'rf_y1',
    amount: { amount: 400, currency: 'CNY' },
    reason: '',
  });
  c.set('2026-12-04T23:59:59+08:00');
  await gateway.create(pay('ord_b', 1800));
  c.set('2026-12-05T00:00:00+08:00');
  await gateway.create(pay('ord_tomorrow', 500));
  await gateway.refund({
    outTradeNo: 'ord_a',
    outRefundNo: 'rf_a1',
    amount: { amount: 3200, currency: 'CNY' },
    reason: '',
  });
}

describe('the embedded simulators give a day’s statement from their books', () => {
  it('SimulatedGateway: the payments and refunds of that Shanghai day, Alipay layout by default', async () => {
    const c = clock('2026-12-04T00:00:00+08:00');
    const gateway = new SimulatedGateway({ now: c.now });
    await dayOfTrades(gateway, c);
    await gateway.create({ ...pay('ord_declined', 99_999_999_999), payer: 'p2' });
    const file = await gateway.statement('2026-12-04');
    expect(file.format).toBe('alipay');
    const lines = await read(file);
    expect(lines.map((l) => [l.kind, l.outTradeNo, l.outRefundNo, l.amount, l.at])).toEqual([
      ['payment', 'ord_a', null, 3200, Date.parse('2026-12-04T09:00:00+08:00')],
      ['refund', 'ord_yesterday', 'rf_y1', 400, Date.parse('2026-12-04T09:30:00+08:00')],
      ['payment', 'ord_b', null, 1800, Date.parse('2026-12-04T23:59:59+08:00')],
    ]);
    expect(lines.every((l) => l.channelId?.startsWith('sim_') === true && l.status === 'SUCCESS')).toBe(true);
    expect((await read(await gateway.statement('2026-12-05'))).map((l) => l.outTradeNo)).toEqual([
      'ord_a',
      'ord_tomorrow',
    ]);
    await expect(gateway.statement('2026-02-30')).rejects.toThrow(/not a date/);
  });

  it('SimulatedGateway in the WeChat Pay layout, and through the resilience wrapper', async () => {
    const c = clock('2026-12-04T00:00:00+08:00');
    const gateway = new SimulatedGateway({ now: c.now, statementFormat: 'wechatpay' });
    await dayOfTrades(gateway, c);
    const wrapped = new ResilientGateway(gateway);
    expect(wrapped.statement).toBeDefined();
    const file = await wrapped.statement?.('2026-12-04');
    expect(file?.format).toBe('wechatpay');
    const lines = file === undefined ? [] : await read(file);
    expect(lines.map((l) => [l.kind, l.outTradeNo, l.amount])).toEqual([
      ['payment', 'ord_a', 3200],
      ['refund', 'ord_yesterday', 400],
      ['payment', 'ord_b', 1800],
    ]);
    // A gateway without statements stays without one behind the wrapper.
    const bare = new SimulatedGateway();
    Object.defineProperty(bare, 'statement', { value: undefined });
    expect(new ResilientGateway(bare).statement).toBeUndefined();
  });

  it('SimulatedGateway: completion times survive a restart from the journal', async () => {
    const journalPath = join(mkdtempSync(join(tmpdir(), 'stmt-')), 'gw.jsonl');
    const c = clock('2026-12-04T10:00:00+08:00');
    const first = new SimulatedGateway({ now: c.now, journalPath });
    await first.create(pay('ord_j', 700));
    first.closeJournal();
    c.set('2026-12-09T10:00:00+08:00');
    const again = new SimulatedGateway({ now: c.now, journalPath });
    expect((await read(await again.statement('2026-12-04'))).map((l) => l.outTradeNo)).toEqual(['ord_j']);
    again.closeJournal();
  });

  it('SimulatedRechargeChannel: the order list (Juhe layout) of recharges that ended that day', async () => {
    const c = clock('2026-12-04T12:00:00+08:00');
    const channel = new SimulatedRechargeChannel({
      name: 'sim-a',
      carriers: new SimulatedCarriers(),
      profile: { chaos: { latencyMs: { min: 0, max: 0 } } },
      now: c.now,
      sleep: () => Promise.resolve(),
    });
    const req = (orderId: string) => ({
      orderId,
      phone: '13800138000',
      amount: { amount: 5000, currency: 'CNY' as const },
      operator: 'CHINA_MOBILE' as const,
    });
    await channel.submit(req('rc0001abcd'));
    c.set('2026-12-05T08:00:00+08:00');
    await channel.submit(req('rc0002abcd'));
    const file = await channel.statement('2026-12-04');
    expect(file.format).toBe('juhe');
    expect(await read(file)).toEqual([
      {
        line: 1,
        kind: 'recharge',
        outTradeNo: 'rc0001abcd',
        outRefundNo: null,
        channelId: 'sim-a-1',
        amount: 5000,
        fee: null,
        cost: 5000,
        status: 'SUCCESS',
        at: Date.parse('2026-12-04T12:00:00+08:00'),
      },
    ]);
  });
});

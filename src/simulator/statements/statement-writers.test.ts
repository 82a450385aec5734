import { unzipSync } from 'fflate';
import iconv from 'iconv-lite';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { readStatement } from '../../adapters/statements/read-statement.js';
import type { StatementFile, StatementLine } from '../../domain/statements/statement-line.js';
import { writeAlipayBill } from './alipay-bill-writer.js';
import type { BillEntry } from './bill-entry.js';
import { writeJuheOrderList } from './juhe-order-list-writer.js';
import { writeWechatBill } from './wechat-bill-writer.js';

const at = Date.parse('2026-12-04T10:00:00+08:00');
const entries: BillEntry[] = [
  {
    kind: 'payment',
    outTradeNo: 'ord_1',
    outRefundNo: null,
    channelId: 'T1',
    amount: 3200,
    fee: 19,
    cost: null,
    status: 'SUCCESS',
    at,
    subject: '拿铁, 大杯',
  },
  {
    kind: 'refund',
    outTradeNo: 'ord_0',
    outRefundNo: 'rf_0',
    channelId: 'T0',
    amount: 1230,
    fee: 7,
    cost: null,
    status: 'SUCCESS',
    at: at + 1000,
    tradeAmount: 3200,
  },
];

async function read(file: StatementFile): Promise<Array<Omit<StatementLine, 'line'>>> {
  const out: Array<Omit<StatementLine, 'line'>> = [];
  for await (const { line: _line, ...rest } of readStatement(file)) out.push(rest);
  return out;
}

const strip = (e: BillEntry): Omit<StatementLine, 'line'> => {
  const { subject: _s, tradeAmount: _t, ...rest } = e;
  return rest;
};

describe('the simulators’ statement writers', () => {
  it('Alipay: a zip of a GBK detail CSV (preamble, tab-padded cells, negative refunds, footer), a 汇总', async () => {
    const zip = writeAlipayBill(entries, { account: '2088000000000001', date: '2026-12-04', exportedAt: at });
    const files = unzipSync(zip);
    const names = Object.keys(files);
    expect(names.some((n) => n.endsWith('_业务明细.csv'))).toBe(true);
    expect(names.some((n) => n.includes('汇总'))).toBe(true);
    const detailName = names.find((n) => n.endsWith('_业务明细.csv')) ?? '';
    const detail = iconv.decode(Buffer.from(files[detailName] ?? new Uint8Array()), 'gbk').split('\r\n');
    expect(detail.slice(0, 3)).toEqual([
      '#支付宝业务明细查询',
      '#账号：[2088000000000001]',
      '#起始日期：[2026年12月04日 00:00:00]   终止日期：[2026年12月05日 00:00:00]',
    ]);
    expect(detail.find((l) => l.startsWith('T0\t'))).toContain(',-12.30\t,');
    expect(detail).toContain('#交易合计：1笔，退款合计：1笔');
    expect(await read({ format: 'alipay', name: 'a.zip', bytes: zip })).toEqual(entries.map(strip));
  });

  it.each(['ALL', 'SUCCESS', 'REFUND'] as const)(
    'WeChat Pay %s bill: backtick cells, its own columns, summary',
    async (billType) => {
      const bytes = writeWechatBill(entries, { billType, appid: 'wxsim', mchid: '1900000109' });
      const text = new TextDecoder().decode(bytes);
      expect(text).toContain('\r\n总交易单数,');
      expect(text.split('\r\n')[1]?.startsWith('`2026-12-04')).toBe(true);
      const want = entries.filter((e) => billType === 'ALL' || (billType === 'REFUND') === (e.kind === 'refund'));
      expect(await read({ format: 'wechatpay', name: 'w.csv', bytes })).toEqual(want.map(strip));
    },
  );

  it('Juhe order list: the answer shape, read back', async () => {
    const recharge: BillEntry = {
      kind: 'recharge',
      outTradeNo: 'rc000001',
      outRefundNo: null,
      channelId: 'J1',
      amount: 5000,
      fee: null,
      cost: 4985,
      status: 'SUCCESS',
      at,
    };
    expect(await read({ format: 'juhe', name: 'j.json', bytes: writeJuheOrderList([recharge]) })).toEqual([
      strip(recharge),
    ]);
  });

  it('reads a 100k-line bill streamed: heap stays far below the size of its text', async () => {
    const many = function* (): Generator<BillEntry> {
      for (let i = 0; i < 100_000; i += 1)
        yield {
          kind: 'payment',
          outTradeNo: `ord_${String(i).padStart(10, '0')}`,
          outRefundNo: null,
          channelId: `2026120422001${String(i).padStart(15, '0')}`,
          amount: 100 + i,
          fee: 1,
          cost: null,
          status: 'SUCCESS',
          at,
          subject: '拿铁 大杯 燕麦奶 少冰 加浓缩一份',
        };
    };
    const zip = writeAlipayBill(many(), { account: '2088000000000001', date: '2026-12-04', exportedAt: at });
    const textBytes = Object.entries(unzipSync(zip)).reduce((n, [, b]) => n + b.length, 0);
    // What the reader keeps alive, not garbage not yet collected: collect before each sample.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    gc();
    const before = process.memoryUsage().heapUsed;
    let peak = before;
    let count = 0;
    let sum = 0;
    for await (const l of readStatement({ format: 'alipay', name: 'big.zip', bytes: zip })) {
      count += 1;
      sum += l.amount;
      if (count % 10_000 === 0) {
        gc();
        peak = Math.max(peak, process.memoryUsage().heapUsed);
      }
    }
    expect(count).toBe(100_000);
    expect(sum).toBe(100 * 100_000 + (99_999 * 100_000) / 2);
    // The text as one JS string would take about twice its GBK size (UTF-16); the reader holds a slice.
    // (Measured: about 8 MB live — inflate window, decoder, a slice of text — against a 20 MB text.)
    expect(textBytes).toBeGreaterThan(15_000_000);
    expect(peak - before).toBeLessThan(Math.min(12_000_000, textBytes / 2));
  }, 30_000);
});

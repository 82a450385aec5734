/* eslint-disable max-len -- the fixtures are bill lines as long as real ones */
import { zipSync } from 'fflate';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import type { StatementFile, StatementLine } from '../../domain/statements/statement-line.js';
import { StatementInvalidError, readStatement } from './read-statement.js';

async function read(file: StatementFile): Promise<StatementLine[]> {
  const lines: StatementLine[] = [];
  for await (const l of readStatement(file)) lines.push(l);
  return lines;
}

async function failure(file: StatementFile): Promise<StatementInvalidError> {
  try {
    await read(file);
  } catch (e) {
    if (e instanceof StatementInvalidError) return e;
    throw e;
  }
  throw new Error('the file was read without complaint');
}

const ms = (t: string): number => Date.parse(`${t.replace(' ', 'T')}+08:00`);

// Written by hand after published sample bills, not by our writer: GBK, `#` preamble and
// footer, a tab after every cell, a refund as a negative row, a 汇总 file beside it.
const ALIPAY_DETAIL = [
  '#支付宝业务明细查询',
  '#账号：[20881234567890120156]',
  '#起始日期：[2026年12月04日 00:00:00]   终止日期：[2026年12月05日 00:00:00]',
  '#-----------------------------------------业务明细列表----------------------------------------',
  '支付宝交易号\t,商户订单号\t,业务类型\t,商品名称\t,创建时间\t,完成时间\t,门店编号\t,门店名称\t,操作员\t,终端号\t,对方账户\t,订单金额（元）\t,商家实收（元）\t,支付宝红包（元）\t,集分宝（元）\t,支付宝优惠（元）\t,商家优惠（元）\t,券核销金额（元）\t,券名称\t,商家红包消费金额（元）\t,卡消费金额（元）\t,退款批次号/请求号\t,服务费（元）\t,分润（元）\t,备注\t',
  '2026120422001412341234567890\t,ord_7f3a91\t,交易\t,拿铁 大杯\t,2026-12-04 09:12:01\t,2026-12-04 09:12:07\t,\t,\t,\t,\t,zha***@163.com\t,32.00\t,32.00\t,0.00\t,0.00\t,0.00\t,0.00\t,0.00\t,\t,0.00\t,0.00\t,\t,-0.19\t,0.00\t,\t',
  '2026120422001412341234567891\t,ord_8b21c0\t,交易\t,"美式,冰"\t,2026-12-04 13:40:55\t,2026-12-04 13:41:02\t,\t,\t,\t,\t,138****8000\t,0.5\t,0.5\t,0.00\t,0.00\t,0.00\t,0.00\t,0.00\t,\t,0.00\t,0.00\t,\t,0.00\t,0.00\t,\t',
  '2026120322001412341234567777\t,ord_5c0d2e\t,退款\t,拿铁 大杯\t,2026-12-03 18:00:00\t,2026-12-04 10:05:33\t,\t,\t,\t,\t,li***@qq.com\t,-12.30\t,-12.30\t,0.00\t,0.00\t,0.00\t,0.00\t,0.00\t,\t,0.00\t,0.00\t,rf_5c0d2e_1\t,0.07\t,0.00\t,\t',
  '#-----------------------------------------业务明细列表结束------------------------------------',
  '#交易合计：2笔，退款合计：1笔',
  '#导出时间：[2026年12月05日 09:03:11]',
].join('\r\n');

const ALIPAY_SUMMARY = [
  '#支付宝业务汇总查询',
  '#账号：[20881234567890120156]',
  '门店编号\t,门店名称\t,交易订单总笔数\t,退款订单总笔数\t,订单金额（元）\t,商家实收（元）\t',
  '合计\t,\t,2\t,1\t,20.20\t,20.20\t',
  '#导出时间：[2026年12月05日 09:03:11]',
].join('\r\n');

const alipayZip = (detail: string, summary = ALIPAY_SUMMARY): StatementFile => ({
  format: 'alipay',
  name: 'alipay-2026-12-04.zip',
  bytes: zipSync({
    '20881234567890120156_20261204_业务明细(汇总).csv': new Uint8Array(iconv.encode(summary, 'gbk')),
    '20881234567890120156_20261204_业务明细.csv': new Uint8Array(iconv.encode(detail, 'gbk')),
  }),
});

// WeChat's ALL bill, hand-written: backtick cells, a REFUND row, a REVOKED row, summary section.
const WECHAT_ALL = [
  '交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注',
  '`2026-12-04 09:12:07,`wx2421b1c4370ec43b,`1900000109,`0,`,`4200001234202612041234567890,`ord_7f3a91,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`NATIVE,`SUCCESS,`CMB_CREDIT,`CNY,`32.00,`0.00,`0,`0,`0.00,`0.00,`,`,`拿铁 大杯,`,`0.19,`0.60%,`32.00,`0.00,`',
  '`2026-12-04 10:05:33,`wx2421b1c4370ec43b,`1900000109,`0,`,`4200001234202612031234560000,`ord_5c0d2e,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`NATIVE,`REFUND,`OTHERS,`CNY,`0.00,`0.00,`50300000012026120400000001,`rf_5c0d2e_1,`12.30,`0.00,`ORIGINAL,`SUCCESS,`拿铁 大杯,`,`-0.07,`0.60%,`32.00,`12.30,`',
  '`2026-12-04 11:00:00,`wx2421b1c4370ec43b,`1900000109,`0,`,`4200001234202612041234500000,`ord_a11b22,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`MICROPAY,`REVOKED,`OTHERS,`CNY,`8.00,`0.00,`0,`0,`0.00,`0.00,`,`,`茶,`,`0.00,`0.60%,`8.00,`0.00,`',
  '总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额',
  '`3,`40.00,`12.30,`0.00,`0.12,`40.00,`12.30',
].join('\r\n');

// A SUCCESS bill (no refund columns) with its columns in another order, and trailing spaces.
const WECHAT_SUCCESS_REORDERED = [
  '商户订单号,订单金额,交易状态,交易时间,微信订单号,手续费,应结订单金额,公众账号ID,商户号',
  '`ord_7f3a91 ,`32.00\t,`SUCCESS,`2026-12-04 09:12:07,`4200001234202612041234567890,`0.19,`32.00,`wx2421b1c4370ec43b,`1900000109',
  '总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额',
  '`1,`32.00,`0.00,`0.00,`0.19,`32.00,`0.00',
].join('\n');

// A REFUND bill: its own column set (退款申请时间, 退款成功时间 …).
const WECHAT_REFUND = [
  '交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,退款申请时间,退款成功时间,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注',
  '`2026-12-03 18:00:00,`wx2421b1c4370ec43b,`1900000109,`0,`,`4200001234202612031234560000,`ord_5c0d2e,`oUpF,`NATIVE,`REFUND,`OTHERS,`CNY,`0.00,`0.00,`2026-12-04 10:05:30,`2026-12-04 10:05:33,`50300000012026120400000001,`rf_5c0d2e_1,`12.30,`0.00,`ORIGINAL,`SUCCESS,`拿铁 大杯,`,`-0.07,`0.60%,`32.00,`12.30,`',
  '`2026-12-04 08:00:00,`wx2421b1c4370ec43b,`1900000109,`0,`,`4200001234202612041111111111,`ord_99ee01,`oUpF,`NATIVE,`REFUND,`OTHERS,`CNY,`0.00,`0.00,`2026-12-04 21:00:00,`,`50300000012026120400000002,`rf_99ee01_1,`3.00,`0.00,`ORIGINAL,`PROCESSING,`茶,`,`0.00,`0.60%,`3.00,`3.00,`',
  '总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额',
  '`2,`0.00,`15.30,`0.00,`-0.07,`35.00,`15.30',
].join('\r\n');

const wechat = (text: string): StatementFile => ({
  format: 'wechatpay',
  name: 'wechatpay-2026-12-04.csv',
  bytes: new TextEncoder().encode(text),
});

describe('readStatement: Alipay trade bill (zip of GBK CSVs)', () => {
  it('reads the detail CSV by column name, skipping preamble, footer and the 汇总 file', async () => {
    const lines = await read(alipayZip(ALIPAY_DETAIL));
    expect(lines).toEqual([
      {
        line: 6,
        kind: 'payment',
        outTradeNo: 'ord_7f3a91',
        outRefundNo: null,
        channelId: '2026120422001412341234567890',
        amount: 3200,
        fee: 19,
        cost: null,
        status: 'SUCCESS',
        at: ms('2026-12-04 09:12:07'),
      },
      expect.objectContaining({ line: 7, outTradeNo: 'ord_8b21c0', amount: 50, fee: 0, kind: 'payment' }),
      {
        line: 8,
        kind: 'refund',
        outTradeNo: 'ord_5c0d2e',
        outRefundNo: 'rf_5c0d2e_1',
        channelId: '2026120322001412341234567777',
        amount: 1230,
        fee: 7,
        cost: null,
        status: 'SUCCESS',
        at: ms('2026-12-04 10:05:33'),
      },
    ]);
  });

  it('reads a detail CSV taken out of the zip (GBK) as well', async () => {
    const lines = await read({ format: 'alipay', name: 'detail.csv', bytes: iconv.encode(ALIPAY_DETAIL, 'gbk') });
    expect(lines.map((l) => [l.outTradeNo, l.amount])).toEqual([
      ['ord_7f3a91', 3200],
      ['ord_8b21c0', 50],
      ['ord_5c0d2e', 1230],
    ]);
  });

  it('refuses a bad amount naming its line, and a zip without a detail CSV', async () => {
    const bad = await failure(alipayZip(ALIPAY_DETAIL.replace(',32.00\t,32.00', ',32.001\t,32.00')));
    expect(bad.code).toBe('STATEMENT_INVALID');
    expect(bad.line).toBe(6);
    expect(bad.message).toContain('32.001');
    const empty = await failure(alipayZip(ALIPAY_DETAIL.replace(',0.5\t,0.5', ',\t,0.5')));
    expect(empty.line).toBe(7);
    const summaryOnly: StatementFile = {
      format: 'alipay',
      name: 'only-summary.zip',
      bytes: zipSync({ 'x_业务明细(汇总).csv': iconv.encode(ALIPAY_SUMMARY, 'gbk') }),
    };
    expect((await failure(summaryOnly)).message).toContain('no detail');
    expect(
      (await failure({ format: 'alipay', name: 'torn.zip', bytes: alipayZip(ALIPAY_DETAIL).bytes.subarray(0, 200) }))
        .code,
    ).toBe('STATEMENT_INVALID');
  });

  it('refuses an unknown business type and a header without the columns it needs', async () => {
    expect((await failure(alipayZip(ALIPAY_DETAIL.replace('退款\t', '冻结\t')))).line).toBe(8);
    const headerless = await failure(alipayZip(ALIPAY_DETAIL.replace('商户订单号\t', '订单号\t')));
    expect(headerless.line).toBe(5);
    expect(headerless.message).toContain('商户订单号');
  });
});

describe('readStatement: WeChat Pay trade bill', () => {
  it('reads the ALL bill: payments, a refund line from a REFUND row, REVOKED, and stops at the summary', async () => {
    const lines = await read(wechat(WECHAT_ALL));
    expect(lines).toEqual([
      {
        line: 2,
        kind: 'payment',
        outTradeNo: 'ord_7f3a91',
        outRefundNo: null,
        channelId: '4200001234202612041234567890',
        amount: 3200,
        fee: 19,
        cost: null,
        status: 'SUCCESS',
        at: ms('2026-12-04 09:12:07'),
      },
      {
        line: 3,
        kind: 'refund',
        outTradeNo: 'ord_5c0d2e',
        outRefundNo: 'rf_5c0d2e_1',
        channelId: '4200001234202612031234560000',
        amount: 1230,
        fee: 7,
        cost: null,
        status: 'SUCCESS',
        at: ms('2026-12-04 10:05:33'),
      },
      expect.objectContaining({ line: 4, kind: 'payment', outTradeNo: 'ord_a11b22', amount: 800, status: 'REVOKED' }),
    ]);
  });

  it('reads a SUCCESS bill whose columns are in another order, with trailing whitespace', async () => {
    const lines = await read(wechat(WECHAT_SUCCESS_REORDERED));
    expect(lines).toEqual([
      expect.objectContaining({ line: 2, outTradeNo: 'ord_7f3a91', amount: 3200, fee: 19, status: 'SUCCESS' }),
    ]);
  });

  it('reads a REFUND bill by its own columns: refund success time, a refund still processing', async () => {
    const lines = await read(wechat(WECHAT_REFUND));
    expect(lines.map((l) => [l.kind, l.outRefundNo, l.amount, l.status, l.at])).toEqual([
      ['refund', 'rf_5c0d2e_1', 1230, 'SUCCESS', ms('2026-12-04 10:05:33')],
      ['refund', 'rf_99ee01_1', 300, 'PROCESSING', ms('2026-12-04 08:00:00')],
    ]);
  });

  it('tolerates a BOM and refuses a REFUND row in a SUCCESS bill, a bad amount and an unknown state', async () => {
    expect(await read(wechat(`\uFEFF${WECHAT_SUCCESS_REORDERED}`))).toHaveLength(1);
    const refundInSuccess = WECHAT_SUCCESS_REORDERED.replace('`SUCCESS', '`REFUND');
    expect((await failure(wechat(refundInSuccess))).line).toBe(2);
    expect((await failure(wechat(WECHAT_ALL.replace('`12.30,`0.00,`ORIGINAL', '`1.2e1,`0.00,`ORIGINAL')))).line).toBe(
      3,
    );
    expect((await failure(wechat(WECHAT_ALL.replace('`REVOKED', '`PAYERROR')))).message).toContain('PAYERROR');
  });
});

describe('readStatement: the aggregator order list (Juhe answer shape)', () => {
  const juhe = (doc: unknown): StatementFile => ({
    format: 'juhe',
    name: 'juhe-2026-12-04.json',
    bytes: new TextEncoder().encode(JSON.stringify(doc)),
  });

  it('reads each order: face value, cost, state, time', async () => {
    const lines = await read(
      juhe({
        reason: '查询成功',
        error_code: 0,
        result: [
          {
            uorderid: 'rc0001abcd',
            sporder_id: 'J000000000001',
            cardnum: '50',
            uordercash: '49.85',
            game_state: '1',
            order_time: '2026-12-04 12:00:01',
          },
          {
            uorderid: 'rc0002abcd',
            sporder_id: 'J000000000002',
            cardnum: 100,
            uordercash: '99.70',
            game_state: '9',
            order_time: '2026-12-04 23:59:59',
          },
          {
            uorderid: 'rc0003abcd',
            sporder_id: 'J000000000003',
            cardnum: '30',
            uordercash: '',
            game_state: '0',
            order_time: '',
          },
        ],
      }),
    );
    expect(lines).toEqual([
      {
        line: 1,
        kind: 'recharge',
        outTradeNo: 'rc0001abcd',
        outRefundNo: null,
        channelId: 'J000000000001',
        amount: 5000,
        fee: null,
        cost: 4985,
        status: 'SUCCESS',
        at: ms('2026-12-04 12:00:01'),
      },
      expect.objectContaining({ line: 2, amount: 10000, cost: 9970, status: 'FAILED' }),
      expect.objectContaining({ line: 3, amount: 3000, cost: null, status: 'PROCESSING', at: null }),
    ]);
  });

  it('refuses an error answer, a bad amount and an unknown state', async () => {
    expect((await failure(juhe({ reason: '错误的请求KEY', error_code: 10001, result: null }))).message).toContain(
      '10001',
    );
    const order = {
      uorderid: 'rc0001abcd',
      sporder_id: 'J1',
      cardnum: '50',
      uordercash: '49.855',
      game_state: '1',
      order_time: '',
    };
    expect((await failure(juhe({ reason: '', error_code: 0, result: [order] }))).line).toBe(1);
    expect(
      (await failure(juhe({ reason: '', error_code: 0, result: [{ ...order, uordercash: '1', game_state: '2' }] })))
        .message,
    ).toContain('game_state');
    expect((await failure({ format: 'juhe', name: 'x', bytes: new TextEncoder().encode('<html>') })).code).toBe(
      'STATEMENT_INVALID',
    );
  });
});

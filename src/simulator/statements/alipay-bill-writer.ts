import { zipSync } from 'fflate';
import iconv from 'iconv-lite';
import { formatShanghaiTime } from '../../domain/statements/shanghai-time.js';
import { fenToStatementYuan } from '../../domain/statements/statement-amount.js';
import { type BillEntry, csvCell } from './bill-entry.js';

/** The detail header of Alipay's trade bill (PROTOCOLS.md, "Reconciliation"). */
export const ALIPAY_DETAIL_HEADER = [
  '支付宝交易号',
  '商户订单号',
  '业务类型',
  '商品名称',
  '创建时间',
  '完成时间',
  '门店编号',
  '门店名称',
  '操作员',
  '终端号',
  '对方账户',
  '订单金额（元）',
  '商家实收（元）',
  '支付宝红包（元）',
  '集分宝（元）',
  '支付宝优惠（元）',
  '商家优惠（元）',
  '券核销金额（元）',
  '券名称',
  '商家红包消费金额（元）',
  '卡消费金额（元）',
  '退款批次号/请求号',
  '服务费（元）',
  '分润（元）',
  '备注',
] as const;

export interface AlipayBillOptions {
  /** The merchant's Alipay account (PID), 2088…. */
  readonly account: string;
  /** The business day, YYYY-MM-DD. */
  readonly date: string;
  /** When the bill was made (ms), for the 导出时间 footer. */
  readonly exportedAt: number;
}

const chineseTime = (ms: number): string => {
  const t = formatShanghaiTime(ms);
  return `${t.slice(0, 4)}年${t.slice(5, 7)}月${t.slice(8, 10)}日 ${t.slice(11)}`;
};

const dayStart = (date: string): number => Date.parse(`${date}T00:00:00+08:00`);

/**
 * Alipay's trade bill for a day as Alipay gives it: a zip holding the detail CSV (业务明细) and
 * its summary (业务明细(汇总)), both GBK, `#` preamble and footer lines, every cell followed by
 * a tab, refunds as rows of their own with negative amounts.
 */
export function writeAlipayBill(entries: Iterable<BillEntry>, options: AlipayBillOptions): Uint8Array {
  const start = dayStart(options.date);
  const range = `#起始日期：[${chineseTime(start)}]   终止日期：[${chineseTime(start + 86_400_000)}]`;
  const row = (cells: readonly string[]): string => cells.map((c) => `${csvCell(c)}\t`).join(',');
  const detail: string[] = [
    '#支付宝业务明细查询',
    `#账号：[${options.account}]`,
    range,
    '#-----------------------------------------业务明细列表----------------------------------------',
    row(ALIPAY_DETAIL_HEADER),
  ];
  let trades = 0;
  let refunds = 0;
  let total = 0;
  let fees = 0;
  for (const e of entries) {
    const refund = e.kind === 'refund';
    if (refund) refunds += 1;
    else trades += 1;
    const signed = refund ? -e.amount : e.amount;
    total += signed;
    fees += e.fee ?? 0;
    const yuan = fenToStatementYuan(signed);
    const at = e.at === null ? '' : formatShanghaiTime(e.at);
    detail.push(
      row([
        e.channelId ?? '',
        e.outTradeNo,
        refund ? '退款' : '交易',
        e.subject ?? '',
        at,
        at,
        '',
        '',
        '',
        '',
        '',
        yuan,
        yuan,
        '0.00',
        '0.00',
        '0.00',
        '0.00',
        '0.00',
        '',
        '0.00',
        '0.00',
        refund ? (e.outRefundNo ?? '') : '',
        e.fee === null ? '' : fenToStatementYuan(refund ? -e.fee : e.fee),
        '0.00',
        '',
      ]),
    );
  }
  detail.push(
    '#-----------------------------------------业务明细列表结束------------------------------------',
    `#交易合计：${String(trades)}笔，退款合计：${String(refunds)}笔`,
    `#导出时间：[${chineseTime(options.exportedAt)}]`,
  );
  const summary = [
    '#支付宝业务汇总查询',
    `#账号：[${options.account}]`,
    range,
    '#-----------------------------------------业务汇总列表----------------------------------------',
    row([
      '门店编号',
      '门店名称',
      '交易订单总笔数',
      '退款订单总笔数',
      '订单金额（元）',
      '商家实收（元）',
      '服务费（元）',
    ]),
    row([
      '合计',
      '',
      String(trades),
      String(refunds),
      fenToStatementYuan(total),
      fenToStatementYuan(total),
      fenToStatementYuan(fees),
    ]),
    '#-----------------------------------------业务汇总列表结束------------------------------------',
    `#导出时间：[${chineseTime(options.exportedAt)}]`,
  ];
  const base = `${options.account}_${options.date.replace(/-/g, '')}`;
  const gbk = (lines: readonly string[]): Uint8Array =>
    new Uint8Array(iconv.encode(`${lines.join('\r\n')}\r\n`, 'gbk'));
  return zipSync({
    [`${base}_业务明细.csv`]: gbk(detail),
    [`${base}_业务明细(汇总).csv`]: gbk(summary),
  });
}

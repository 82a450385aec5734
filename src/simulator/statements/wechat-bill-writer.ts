import { formatShanghaiTime } from '../../domain/statements/shanghai-time.js';
import { fenToStatementYuan } from '../../domain/statements/statement-amount.js';
import { type BillEntry, csvCell } from './bill-entry.js';

export const WECHAT_BILL_TYPES = ['ALL', 'SUCCESS', 'REFUND'] as const;
export type WechatBillType = (typeof WECHAT_BILL_TYPES)[number];

const COMMON_HEAD = [
  '交易时间',
  '公众账号ID',
  '商户号',
  '特约商户号',
  '设备号',
  '微信订单号',
  '商户订单号',
  '用户标识',
  '交易类型',
  '交易状态',
  '付款银行',
  '货币种类',
  '应结订单金额',
  '代金券金额',
] as const;

const REFUND_COLUMNS = ['微信退款单号', '商户退款单号', '退款金额', '充值券退款金额', '退款类型', '退款状态'] as const;
const GOODS_AND_FEE = ['商品名称', '商户数据包', '手续费', '费率', '订单金额'] as const;

/** Each bill type's columns (PROTOCOLS.md): SUCCESS lacks the refund columns, REFUND adds its times. */
export const WECHAT_BILL_HEADERS: Readonly<Record<WechatBillType, readonly string[]>> = {
  ALL: [...COMMON_HEAD, ...REFUND_COLUMNS, ...GOODS_AND_FEE, '申请退款金额', '费率备注'],
  SUCCESS: [...COMMON_HEAD, ...GOODS_AND_FEE, '费率备注'],
  REFUND: [
    ...COMMON_HEAD,
    '退款申请时间',
    '退款成功时间',
    ...REFUND_COLUMNS,
    ...GOODS_AND_FEE,
    '申请退款金额',
    '费率备注',
  ],
};

const SUMMARY_HEAD = [
  '总交易单数',
  '应结订单总金额',
  '退款总金额',
  '充值券退款总金额',
  '手续费总金额',
  '订单总金额',
  '申请退款总金额',
];

export interface WechatBillOptions {
  readonly billType: WechatBillType;
  readonly appid: string;
  readonly mchid: string;
}

/**
 * WeChat Pay's trade bill (UTF-8 CSV) as the download gives it, before gzip: the bill type's
 * header, every data cell prefixed with a backtick, then the summary section.
 */
export function writeWechatBill(entries: Iterable<BillEntry>, options: WechatBillOptions): Uint8Array {
  const header = WECHAT_BILL_HEADERS[options.billType];
  const out: string[] = [header.join(',')];
  let count = 0;
  let settled = 0;
  let refunded = 0;
  let fees = 0;
  let ordered = 0;
  for (const e of entries) {
    const refund = e.kind === 'refund';
    if ((options.billType === 'SUCCESS' && refund) || (options.billType === 'REFUND' && !refund)) continue;
    count += 1;
    const fee = e.fee === null ? 0 : refund ? -e.fee : e.fee;
    fees += fee;
    const total = refund ? (e.tradeAmount ?? e.amount) : e.amount;
    if (refund) refunded += e.amount;
    else {
      settled += e.amount;
      ordered += e.amount;
    }
    const time = e.at === null ? '' : formatShanghaiTime(e.at);
    const cells: Record<string, string> = {
      交易时间: time,
      公众账号ID: options.appid,
      商户号: options.mchid,
      特约商户号: '0',
      微信订单号: e.channelId ?? '',
      商户订单号: e.outTradeNo,
      用户标识: 'oSimPayer',
      交易类型: 'NATIVE',
      交易状态: refund ? 'REFUND' : e.status === 'REVOKED' ? 'REVOKED' : 'SUCCESS',
      付款银行: 'OTHERS',
      货币种类: 'CNY',
      应结订单金额: fenToStatementYuan(refund ? 0 : e.amount),
      代金券金额: '0.00',
      退款申请时间: refund ? time : '',
      退款成功时间: refund ? time : '',
      微信退款单号: refund ? `sim${e.outRefundNo ?? ''}` : '0',
      商户退款单号: refund ? (e.outRefundNo ?? '') : '0',
      退款金额: fenToStatementYuan(refund ? e.amount : 0),
      充值券退款金额: '0.00',
      退款类型: refund ? 'ORIGINAL' : '',
      退款状态: refund ? (e.status === 'FAILED' ? 'FAIL' : e.status) : '',
      商品名称: e.subject ?? '',
      商户数据包: '',
      手续费: fenToStatementYuan(fee),
      费率: '0.60%',
      订单金额: fenToStatementYuan(total),
      申请退款金额: fenToStatementYuan(refund ? e.amount : 0),
      费率备注: '',
    };
    out.push(header.map((h) => `\`${csvCell(cells[h] ?? '')}`).join(','));
  }
  out.push(SUMMARY_HEAD.join(','));
  out.push(
    [count, settled, refunded, 0, fees, ordered, refunded]
      .map((n, i) => `\`${i === 0 ? String(n) : fenToStatementYuan(n)}`)
      .join(','),
  );
  return new TextEncoder().encode(`${out.join('\r\n')}\r\n`);
}

import { parseShanghaiTime } from './shanghai-time.js';
import { statementYuanToFen } from './statement-amount.js';
import { StatementInvalidError } from './statement-invalid-error.js';
import type { StatementHeader } from './statement-csv.js';
import type { StatementLine, StatementLineStatus } from './statement-line.js';

/**
 * One data row of each layout → a statement line, by column name. Pure: the I/O (zip, GBK,
 * streaming) is the adapter's. Every amount goes through {@link statementYuanToFen}; a row the
 * layout does not allow throws {@link StatementInvalidError} with its line number.
 */

/** The columns of Alipay's trade bill (业务明细) that reconciliation reads. */
export const ALIPAY_COLUMNS = {
  tradeNo: '支付宝交易号',
  outTradeNo: '商户订单号',
  type: '业务类型',
  finishedAt: '完成时间',
  amount: '订单金额（元）',
  outRefundNo: '退款批次号/请求号',
  fee: '服务费（元）',
} as const;

/** The columns of WeChat Pay's trade bill reconciliation reads (ALL has them all; SUCCESS lacks the refund ones). */
export const WECHAT_COLUMNS = {
  time: '交易时间',
  transactionId: '微信订单号',
  outTradeNo: '商户订单号',
  state: '交易状态',
  settlementTotal: '应结订单金额',
  outRefundNo: '商户退款单号',
  refundAmount: '退款金额',
  refundStatus: '退款状态',
  refundedAt: '退款成功时间',
  fee: '手续费',
  total: '订单金额',
} as const;

/** The first cell of WeChat's summary section's header: data rows end there. */
export const WECHAT_SUMMARY_FIRST_COLUMN = '总交易单数';

interface RowContext {
  readonly header: StatementHeader;
  readonly cells: readonly string[];
  readonly line: number;
  readonly file: string;
}

function fail(ctx: RowContext, reason: string): never {
  throw new StatementInvalidError(ctx.file, ctx.line, reason);
}

function text(ctx: RowContext, column: string): string {
  return ctx.header.cell(ctx.cells, column) ?? '';
}

function required(ctx: RowContext, column: string): string {
  const value = text(ctx, column);
  if (value === '') fail(ctx, `${column} is empty`);
  return value;
}

/** A required amount in fen; refuses an empty or malformed cell. */
function amount(ctx: RowContext, column: string): number {
  const raw = text(ctx, column);
  if (raw === '') fail(ctx, `${column} is empty`);
  const fen = statementYuanToFen(raw);
  if (fen === undefined) fail(ctx, `${column} "${raw}" is not a yuan amount with at most two decimals`);
  return fen;
}

/** An amount the layout may leave empty or lack (fees); null then. */
function optionalAmount(ctx: RowContext, column: string): number | null {
  const raw = text(ctx, column);
  return raw === '' ? null : Math.abs(amount(ctx, column));
}

function time(ctx: RowContext, column: string): number | null {
  const raw = text(ctx, column);
  if (raw === '') return null;
  const at = parseShanghaiTime(raw);
  if (at === undefined) fail(ctx, `${column} "${raw}" is not a time like 2026-12-04 10:11:12`);
  return at;
}

/** Alipay's trade bill lists completed trades (交易) and refunds (退款, negative amounts). */
export function alipayRow(ctx: RowContext): StatementLine {
  const type = text(ctx, ALIPAY_COLUMNS.type);
  const common = {
    line: ctx.line,
    outTradeNo: required(ctx, ALIPAY_COLUMNS.outTradeNo),
    channelId: text(ctx, ALIPAY_COLUMNS.tradeNo) || null,
    fee: optionalAmount(ctx, ALIPAY_COLUMNS.fee),
    cost: null,
    status: 'SUCCESS' as const,
    at: time(ctx, ALIPAY_COLUMNS.finishedAt),
  };
  const fen = amount(ctx, ALIPAY_COLUMNS.amount);
  if (type === '交易') {
    if (fen < 0) fail(ctx, `a 交易 row has a negative ${ALIPAY_COLUMNS.amount}`);
    return { ...common, kind: 'payment', outRefundNo: null, amount: fen };
  }
  if (type === '退款') {
    if (fen > 0) fail(ctx, `a 退款 row has a positive ${ALIPAY_COLUMNS.amount}`);
    // Alipay defaults a refund's request number to the trade's number when none was given.
    const outRefundNo = text(ctx, ALIPAY_COLUMNS.outRefundNo) || common.outTradeNo;
    return { ...common, kind: 'refund', outRefundNo, amount: -fen };
  }
  return fail(ctx, `${ALIPAY_COLUMNS.type} "${type}" is neither 交易 nor 退款`);
}

const WECHAT_REFUND_STATUS: Readonly<Record<string, StatementLineStatus>> = {
  SUCCESS: 'SUCCESS',
  PROCESSING: 'PROCESSING',
  FAIL: 'FAILED',
  FAILED: 'FAILED',
  CHANGE: 'FAILED',
  ABNORMAL: 'FAILED',
  CLOSED: 'FAILED',
};

/**
 * WeChat Pay's trade bill: a SUCCESS row is a payment, a REVOKED row a payment cancelled after
 * it was paid, a REFUND row one refund (商户退款单号, 退款金额) of a payment.
 */
export function wechatRow(ctx: RowContext): StatementLine {
  const state = text(ctx, WECHAT_COLUMNS.state);
  const payment = ctx.header.has(WECHAT_COLUMNS.total) ? WECHAT_COLUMNS.total : WECHAT_COLUMNS.settlementTotal;
  const common = {
    line: ctx.line,
    outTradeNo: required(ctx, WECHAT_COLUMNS.outTradeNo),
    channelId: text(ctx, WECHAT_COLUMNS.transactionId) || null,
    fee: optionalAmount(ctx, WECHAT_COLUMNS.fee),
    cost: null,
  };
  switch (state) {
    case 'SUCCESS':
    case 'REVOKED':
      return {
        ...common,
        kind: 'payment',
        outRefundNo: null,
        amount: Math.abs(amount(ctx, payment)),
        status: state,
        at: time(ctx, WECHAT_COLUMNS.time),
      };
    case 'REFUND': {
      if (!ctx.header.has(WECHAT_COLUMNS.refundAmount))
        fail(ctx, `a REFUND row in a bill without the ${WECHAT_COLUMNS.refundAmount} column`);
      const refundStatus = text(ctx, WECHAT_COLUMNS.refundStatus);
      const status = refundStatus === '' ? 'SUCCESS' : WECHAT_REFUND_STATUS[refundStatus];
      if (status === undefined) fail(ctx, `${WECHAT_COLUMNS.refundStatus} "${refundStatus}" is not known`);
      return {
        ...common,
        kind: 'refund',
        outRefundNo: required(ctx, WECHAT_COLUMNS.outRefundNo),
        amount: Math.abs(amount(ctx, WECHAT_COLUMNS.refundAmount)),
        status,
        at: time(ctx, WECHAT_COLUMNS.refundedAt) ?? time(ctx, WECHAT_COLUMNS.time),
      };
    }
    default:
      return fail(ctx, `${WECHAT_COLUMNS.state} "${state}" is not SUCCESS, REFUND or REVOKED`);
  }
}

const JUHE_STATE: Readonly<Record<string, StatementLineStatus>> = { '0': 'PROCESSING', '1': 'SUCCESS', '9': 'FAILED' };

/**
 * One order of the aggregator's order list (the Juhe answer shape; its real layout is
 * UNCONFIRMED): uorderid, sporder_id, cardnum (face value, yuan), uordercash (cost, yuan),
 * game_state (0 充值中, 1 success, 9 failed), and the order's time.
 */
export function juheOrder(order: unknown, line: number, file: string): StatementLine {
  const bad = (reason: string): never => {
    throw new StatementInvalidError(file, line, reason);
  };
  if (typeof order !== 'object' || order === null || Array.isArray(order)) return bad('an order is not an object');
  const o = order as Record<string, unknown>;
  const str = (k: string): string => {
    const v = o[k];
    if (typeof v === 'number') return String(v);
    return typeof v === 'string' ? v.trim() : '';
  };
  const yuan = (k: string): number => {
    const raw = str(k);
    const fen = raw === '' ? undefined : statementYuanToFen(raw);
    return fen === undefined || fen < 0 ? bad(`${k} "${raw}" is not a yuan amount with at most two decimals`) : fen;
  };
  const outTradeNo = str('uorderid');
  if (outTradeNo === '') bad('uorderid is empty');
  const status = JUHE_STATE[str('game_state')];
  if (status === undefined) bad(`game_state "${str('game_state')}" is not 0, 1 or 9`);
  const rawTime = str('order_time');
  const at = rawTime === '' ? null : parseShanghaiTime(rawTime);
  if (at === undefined) bad(`order_time "${rawTime}" is not a time like 2026-12-04 10:11:12`);
  return {
    line,
    kind: 'recharge',
    outTradeNo,
    outRefundNo: null,
    channelId: str('sporder_id') || null,
    amount: yuan('cardnum'),
    fee: null,
    cost: str('uordercash') === '' ? null : yuan('uordercash'),
    status: status ?? 'FAILED',
    at: at ?? null,
  };
}

export type { RowContext };

import { formatShanghaiTime } from '../../domain/statements/shanghai-time.js';
import { fenToStatementYuan } from '../../domain/statements/statement-amount.js';
import type { BillEntry } from './bill-entry.js';

const GAME_STATE = { SUCCESS: '1', PROCESSING: '0', FAILED: '9', REVOKED: '9', CLOSED: '9' } as const;

/**
 * The aggregator's order list of a day, modelled on Juhe's JSON answers (`{reason, result,
 * error_code}`) with its order fields; Juhe's real orderlist layout is UNCONFIRMED.
 */
export function writeJuheOrderList(entries: Iterable<BillEntry>): Uint8Array {
  const result = [...entries].map((e) => ({
    uorderid: e.outTradeNo,
    sporder_id: e.channelId ?? '',
    cardnum: e.amount % 100 === 0 ? String(e.amount / 100) : fenToStatementYuan(e.amount),
    uordercash: fenToStatementYuan(e.cost ?? e.amount),
    game_state: GAME_STATE[e.status],
    order_time: e.at === null ? '' : formatShanghaiTime(e.at),
  }));
  return new TextEncoder().encode(JSON.stringify({ reason: '查询成功', result, error_code: 0 }));
}

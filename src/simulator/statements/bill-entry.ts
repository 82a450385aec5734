import type { StatementLine } from '../../domain/statements/statement-line.js';

/** One line a simulator writes into a statement: a statement line before it has a line number. */
export interface BillEntry extends Omit<StatementLine, 'line'> {
  /** 商品名称 / the order's subject. */
  readonly subject?: string;
  /** On a refund: the amount of the payment it gives back (WeChat's 订单金额 on a refund row). */
  readonly tradeAmount?: number;
}

/** A CSV cell: quoted when it holds a comma or a quote (a subject may). */
export function csvCell(value: string): string {
  return /[",\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

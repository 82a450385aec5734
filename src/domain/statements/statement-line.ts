/**
 * A channel's own statement (对账单), as the importers read it and reconciliation matches it:
 * Alipay's trade bill, WeChat Pay's trade bill, the recharge aggregator's order list. Amounts
 * are integer fen, parsed strictly from the statement's yuan strings (never through a float).
 */

/** The layouts an importer reads; a gateway or channel names its own. */
export const STATEMENT_FORMATS = ['alipay', 'wechatpay', 'juhe'] as const;
export type StatementFormat = (typeof STATEMENT_FORMATS)[number];

/** payment: money captured for us · refund: money given back · recharge: a phone topped up (or not). */
export type StatementLineKind = 'payment' | 'refund' | 'recharge';

/**
 * What the channel says became of the line. Payments: SUCCESS, REVOKED (cancelled after pay),
 * CLOSED. Refunds: SUCCESS (refunded), PROCESSING, FAILED. Recharges: SUCCESS, PROCESSING, FAILED.
 * WeChat's trade state REFUND on a payment row means the payment was (partly) refunded: the
 * payment line is SUCCESS and the refund is its own line.
 */
export type StatementLineStatus = 'SUCCESS' | 'PROCESSING' | 'FAILED' | 'REVOKED' | 'CLOSED';

export interface StatementLine {
  /** The data line's number in the file (1-based, counting every line read), for reports. */
  readonly line: number;
  readonly kind: StatementLineKind;
  /** Our number: out_trade_no (a payment; on a refund, the payment it gives back), or a recharge's order id. */
  readonly outTradeNo: string;
  /** Our refund number (out_refund_no / 退款批次号), on refund lines; null otherwise. */
  readonly outRefundNo: string | null;
  /** The channel's own number: Alipay trade_no, WeChat transaction_id, the aggregator's sporder_id. */
  readonly channelId: string | null;
  /** Fen, positive: the amount paid, refunded (a refund line's own amount) or the face value topped up. */
  readonly amount: number;
  /** The channel's fee on this line in fen (服务费 / 手续费), null when the layout does not say. */
  readonly fee: number | null;
  /** What a recharge cost us at the channel in fen (Juhe uordercash), null otherwise or when not said. */
  readonly cost: number | null;
  readonly status: StatementLineStatus;
  /** When it completed (ms since epoch; the statements' times are Asia/Shanghai), null when not said. */
  readonly at: number | null;
}

/** A statement file as fetched from a channel or given by a person: its layout and its bytes. */
export interface StatementFile {
  readonly format: StatementFormat;
  /** The file as downloaded (Alipay: a zip of GBK CSVs; WeChat: a UTF-8 CSV, gunzipped; Juhe: JSON). */
  readonly bytes: Uint8Array;
  /** A name for reports and logs, e.g. `alipay-2026-12-04.zip`. */
  readonly name: string;
}

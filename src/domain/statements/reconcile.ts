import type { StatementLine, StatementLineKind, StatementLineStatus } from './statement-line.js';

/**
 * Reconciliation (对账): our records against a channel's statement of one business day, matched
 * on our numbers (out_trade_no, out_refund_no, the recharge order id) and amounts. Pure: the
 * application gathers our side (records of the day ±1 for the cut-off, 日切) and the statement's
 * lines, and this decides, item by item, which category each falls in and what repair to propose.
 */

/** What our side says of an item, in the statement's vocabulary; NONE: nothing happened yet (never sent, not paid). */
export type LocalStatus = StatementLineStatus | 'NONE';

/** The record of ours an item stands for. */
export interface LocalRef {
  readonly type: 'payment' | 'top_up' | 'refund' | 'top_up_refund' | 'recharge';
  readonly id: string;
  readonly tenantId: string;
}

/** One item of ours: a payment's attempt, a top-up, a refund, a recharge's attempt at the channel. */
export interface LocalItem {
  readonly kind: StatementLineKind;
  readonly ref: LocalRef;
  readonly outTradeNo: string;
  readonly outRefundNo: string | null;
  readonly channelId: string | null;
  /** Fen. */
  readonly amount: number;
  readonly status: LocalStatus;
  /** When it completed (or last changed), ms. */
  readonly at: number;
}

export const CATEGORIES = [
  'matched',
  'missing_locally',
  'missing_at_channel',
  'amount_mismatch',
  'status_mismatch',
  'fee_mismatch',
  'duplicates',
  'explained',
] as const;
export type Category = (typeof CATEGORIES)[number];
/** The categories that need something done; a day is clean when all are empty. */
export const PROBLEM_CATEGORIES: readonly Category[] = [
  'missing_locally',
  'missing_at_channel',
  'amount_mismatch',
  'status_mismatch',
  'fee_mismatch',
  'duplicates',
];

/**
 * settle_from_channel: 补单 — ask the channel and settle our record from its answer through the
 * same commit paths as a callback or a repair rule · refund_unknown_capture: money captured under
 * a number we never sold is given back · recheck: missing at the channel, asked again at T+2 ·
 * flag: a person looks.
 */
export const REPAIR_ACTIONS = ['settle_from_channel', 'refund_unknown_capture', 'recheck', 'flag'] as const;
export type RepairAction = (typeof REPAIR_ACTIONS)[number];

export interface ProposedRepair {
  readonly action: RepairAction;
  /** Not before this instant (ms): a recheck waits for T+2. */
  readonly notBefore: number | null;
  readonly why: string;
}

export interface ReportItem {
  /** `kind:number`: what a repair and a re-run name the item by. */
  readonly key: string;
  readonly category: Category;
  readonly kind: StatementLineKind;
  readonly out_trade_no: string;
  readonly out_refund_no: string | null;
  readonly channel_id: string | null;
  readonly local_amount: number | null;
  readonly channel_amount: number | null;
  readonly local_status: LocalStatus | null;
  readonly channel_status: StatementLineStatus | null;
  readonly channel_fee: number | null;
  readonly expected_fee: number | null;
  readonly resource: { readonly type: LocalRef['type']; readonly id: string; readonly tenant_id: string } | null;
  /** The statement lines it was read from. */
  readonly lines: readonly number[];
  /**
   * Set when the item was found on a neighbouring day's statement (the ±1-day cut-off window, 日切):
   * that day (YYYY-MM-DD), and `lines` are that statement's. Null: this day's statement.
   */
  readonly statement_date: string | null;
  readonly repair: ProposedRepair | null;
}

export interface CategoryTotal {
  readonly count: number;
  readonly local_amount: number;
  readonly channel_amount: number;
}

export interface ReconciliationReport {
  readonly matched: readonly ReportItem[];
  readonly missing_locally: readonly ReportItem[];
  readonly missing_at_channel: readonly ReportItem[];
  readonly amount_mismatch: readonly ReportItem[];
  readonly status_mismatch: readonly ReportItem[];
  readonly fee_mismatch: readonly ReportItem[];
  readonly duplicates: readonly ReportItem[];
  /** Problems an applied repair already answers (a flag a person holds, a capture given back). */
  readonly explained: readonly ReportItem[];
  readonly totals: {
    readonly statement: {
      readonly lines: number;
      readonly payments: number;
      readonly refunds: number;
      readonly recharges: number;
      readonly fees: number;
    };
    readonly categories: Readonly<Record<Category, CategoryTotal>>;
  };
  /** No item in a problem category. */
  readonly clean: boolean;
}

export interface ReconcileInput {
  /** The business day: [from, to) in ms. */
  readonly day: { readonly from: number; readonly to: number };
  readonly lines: Iterable<StatementLine>;
  /** Our item for a key (`keyOf`), whatever day it belongs to (the cut-off window). */
  readonly local: ReadonlyMap<string, LocalItem>;
  /** Our items of the day itself: whichever the statement lacks are missing at the channel. */
  readonly ofTheDay: Iterable<LocalItem>;
  /** The fee the channel should take on a payment of `amount` fen, or null when not configured. */
  readonly expectedFee: (kind: StatementLineKind, amount: number) => number | null;
  /** Keys whose problem an applied repair already answers. */
  readonly explained: ReadonlySet<string>;
  /** How long after the day a missing item is asked about again (T+2). */
  readonly recheckAfterMs: number;
  /**
   * The neighbouring days' statement lines by key (`keyOf`), where they could be had: an item of
   * the day that this day's statement lacks but the day before's or after's holds crossed
   * midnight between the channel's clock and ours, and is matched there, not missing.
   */
  readonly neighbours?: ReadonlyMap<string, NeighbourLine>;
}

/** A line of a neighbouring day's statement. */
export interface NeighbourLine {
  /** Its statement's day, YYYY-MM-DD. */
  readonly date: string;
  readonly line: StatementLine;
}

/** The key an item and its statement line share: refunds by out_refund_no, the rest by out_trade_no. */
export function keyOf(item: {
  readonly kind: StatementLineKind;
  readonly outTradeNo: string;
  readonly outRefundNo: string | null;
}): string {
  return item.kind === 'refund' ? `refund:${item.outRefundNo ?? item.outTradeNo}` : `${item.kind}:${item.outTradeNo}`;
}

/** Statuses that mean money moved (or the top-up happened). */
const DONE: ReadonlySet<LocalStatus> = new Set(['SUCCESS']);
const WAITING: ReadonlySet<LocalStatus> = new Set(['PROCESSING', 'NONE']);
/** Ways of not having happened that amount to the same thing (a closed trade, a failed one). */
const UNDONE: ReadonlySet<LocalStatus> = new Set(['FAILED', 'CLOSED', 'REVOKED']);

function sameOutcome(a: LocalStatus, b: LocalStatus): boolean {
  return a === b || (WAITING.has(a) && WAITING.has(b)) || (UNDONE.has(a) && UNDONE.has(b));
}

export function reconcile(input: ReconcileInput): ReconciliationReport {
  const byKey = new Map<string, StatementLine[]>();
  const totals = { lines: 0, payments: 0, refunds: 0, recharges: 0, fees: 0 };
  for (const line of input.lines) {
    totals.lines++;
    if (line.kind === 'payment') totals.payments += line.amount;
    else if (line.kind === 'refund') totals.refunds += line.amount;
    else totals.recharges += line.amount;
    totals.fees += line.fee ?? 0;
    const k = keyOf(line);
    const seen = byKey.get(k);
    if (seen === undefined) byKey.set(k, [line]);
    else seen.push(line);
  }
  const out: Record<Category, ReportItem[]> = {
    matched: [],
    missing_locally: [],
    missing_at_channel: [],
    amount_mismatch: [],
    status_mismatch: [],
    fee_mismatch: [],
    duplicates: [],
    explained: [],
  };
  const settleAfter = input.day.to;
  const put = (item: Omit<ReportItem, 'repair'> & { readonly repair: ProposedRepair | null }): void => {
    const category = item.category !== 'matched' && input.explained.has(item.key) ? 'explained' : item.category;
    out[category].push({ ...item, category });
  };

  /** One item the statement (this day's, or a neighbour's) has lines for, against ours. */
  const judge = (key: string, lines: readonly StatementLine[], mine: LocalItem | undefined, date: string | null) => {
    const line = lines[0]!;
    const expectedFee = line.kind === 'payment' ? input.expectedFee(line.kind, line.amount) : null;
    const base = {
      key,
      kind: line.kind,
      out_trade_no: line.outTradeNo,
      out_refund_no: line.outRefundNo,
      channel_id: line.channelId ?? mine?.channelId ?? null,
      local_amount: mine?.amount ?? null,
      channel_amount: line.amount,
      local_status: mine?.status ?? null,
      channel_status: line.status,
      channel_fee: line.fee,
      expected_fee: expectedFee,
      resource: mine === undefined ? null : { type: mine.ref.type, id: mine.ref.id, tenant_id: mine.ref.tenantId },
      lines: lines.map((l) => l.line),
      statement_date: date,
    };
    if (lines.length > 1) {
      put({ ...base, category: 'duplicates', repair: flag(`${lines.length} lines for one ${line.kind}`) });
      return;
    }
    if (mine === undefined) {
      const unknownCapture = line.kind === 'payment' && line.status === 'SUCCESS';
      put({
        ...base,
        category: 'missing_locally',
        repair: unknownCapture
          ? { action: 'refund_unknown_capture', notBefore: null, why: 'captured under a number we never sold' }
          : flag(`the channel has a ${line.kind} we have no record of`),
      });
      return;
    }
    if (mine.amount !== line.amount) {
      put({
        ...base,
        category: 'amount_mismatch',
        repair: flag(`we say ${mine.amount} fen, the channel ${line.amount}`),
      });
      return;
    }
    if (!sameOutcome(mine.status, line.status)) {
      // Ours still waiting (or given up on) while the channel settled it: settle from the channel's
      // truth. Ours done while the channel says otherwise: that is for a person.
      const why = `we say ${mine.status}, the channel ${line.status}`;
      put({
        ...base,
        category: 'status_mismatch',
        repair: DONE.has(mine.status) ? flag(why) : { action: 'settle_from_channel', notBefore: null, why },
      });
      return;
    }
    if (expectedFee !== null && line.fee !== null && expectedFee !== line.fee) {
      put({ ...base, category: 'fee_mismatch', repair: flag(`fee ${line.fee} fen, expected ${expectedFee}`) });
      return;
    }
    put({ ...base, category: 'matched', repair: null });
  };

  for (const [key, lines] of byKey) judge(key, lines, input.local.get(key), null);

  for (const mine of input.ofTheDay) {
    const key = keyOf(mine);
    if (byKey.has(key) || !DONE.has(mine.status)) continue;
    // Completed after the day closed: it belongs to the next day's statement (日切).
    if (mine.at >= input.day.to || mine.at < input.day.from) continue;
    // Ours says this day, the channel's clock the day before or after: matched there (日切).
    const neighbour = input.neighbours?.get(key);
    if (neighbour !== undefined) {
      judge(key, [neighbour.line], mine, neighbour.date);
      continue;
    }
    put({
      key,
      category: 'missing_at_channel',
      kind: mine.kind,
      out_trade_no: mine.outTradeNo,
      out_refund_no: mine.outRefundNo,
      channel_id: mine.channelId,
      local_amount: mine.amount,
      channel_amount: null,
      local_status: mine.status,
      channel_status: null,
      channel_fee: null,
      expected_fee: null,
      resource: { type: mine.ref.type, id: mine.ref.id, tenant_id: mine.ref.tenantId },
      lines: [],
      statement_date: null,
      repair: {
        action: 'recheck',
        notBefore: settleAfter + input.recheckAfterMs,
        why:
          "not on the statement (nor, where they could be had, the neighbouring days'): " +
          'asked again at T+2, then a person looks',
      },
    });
  }

  const categories = Object.fromEntries(
    CATEGORIES.map((c) => [
      c,
      {
        count: out[c].length,
        local_amount: out[c].reduce((s, i) => s + (i.local_amount ?? 0), 0),
        channel_amount: out[c].reduce((s, i) => s + (i.channel_amount ?? 0), 0),
      },
    ]),
  ) as Record<Category, CategoryTotal>;
  return {
    ...out,
    totals: { statement: totals, categories },
    clean: PROBLEM_CATEGORIES.every((c) => out[c].length === 0),
  };
}

function flag(why: string): ProposedRepair {
  return { action: 'flag', notBefore: null, why };
}

import { describe, expect, it } from 'vitest';
import { type Category, keyOf, type LocalItem, reconcile, type ReconcileInput } from './reconcile.js';
import type { StatementLine } from './statement-line.js';

const DAY = { from: Date.UTC(2026, 11, 3, 16), to: Date.UTC(2026, 11, 4, 16) }; // 2026-12-04 in Shanghai
const NOON = DAY.from + 12 * 3_600_000;

const line = (n: number, over: Partial<StatementLine> & Pick<StatementLine, 'outTradeNo'>): StatementLine => ({
  line: n,
  kind: 'payment',
  outRefundNo: null,
  channelId: `T${n}`,
  amount: 2300,
  fee: 14,
  cost: null,
  status: 'SUCCESS',
  at: NOON,
  ...over,
});
const mine = (over: Partial<LocalItem> & Pick<LocalItem, 'outTradeNo'>): LocalItem => ({
  kind: 'payment',
  ref: { type: 'payment', id: over.outTradeNo.replace(/_\d+$/, ''), tenantId: 'default' },
  outRefundNo: null,
  channelId: null,
  amount: 2300,
  status: 'SUCCESS',
  at: NOON,
  ...over,
});

function run(lines: StatementLine[], local: LocalItem[], more: Partial<ReconcileInput> = {}) {
  return reconcile({
    day: DAY,
    lines,
    local: new Map(local.map((l) => [keyOf(l), l])),
    ofTheDay: local,
    expectedFee: (_k, amount) => Math.round((amount * 60) / 10_000),
    explained: new Set(),
    recheckAfterMs: 2 * 86_400_000,
    ...more,
  });
}

describe('reconcile: our records against a statement', () => {
  it('puts each item in its category with the repair it needs, and totals in fen', () => {
    const r = run(
      [
        line(5, { outTradeNo: 'pay_ok_1' }),
        line(6, { outTradeNo: 'pay_stranger_1' }),
        line(7, { outTradeNo: 'pay_amount_1', amount: 2400 }),
        line(8, { outTradeNo: 'pay_pending_1' }),
        line(9, { outTradeNo: 'pay_fee_1', fee: 30 }),
        line(10, { outTradeNo: 'pay_dup_1' }),
        line(11, { outTradeNo: 'pay_dup_1' }),
        line(12, { kind: 'refund', outTradeNo: 'pay_ok_1', outRefundNo: 'pay_ok_r1', amount: 500, fee: null }),
        line(13, { kind: 'refund', outTradeNo: 'pay_x_1', outRefundNo: 'pay_x_r1', amount: 100, fee: null }),
      ],
      [
        mine({ outTradeNo: 'pay_ok_1' }),
        mine({ outTradeNo: 'pay_amount_1' }),
        mine({ outTradeNo: 'pay_pending_1', status: 'PROCESSING' }),
        mine({ outTradeNo: 'pay_fee_1' }),
        mine({ outTradeNo: 'pay_dup_1' }),
        mine({ outTradeNo: 'pay_lost_1' }),
        mine({ outTradeNo: 'pay_unpaid_1', status: 'NONE' }),
        mine({ outTradeNo: 'pay_tomorrow_1', at: DAY.to + 60_000 }),
        mine({
          kind: 'refund',
          outTradeNo: 'pay_ok_1',
          outRefundNo: 'pay_ok_r1',
          amount: 500,
          status: 'PROCESSING',
          ref: { type: 'refund', id: 'rfd_1', tenantId: 'default' },
        }),
      ],
    );
    const keys = (c: Category) => r[c].map((i) => i.key);
    expect(keys('matched')).toEqual(['payment:pay_ok_1']);
    expect(keys('missing_locally')).toEqual(['payment:pay_stranger_1', 'refund:pay_x_r1']);
    expect(r.missing_locally.map((i) => i.repair?.action)).toEqual(['refund_unknown_capture', 'flag']);
    expect(keys('amount_mismatch')).toEqual(['payment:pay_amount_1']);
    expect(r.amount_mismatch[0]).toMatchObject({
      local_amount: 2300,
      channel_amount: 2400,
      repair: { action: 'flag' },
    });
    expect(keys('status_mismatch')).toEqual(['payment:pay_pending_1', 'refund:pay_ok_r1']);
    expect(r.status_mismatch.map((i) => i.repair?.action)).toEqual(['settle_from_channel', 'settle_from_channel']);
    expect(keys('fee_mismatch')).toEqual(['payment:pay_fee_1']);
    expect(r.fee_mismatch[0]).toMatchObject({ channel_fee: 30, expected_fee: 14 });
    expect(r.duplicates).toHaveLength(1);
    expect(r.duplicates[0]).toMatchObject({ key: 'payment:pay_dup_1', lines: [10, 11] });
    // Ours paid that day and not on the statement; unpaid or completed after midnight are not.
    expect(keys('missing_at_channel')).toEqual(['payment:pay_lost_1']);
    expect(r.missing_at_channel[0]!.repair).toMatchObject({ action: 'recheck', notBefore: DAY.to + 2 * 86_400_000 });
    expect(r.clean).toBe(false);
    expect(r.totals.statement).toEqual({
      lines: 9,
      payments: 6 * 2300 + 2400,
      refunds: 600,
      recharges: 0,
      fees: 14 * 6 + 30,
    });
    expect(r.totals.categories.missing_locally).toEqual({ count: 2, local_amount: 0, channel_amount: 2400 });
  });

  it('a day whose problems have applied repairs is clean; a waiting recharge the channel failed is settled', () => {
    const lines = [
      line(1, { outTradeNo: 'pay_stranger_1' }),
      line(2, { kind: 'recharge', outTradeNo: 'rchA1', amount: 5000, fee: null, cost: 4990, status: 'FAILED' }),
    ];
    const recharge = mine({
      kind: 'recharge',
      outTradeNo: 'rchA1',
      amount: 5000,
      status: 'PROCESSING',
      ref: { type: 'recharge', id: 'rch_A', tenantId: 'default' },
    });
    const first = run(lines, [recharge]);
    expect(first.status_mismatch[0]).toMatchObject({
      key: 'recharge:rchA1',
      repair: { action: 'settle_from_channel' },
    });
    const after = run(lines, [{ ...recharge, status: 'FAILED' }], { explained: new Set(['payment:pay_stranger_1']) });
    expect(after.clean).toBe(true);
    expect(after.matched.map((i) => i.key)).toEqual(['recharge:rchA1']);
    expect(after.explained.map((i) => i.key)).toEqual(['payment:pay_stranger_1']);
  });

  it('ours done while the channel says failed is for a person; a closed trade and a failed one agree', () => {
    const r = run(
      [line(1, { outTradeNo: 'pay_a_1', status: 'REVOKED' }), line(2, { outTradeNo: 'pay_b_1', status: 'CLOSED' })],
      [mine({ outTradeNo: 'pay_a_1' }), mine({ outTradeNo: 'pay_b_1', status: 'FAILED' })],
    );
    expect(r.status_mismatch.map((i) => [i.key, i.repair?.action])).toEqual([['payment:pay_a_1', 'flag']]);
    expect(r.matched.map((i) => i.key)).toEqual(['payment:pay_b_1']);
  });

  it("the cut-off window: a neighbouring day's statement matches an item, or judges it against its line", () => {
    const late = mine({ outTradeNo: 'pay_late_1', at: DAY.from + 3_000 });
    const other = mine({ outTradeNo: 'pay_other_1', at: DAY.to - 2_000 });
    const gone = mine({ outTradeNo: 'pay_gone_1' });
    const r = run([], [late, other, gone], {
      neighbours: new Map([
        [keyOf(late), { date: '2026-12-03', line: line(4, { outTradeNo: 'pay_late_1', at: DAY.from - 2_000 }) }],
        [keyOf(other), { date: '2026-12-05', line: line(2, { outTradeNo: 'pay_other_1', amount: 2400 }) }],
      ]),
    });
    expect(r.matched).toEqual([
      expect.objectContaining({ key: 'payment:pay_late_1', statement_date: '2026-12-03', lines: [4], repair: null }),
    ]);
    expect(r.amount_mismatch).toEqual([
      expect.objectContaining({ key: 'payment:pay_other_1', statement_date: '2026-12-05', channel_amount: 2400 }),
    ]);
    expect(r.missing_at_channel).toEqual([
      expect.objectContaining({
        key: 'payment:pay_gone_1',
        statement_date: null,
        repair: expect.objectContaining({ action: 'recheck' }) as unknown,
      }),
    ]);
  });

  it("an item dated by when its money moved on another day is not this day's (a capture refunded the next day)", () => {
    const capturedYesterday = mine({ outTradeNo: 'pay_y_1', at: DAY.from - 60_000 });
    const r = run(
      [line(3, { kind: 'refund', outTradeNo: 'pay_y_1', outRefundNo: 'pay_y_r1', amount: 2300, fee: null })],
      [
        capturedYesterday,
        mine({
          kind: 'refund',
          outTradeNo: 'pay_y_1',
          outRefundNo: 'pay_y_r1',
          ref: { type: 'refund', id: 'r1', tenantId: 'default' },
        }),
      ],
    );
    expect(r.clean).toBe(true);
    expect(r.matched.map((i) => i.key)).toEqual(['refund:pay_y_r1']);
  });
});

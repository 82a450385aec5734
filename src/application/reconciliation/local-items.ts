import { keys } from '../../domain/keys.js';
import type { PaymentStatus } from '../../domain/payment.js';
import type { RefundStatus } from '../../domain/refund.js';
import type { TopUpStatus } from '../../domain/wallet.js';
import type { RechargeAttempt } from '../../domain/recharge/recharge.js';
import { keyOf, type LocalItem, type LocalStatus } from '../../domain/statements/reconcile.js';
import type { StatementLine } from '../../domain/statements/statement-line.js';
import type { PaymentRecord, RechargeRecord, RefundRecord, TopUpRecord } from '../../ports/records.js';
import type { ReadRepositories } from '../../ports/repositories.js';

/** What a statement source is: a payment gateway (payments, top-ups, refunds) or a recharge channel. */
export type SourceKind = 'gateway' | 'channel';

const DAY_MS = 86_400_000;
const PAGE = 500;

const PAYMENT_STATUS: Readonly<Record<PaymentStatus, LocalStatus>> = {
  CREATED: 'NONE',
  PENDING: 'PROCESSING',
  PAID: 'SUCCESS',
  PARTIALLY_REFUNDED: 'SUCCESS',
  REFUNDED: 'SUCCESS',
  FAILED: 'FAILED',
  CANCELLED: 'CLOSED',
};
const MONEY_STATUS: Readonly<Record<TopUpStatus, LocalStatus>> = {
  PENDING: 'PROCESSING',
  SUCCEEDED: 'SUCCESS',
  FAILED: 'FAILED',
};
/** A refund settled outside the system never happened at the gateway: its statement has no line for it. */
const REFUND_STATUS: Readonly<Record<RefundStatus, LocalStatus>> = { ...MONEY_STATUS, SETTLED_OUTSIDE: 'FAILED' };

export function paymentItem(p: PaymentRecord): LocalItem | undefined {
  if (p.outTradeNo === null) return undefined;
  return {
    kind: 'payment',
    ref: { type: 'payment', id: p.id, tenantId: p.tenantId },
    outTradeNo: p.outTradeNo,
    outRefundNo: null,
    channelId: p.gatewayTradeNo,
    amount: p.amount,
    status: PAYMENT_STATUS[p.status],
    at: p.settledAt ?? p.updatedAt,
  };
}

export function topUpItems(t: TopUpRecord): LocalItem[] {
  const paid: LocalItem = {
    kind: 'payment',
    ref: { type: 'top_up', id: t.id, tenantId: t.tenantId },
    outTradeNo: t.outTradeNo,
    outRefundNo: null,
    channelId: t.gatewayTradeNo,
    amount: t.amount,
    status: MONEY_STATUS[t.status],
    at: t.settledAt ?? t.updatedAt,
  };
  if (t.refundStatus === undefined) return [paid];
  // A directly paid recharge that failed gives its payment back under its own refund number.
  const givenBack: LocalItem = {
    kind: 'refund',
    ref: { type: 'top_up_refund', id: t.id, tenantId: t.tenantId },
    outTradeNo: t.outTradeNo,
    outRefundNo: keys.topUpRefund(t.id),
    channelId: null,
    amount: t.amount,
    status: MONEY_STATUS[t.refundStatus],
    at: t.refundSettledAt ?? t.updatedAt,
  };
  return [paid, givenBack];
}

export function refundItem(r: RefundRecord, outTradeNo: string): LocalItem {
  return {
    kind: 'refund',
    ref: { type: 'refund', id: r.id, tenantId: r.tenantId },
    outTradeNo,
    outRefundNo: r.outRefundNo,
    channelId: r.gatewayRefundNo,
    amount: r.amount,
    status: REFUND_STATUS[r.status],
    at: r.settledAt ?? r.updatedAt,
  };
}

/** Each attempt a recharge sent to `channel`, as the channel's order list would show it. */
export function rechargeItems(rec: RechargeRecord, channel: string): LocalItem[] {
  const { attempts } = rec.state;
  return attempts
    .filter((a) => a.channel === channel)
    .map((a) => ({
      kind: 'recharge' as const,
      ref: { type: 'recharge' as const, id: rec.id, tenantId: rec.tenantId },
      outTradeNo: a.key,
      outRefundNo: null,
      channelId: a.channelOrderId ?? null,
      amount: rec.amount,
      status: attemptStatus(rec, a, a === attempts.at(-1)),
      at: a.settledAt ?? rec.updatedAt,
    }));
}

function attemptStatus(rec: RechargeRecord, a: RechargeAttempt, current: boolean): LocalStatus {
  if (a.lateSuccess === true) return 'SUCCESS';
  if (a.failure !== undefined) return 'FAILED';
  if (!current) return 'FAILED';
  switch (rec.state.status) {
    case 'SUCCEEDED':
      return 'SUCCESS';
    case 'FAILED':
      return 'FAILED';
    default:
      return 'PROCESSING';
  }
}

/*
 * Each item is dated by when its money moved (`settledAt`: the capture, the refund, the top-up of
 * the phone — the channel's own time where it reported one), which is the day the channel's
 * statement lists it on; records from before 0025 fall back to their last update.
 */

/**
 * Our side of a source's day: every item created from the day before (a payment opened at
 * 23:59 completes after midnight) to the day's end, and, for each statement line none of those
 * answers, the record its number names, whenever it was made (the cut-off window and older).
 */
export async function gatherLocal(
  read: ReadRepositories,
  source: { readonly kind: SourceKind; readonly name: string },
  day: { readonly from: number; readonly to: number },
  lines: readonly StatementLine[],
): Promise<{ readonly local: Map<string, LocalItem>; readonly ofTheDay: LocalItem[] }> {
  const ofTheDay: LocalItem[] = [];
  const from = day.from - DAY_MS;
  const paymentsById = new Map<string, string>();
  if (source.kind === 'gateway') {
    await pages(
      (after) => read.payments.listByGateway(source.name, from, day.to, after, PAGE),
      (p) => {
        if (p.outTradeNo !== null) paymentsById.set(p.id, p.outTradeNo);
        const item = paymentItem(p);
        if (item !== undefined) ofTheDay.push(item);
      },
    );
    await pages(
      (after) => read.topUps.listByGateway(source.name, from, day.to, after, PAGE),
      (t) => void ofTheDay.push(...topUpItems(t)),
    );
    await pages(
      (after) => read.refunds.listByGateway(source.name, from, day.to, after, PAGE),
      async (r) => {
        const outTradeNo =
          paymentsById.get(r.paymentId) ?? (await read.payments.get(r.tenantId, r.paymentId))?.outTradeNo;
        if (outTradeNo !== undefined && outTradeNo !== null) ofTheDay.push(refundItem(r, outTradeNo));
      },
    );
  } else {
    await pages(
      (after) => read.recharges.listCreated(from, day.to, after, PAGE),
      (rec) => void ofTheDay.push(...rechargeItems(rec, source.name)),
    );
  }
  const local = new Map(ofTheDay.map((i) => [keyOf(i), i]));
  for (const line of lines) {
    const key = keyOf(line);
    if (local.has(key)) continue;
    for (const item of await lookUp(read, source.name, line)) local.set(keyOf(item), item);
  }
  return { local, ofTheDay };
}

/** The record a statement line's number names, outside the day's window. */
async function lookUp(read: ReadRepositories, source: string, line: StatementLine): Promise<LocalItem[]> {
  switch (line.kind) {
    case 'payment': {
      const p = await read.payments.getByOutTradeNo(line.outTradeNo);
      if (p !== undefined) return p.gateway === source ? [paymentItem(p)].filter((i) => i !== undefined) : [];
      const t = await read.topUps.getByOutTradeNo(line.outTradeNo);
      return t !== undefined && t.gateway === source ? topUpItems(t) : [];
    }
    case 'refund': {
      if (line.outRefundNo === null) return [];
      const r = await read.refunds.getByOutRefundNo(line.outRefundNo);
      if (r !== undefined) {
        const p = await read.payments.get(r.tenantId, r.paymentId);
        return p?.outTradeNo == null || p.gateway !== source ? [] : [refundItem(r, p.outTradeNo)];
      }
      const t = await read.topUps.getByOutTradeNo(line.outTradeNo);
      return t !== undefined && t.gateway === source ? topUpItems(t) : [];
    }
    case 'recharge': {
      const rec = await read.recharges.getByAttemptKey(line.outTradeNo);
      return rec === undefined ? [] : rechargeItems(rec, source);
    }
    default: {
      const never: never = line.kind;
      throw new Error(`unknown statement line kind ${String(never)}`);
    }
  }
}

async function pages<T extends { readonly id: string }>(
  page: (afterId: string | null) => Promise<readonly T[]>,
  each: (row: T) => void | Promise<void>,
): Promise<void> {
  let after: string | null = null;
  for (;;) {
    const rows = await page(after);
    for (const row of rows) await each(row);
    if (rows.length < PAGE) return;
    after = rows.at(-1)!.id;
  }
}

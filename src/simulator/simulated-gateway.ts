import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { isCurrency, type Money } from '../domain/money.js';
import {
  type CreatePaymentRequest,
  type GatewayNotification,
  type GatewayPaymentResult,
  type GatewayRefundResult,
  GatewayUnknownOutcomeError,
  type NotificationAck,
  type NotificationVerdict,
  type PaymentGateway,
  type RawNotification,
  type RefundRequest,
} from '../ports/payment-gateway.js';
import { Chaos, type ChaosSettings } from './chaos.js';
import { Journal } from './journal.js';
import { isBusinessDate, shanghaiDate } from '../domain/statements/shanghai-time.js';
import type { StatementFile } from '../domain/statements/statement-line.js';
import type { BillEntry } from './statements/bill-entry.js';
import { writeAlipayBill } from './statements/alipay-bill-writer.js';
import { writeWechatBill } from './statements/wechat-bill-writer.js';

/** What really happened at the simulated gateway: the ground truth tests check against. */
export type GroundTruthEvent =
  | {
      readonly type: 'capture';
      readonly outTradeNo: string;
      readonly payer: string;
      readonly amount: Money;
      readonly seq: number;
    }
  | {
      readonly type: 'refund';
      readonly outTradeNo: string;
      readonly outRefundNo: string;
      readonly amount: Money;
      readonly seq: number;
    };

/** A trade in the simulator's order book. `pending` waits for the (simulated) payer. */
export interface SimTrade {
  readonly outTradeNo: string;
  readonly tradeNo: string;
  readonly payer: string;
  readonly amount: Money;
  readonly method: string;
  readonly subject: string;
  readonly notifyUrl: string | undefined;
  status: 'succeeded' | 'failed' | 'closed' | 'pending';
  failureCode?: string;
  refunded: number;
  readonly refunds: Map<string, { readonly amount: number; readonly refundNo: string; readonly at: number }>;
  /** When the trade was paid, closed or failed (ms); undefined while pending. */
  completedAt?: number;
}

/** Something the simulator tells the merchant asynchronously (a callback to be delivered). */
export type SimEvent =
  | { readonly kind: 'payment'; readonly trade: SimTrade }
  | {
      readonly kind: 'refund';
      readonly trade: SimTrade;
      readonly outRefundNo: string;
      readonly amount: number;
      readonly refundNo: string;
    };

export interface SimulatedGatewayOptions {
  readonly name?: string;
  readonly chaos?: Partial<ChaosSettings>;
  readonly seed?: number;
  /** Each payer's starting balance in minor units. */
  readonly startingBalance?: number;
  /** Keep the order book in this file so it survives the process (crash tests). */
  readonly journalPath?: string;
  /**
   * Methods whose create waits for the payer (a QR code to scan) instead of charging at once.
   * Defaults to none: every method charges like a wallet, which keeps the embedded demo instant.
   */
  readonly payerActionMethods?: readonly string[];
  /** The simulated payer pays a waiting trade after this long (ms); undefined = only `payPending`. */
  readonly payerDelayMs?: number;
  /** Secret the simulator signs its own notifications with (HMAC-SHA256). */
  readonly notifySecret?: string;
  /** The clock that stamps completions (what puts a trade on a day's statement). */
  readonly now?: () => number;
  /** The layout `statement(date)` gives (default `alipay`). */
  readonly statementFormat?: 'alipay' | 'wechatpay';
  /**
   * The page a payer opens (or whose QR code they scan) to pay a waiting trade, by trade number.
   * Asked each time a trade is shown, so it may follow an address known only once a server listens.
   */
  readonly payPageUrl?: (tradeNo: string) => string;
}

type JournalEntry =
  | {
      readonly type: 'trade';
      readonly outTradeNo: string;
      readonly tradeNo: string;
      readonly payer: string;
      readonly amount: Money;
      readonly status: 'succeeded' | 'failed' | 'pending';
      readonly failureCode?: string;
      readonly method?: string;
      readonly subject?: string;
      readonly notifyUrl?: string;
      readonly at?: number;
    }
  | {
      readonly type: 'settle';
      readonly outTradeNo: string;
      readonly status: 'succeeded' | 'failed' | 'closed';
      readonly failureCode?: string;
      readonly at?: number;
    }
  | {
      readonly type: 'refund';
      readonly outTradeNo: string;
      readonly outRefundNo: string;
      readonly amount: Money;
      readonly refundNo?: string;
      readonly at?: number;
    };

export const SIM_METHODS = ['wallet', 'alipay_qr', 'wechat_native', 'sim_qr'] as const;

/** The methods whose trades wait for the payer (a QR code), at the simulator as at a real gateway. */
export const SIM_QR_METHODS = ['alipay_qr', 'wechat_native', 'sim_qr'] as const;

/**
 * The built-in payment gateway: an in-process stand-in for a real one, with its own order book,
 * payer balances, idempotency on outTradeNo, chaos knobs and a ground-truth log. A second create
 * with the same outTradeNo never charges again — as real gateways behave. The Alipay and WeChat
 * Pay faces of the simulator (HTTP servers speaking those protocols) share this order book.
 */
export class SimulatedGateway implements PaymentGateway {
  readonly name: string;
  readonly methods: readonly string[] = SIM_METHODS;
  readonly chaos: Chaos;
  private readonly trades = new Map<string, SimTrade>();
  /** tradeNo → outTradeNo: the pay page names a trade by the gateway's number. */
  private readonly tradeNos = new Map<string, string>();
  private readonly payPageUrl: (tradeNo: string) => string;
  /** outRefundNo → outTradeNo: protocols that look refunds up by refund number alone (WeChat Pay). */
  private readonly refundIndex = new Map<string, string>();
  private readonly balances = new Map<string, number>();
  private readonly truth: GroundTruthEvent[] = [];
  private readonly startingBalance: number;
  private readonly payerActionMethods: ReadonlySet<string>;
  private readonly payerDelayMs: number | undefined;
  private readonly listeners: Array<(e: SimEvent) => void> = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  readonly notifySecret: string;
  private seq = 0;
  private refundSeq = 0;
  /** Calls seen, by method, for tests and benchmarks. */
  readonly calls = { create: 0, query: 0, refund: 0, queryRefund: 0, close: 0 };

  private readonly journal: Journal | undefined;
  private readonly now: () => number;
  private readonly statementFormat: 'alipay' | 'wechatpay';

  constructor(options: SimulatedGatewayOptions = {}) {
    this.name = options.name ?? 'simulator';
    this.now = options.now ?? Date.now;
    this.statementFormat = options.statementFormat ?? 'alipay';
    this.chaos = new Chaos(options.chaos ?? {}, options.seed ?? 42);
    this.startingBalance = options.startingBalance ?? 100_000_000;
    this.payerActionMethods = new Set(options.payerActionMethods ?? []);
    this.payerDelayMs = options.payerDelayMs;
    this.notifySecret = options.notifySecret ?? 'simulator-notify-secret';
    this.payPageUrl = options.payPageUrl ?? ((tradeNo) => `https://sim.autoglm.local/pay/${tradeNo}`);
    if (options.journalPath !== undefined) {
      this.journal = new Journal(options.journalPath);
      for (const e of this.journal.load() as JournalEntry[]) this.apply(e);
    }
  }

  /** Be told of every payment or refund outcome (the faces turn these into signed callbacks). */
  onEvent(listener: (e: SimEvent) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** Apply one order-book event (live, or replayed from the journal). */
  private apply(e: JournalEntry): void {
    switch (e.type) {
      case 'trade': {
        const trade: SimTrade = {
          outTradeNo: e.outTradeNo,
          tradeNo: e.tradeNo,
          payer: e.payer,
          amount: e.amount,
          method: e.method ?? 'wallet',
          subject: e.subject ?? '',
          notifyUrl: e.notifyUrl,
          status: e.status,
          refunded: 0,
          refunds: new Map(),
        };
        if (e.failureCode !== undefined) trade.failureCode = e.failureCode;
        if (e.status !== 'pending' && e.at !== undefined) trade.completedAt = e.at;
        this.trades.set(e.outTradeNo, trade);
        this.tradeNos.set(e.tradeNo, e.outTradeNo);
        if (e.status === 'succeeded') this.capture(trade);
        return;
      }
      case 'settle': {
        const trade = this.trades.get(e.outTradeNo);
        if (trade === undefined || trade.status !== 'pending') return;
        trade.status = e.status;
        if (e.failureCode !== undefined) trade.failureCode = e.failureCode;
        if (e.at !== undefined) trade.completedAt = e.at;
        if (e.status === 'succeeded') this.capture(trade);
        return;
      }
      case 'refund': {
        const trade = this.trades.get(e.outTradeNo);
        if (trade === undefined) return;
        const refundNo = e.refundNo ?? `simr_${String(++this.refundSeq).padStart(10, '0')}`;
        trade.refunds.set(e.outRefundNo, { amount: e.amount.amount, refundNo, at: e.at ?? 0 });
        this.refundIndex.set(e.outRefundNo, e.outTradeNo);
        trade.refunded += e.amount.amount;
        this.balances.set(trade.payer, this.balanceOf(trade.payer) + e.amount.amount);
        this.truth.push({
          type: 'refund',
          outTradeNo: e.outTradeNo,
          outRefundNo: e.outRefundNo,
          amount: e.amount,
          seq: ++this.seq,
        });
        return;
      }
      default: {
        const never: never = e;
        throw new Error(`unknown journal entry ${JSON.stringify(never)}`);
      }
    }
  }

  private capture(trade: SimTrade): void {
    this.balances.set(trade.payer, this.balanceOf(trade.payer) - trade.amount.amount);
    this.truth.push({
      type: 'capture',
      outTradeNo: trade.outTradeNo,
      payer: trade.payer,
      amount: trade.amount,
      seq: ++this.seq,
    });
  }

  /**
   * Record an event in the journal (when journaled), then apply it, stamped with the time it
   * happened. An answer to the service awaits `journal.durable()` before it is given.
   */
  private record(e: JournalEntry): void {
    const stamped = { ...e, at: this.now() };
    this.journal?.append(stamped);
    this.apply(stamped);
  }

  private emit(e: SimEvent): void {
    for (const l of this.listeners) l(e);
  }

  /** Release the journal file and pending payer timers (the order book itself stays on disk). */
  closeJournal(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.journal?.close();
  }

  get groundTruth(): readonly GroundTruthEvent[] {
    return this.truth;
  }

  /** Number of captures per outTradeNo prefix, for "exactly one charge" checks. */
  capturesFor(outTradeNoPrefix: string): number {
    return this.truth.filter((e) => e.type === 'capture' && e.outTradeNo.startsWith(outTradeNoPrefix)).length;
  }

  balanceOf(payer: string): number {
    return this.balances.get(payer) ?? this.startingBalance;
  }

  /** A trade as the order book holds it (for the protocol faces). */
  trade(outTradeNo: string): SimTrade | undefined {
    return this.trades.get(outTradeNo);
  }

  /** A trade by the gateway's own trade number (what a pay page names). */
  tradeByTradeNo(tradeNo: string): SimTrade | undefined {
    const outTradeNo = this.tradeNos.get(tradeNo);
    return outTradeNo === undefined ? undefined : this.trades.get(outTradeNo);
  }

  /** A refund found by its outRefundNo alone, with the trade it belongs to. */
  refundByOutRefundNo(
    outRefundNo: string,
  ): { readonly trade: SimTrade; readonly amount: number; readonly refundNo: string } | undefined {
    const outTradeNo = this.refundIndex.get(outRefundNo);
    const trade = outTradeNo === undefined ? undefined : this.trades.get(outTradeNo);
    const refund = trade?.refunds.get(outRefundNo);
    return trade === undefined || refund === undefined
      ? undefined
      : { trade, amount: refund.amount, refundNo: refund.refundNo };
  }

  async create(req: CreatePaymentRequest): Promise<GatewayPaymentResult> {
    this.calls.create += 1;
    await this.chaos.latency();
    const draw = this.chaos.draw();
    if (draw === 'error' && !this.chaos.shouldFreeze)
      throw new GatewayUnknownOutcomeError('simulator: 503 service unavailable');
    const existing = this.trades.get(req.outTradeNo);
    const result = existing !== undefined ? this.view(existing) : this.open(req, draw === 'fail');
    await this.journal?.durable();
    if (draw === 'timeout' || this.chaos.shouldFreeze) {
      await this.chaos.hang();
      throw new GatewayUnknownOutcomeError('simulator: request timed out');
    }
    return result;
  }

  async query(outTradeNo: string): Promise<GatewayPaymentResult> {
    this.calls.query += 1;
    await this.chaos.latency();
    const trade = this.trades.get(outTradeNo);
    return trade === undefined ? { status: 'not_found', outTradeNo } : this.view(trade);
  }

  /**
   * The next `n` refunds the gateway has not made yet are declined with `code` (a risk check, an
   * account short of funds), without being recorded: asked again under the same out_refund_no
   * afterwards, the refund is made — as Alipay and WeChat Pay let a declined refund be retried.
   */
  declineRefunds(n: number, code = 'SIMULATED_REFUND_DECLINE'): void {
    this.refundDeclines = { left: n, code };
  }

  private refundDeclines = { left: 0, code: 'SIMULATED_REFUND_DECLINE' };

  async refund(req: RefundRequest): Promise<GatewayRefundResult> {
    this.calls.refund += 1;
    await this.chaos.latency();
    const trade = this.trades.get(req.outTradeNo);
    if (this.refundDeclines.left > 0 && trade?.refunds.has(req.outRefundNo) !== true) {
      this.refundDeclines.left -= 1;
      return { status: 'failed', outRefundNo: req.outRefundNo, failureCode: this.refundDeclines.code };
    }
    if (trade === undefined || (trade.status !== 'succeeded' && !trade.refunds.has(req.outRefundNo))) {
      return { status: 'failed', outRefundNo: req.outRefundNo, failureCode: 'TRADE_NOT_REFUNDABLE' };
    }
    const known = trade.refunds.get(req.outRefundNo);
    if (known !== undefined)
      return {
        status: 'succeeded',
        outRefundNo: req.outRefundNo,
        gatewayRefundNo: known.refundNo,
        amount: { amount: known.amount, currency: trade.amount.currency },
      };
    if (req.amount.currency !== trade.amount.currency)
      return { status: 'failed', outRefundNo: req.outRefundNo, failureCode: 'CURRENCY_MISMATCH' };
    if (trade.refunded + req.amount.amount > trade.amount.amount) {
      return { status: 'failed', outRefundNo: req.outRefundNo, failureCode: 'REFUND_AMOUNT_EXCEEDED' };
    }
    const refundNo = `simr_${String(this.refundSeq + 1).padStart(10, '0')}`;
    this.record({
      type: 'refund',
      outTradeNo: req.outTradeNo,
      outRefundNo: req.outRefundNo,
      amount: req.amount,
      refundNo,
    });
    await this.journal?.durable();
    this.emit({ kind: 'refund', trade, outRefundNo: req.outRefundNo, amount: req.amount.amount, refundNo });
    return { status: 'succeeded', outRefundNo: req.outRefundNo, gatewayRefundNo: refundNo, amount: req.amount };
  }

  async queryRefund(outTradeNo: string, outRefundNo: string): Promise<GatewayRefundResult> {
    this.calls.queryRefund += 1;
    await this.chaos.latency();
    const trade = this.trades.get(outTradeNo);
    const r = trade?.refunds.get(outRefundNo);
    if (trade === undefined || r === undefined) return { status: 'not_found', outRefundNo };
    return {
      status: 'succeeded',
      outRefundNo,
      gatewayRefundNo: r.refundNo,
      amount: { amount: r.amount, currency: trade.amount.currency },
    };
  }

  async close(outTradeNo: string): Promise<GatewayPaymentResult> {
    this.calls.close += 1;
    await this.chaos.latency();
    const trade = this.trades.get(outTradeNo);
    if (trade === undefined) return { status: 'not_found', outTradeNo };
    if (trade.status === 'pending')
      this.record({ type: 'settle', outTradeNo, status: 'closed', failureCode: 'TRADE_CLOSED' });
    await this.journal?.durable();
    return this.view(trade);
  }

  /**
   * The simulated payer pays (or, with `decline`, fails to pay) a waiting trade. Returns false
   * when the trade is not waiting (already paid, closed or unknown).
   */
  payPending(outTradeNo: string, decline = false): boolean {
    const trade = this.trades.get(outTradeNo);
    if (trade === undefined || trade.status !== 'pending') return false;
    if (decline) this.record({ type: 'settle', outTradeNo, status: 'failed', failureCode: 'SIMULATED_DECLINE' });
    else if (this.balanceOf(trade.payer) < trade.amount.amount)
      this.record({ type: 'settle', outTradeNo, status: 'failed', failureCode: 'INSUFFICIENT_FUNDS' });
    else this.record({ type: 'settle', outTradeNo, status: 'succeeded' });
    this.emit({ kind: 'payment', trade });
    return true;
  }

  private open(req: CreatePaymentRequest, decline: boolean): GatewayPaymentResult {
    const tradeNo = `sim_${String(this.trades.size + 1).padStart(10, '0')}`;
    const base = {
      type: 'trade' as const,
      outTradeNo: req.outTradeNo,
      tradeNo,
      payer: req.payer,
      amount: req.amount,
      method: req.method,
      subject: req.subject,
      ...(req.notifyUrl === undefined ? {} : { notifyUrl: req.notifyUrl }),
    };
    if (this.payerActionMethods.has(req.method)) {
      this.record({ ...base, status: 'pending' });
      if (this.payerDelayMs !== undefined) {
        const t = setTimeout(() => {
          this.timers.delete(t);
          this.payPending(req.outTradeNo, decline);
        }, this.payerDelayMs);
        t.unref?.();
        this.timers.add(t);
      }
    } else {
      if (decline) this.record({ ...base, status: 'failed', failureCode: 'SIMULATED_DECLINE' });
      else if (this.balanceOf(req.payer) < req.amount.amount)
        this.record({ ...base, status: 'failed', failureCode: 'INSUFFICIENT_FUNDS' });
      else this.record({ ...base, status: 'succeeded' });
    }
    const trade = this.trades.get(req.outTradeNo);
    if (trade === undefined) throw new Error('simulator: trade vanished');
    if (trade.status !== 'pending') this.emit({ kind: 'payment', trade });
    return this.view(trade);
  }

  /**
   * What the order book says happened on one Asia/Shanghai day: every payment completed that
   * day and every refund made that day (in the order they happened), as statement entries.
   * Failed and closed trades are on no trade bill, as at the real gateways.
   */
  statementEntries(date: string): BillEntry[] {
    const entries: Array<BillEntry & { readonly order: number }> = [];
    for (const t of this.trades.values()) {
      const common = { outTradeNo: t.outTradeNo, channelId: t.tradeNo, fee: 0, cost: null, subject: t.subject };
      if (t.status === 'succeeded' && t.completedAt !== undefined && shanghaiDate(t.completedAt) === date)
        entries.push({
          ...common,
          kind: 'payment',
          outRefundNo: null,
          amount: t.amount.amount,
          status: 'SUCCESS',
          at: t.completedAt,
          order: t.completedAt,
        });
      for (const [outRefundNo, r] of t.refunds)
        if (shanghaiDate(r.at) === date)
          entries.push({
            ...common,
            kind: 'refund',
            outRefundNo,
            amount: r.amount,
            status: 'SUCCESS',
            at: r.at,
            tradeAmount: t.amount.amount,
            order: r.at,
          });
    }
    return entries.sort((a, b) => a.order - b.order).map(({ order: _order, ...e }) => e);
  }

  /** The day's trade bill in this simulator's layout (`statementFormat`, default Alipay's zip). */
  statement(date: string): Promise<StatementFile> {
    if (!isBusinessDate(date)) return Promise.reject(new RangeError(`not a date (YYYY-MM-DD): ${date}`));
    const entries = this.statementEntries(date);
    return Promise.resolve(
      this.statementFormat === 'alipay'
        ? {
            format: 'alipay',
            name: `${this.name}-${date}.zip`,
            bytes: writeAlipayBill(entries, { account: '2088000000000000', date, exportedAt: this.now() }),
          }
        : {
            format: 'wechatpay',
            name: `${this.name}-${date}.csv`,
            bytes: writeWechatBill(entries, { billType: 'ALL', appid: 'wxsimulator', mchid: '1900000000' }),
          },
    );
  }

  private view(t: SimTrade): GatewayPaymentResult {
    return {
      status: t.status,
      outTradeNo: t.outTradeNo,
      gatewayTradeNo: t.tradeNo,
      amount: t.amount,
      ...(t.failureCode === undefined ? {} : { failureCode: t.failureCode }),
      ...(t.status === 'pending' ? { payUrl: this.payPageUrl(t.tradeNo) } : {}),
    };
  }

  // ---- The simulator's own notification protocol (POST /api/v1/callbacks/simulator) ----

  /**
   * Sign a notification body the simulator way: HMAC-SHA256 over
   * `timestamp\nnonce\nbody\n` (the WeChat v3 message shape), base64, in `x-sim-signature`.
   */
  signNotification(body: string, timestampSec: number, nonce: string): Record<string, string> {
    const signature = createHmac('sha256', this.notifySecret)
      .update(`${timestampSec}\n${nonce}\n${body}\n`)
      .digest('base64');
    return {
      'content-type': 'application/json',
      'x-sim-timestamp': String(timestampSec),
      'x-sim-nonce': nonce,
      'x-sim-signature': signature,
    };
  }

  /** The notification the simulator sends for an event, signed, ready to deliver. */
  notificationFor(
    e: SimEvent,
    timestampSec: number,
    nonce: string = randomUUID(),
  ): { headers: Record<string, string>; body: string } {
    const t = e.trade;
    const payload =
      e.kind === 'payment'
        ? {
            id: `evt_${t.tradeNo}_${t.status}`,
            type: 'payment',
            out_trade_no: t.outTradeNo,
            trade_no: t.tradeNo,
            status: t.status,
            amount: t.amount.amount,
            currency: t.amount.currency,
            ...(t.failureCode === undefined ? {} : { failure_code: t.failureCode }),
          }
        : {
            id: `evt_${e.refundNo}`,
            type: 'refund',
            out_trade_no: t.outTradeNo,
            trade_no: t.tradeNo,
            out_refund_no: e.outRefundNo,
            refund_no: e.refundNo,
            status: 'succeeded',
            amount: e.amount,
            currency: t.amount.currency,
          };
    const body = JSON.stringify(payload);
    return { headers: this.signNotification(body, timestampSec, nonce), body };
  }

  verifyNotification(input: RawNotification): Promise<NotificationVerdict> {
    return Promise.resolve(this.verify(input));
  }

  private verify(input: RawNotification): NotificationVerdict {
    const ts = input.headers['x-sim-timestamp'];
    const nonce = input.headers['x-sim-nonce'];
    const sig = input.headers['x-sim-signature'];
    if (
      ts === undefined ||
      nonce === undefined ||
      sig === undefined ||
      !/^\d{1,12}$/.test(ts) ||
      nonce.length === 0 ||
      nonce.length > 64
    ) {
      return {
        ok: false,
        code: 'MALFORMED_NOTIFICATION',
        message: 'x-sim-timestamp, x-sim-nonce and x-sim-signature headers are required',
      };
    }
    const expected = createHmac('sha256', this.notifySecret).update(`${ts}\n${nonce}\n${input.body}\n`).digest();
    const given = Buffer.from(sig, 'base64');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return { ok: false, code: 'SIGNATURE_INVALID', message: 'the notification signature does not verify' };
    }
    let p: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(input.body);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      p = parsed as Record<string, unknown>;
    } catch {
      return { ok: false, code: 'MALFORMED_NOTIFICATION', message: 'the notification body is not a JSON object' };
    }
    const str = (k: string): string | undefined => (typeof p[k] === 'string' && p[k].length > 0 ? p[k] : undefined);
    const id = str('id');
    const outTradeNo = str('out_trade_no');
    const currency = str('currency');
    const amount = p.amount;
    if (
      id === undefined ||
      outTradeNo === undefined ||
      typeof amount !== 'number' ||
      !Number.isSafeInteger(amount) ||
      !isCurrency(currency)
    ) {
      return {
        ok: false,
        code: 'MALFORMED_NOTIFICATION',
        message: 'id, out_trade_no, amount and currency are required',
      };
    }
    const money = { amount, currency };
    const common = { eventId: id, outTradeNo, amount: money, timestamp: Number(ts) * 1000, nonce };
    const failure = str('failure_code');
    if (p.type === 'payment') {
      const status = p.status;
      if (status !== 'succeeded' && status !== 'failed' && status !== 'closed' && status !== 'pending') {
        return { ok: false, code: 'MALFORMED_NOTIFICATION', message: 'unknown payment status' };
      }
      const tradeNo = str('trade_no');
      const n: GatewayNotification = {
        kind: 'payment',
        ...common,
        status,
        ...(tradeNo === undefined ? {} : { gatewayTradeNo: tradeNo }),
        ...(failure === undefined ? {} : { failureCode: failure }),
      };
      return { ok: true, notification: n };
    }
    if (p.type === 'refund') {
      const outRefundNo = str('out_refund_no');
      if (outRefundNo === undefined || (p.status !== 'succeeded' && p.status !== 'failed' && p.status !== 'pending')) {
        return { ok: false, code: 'MALFORMED_NOTIFICATION', message: 'out_refund_no and a refund status are required' };
      }
      const refundNo = str('refund_no');
      const n: GatewayNotification = {
        kind: 'refund',
        ...common,
        outRefundNo,
        status: p.status,
        ...(refundNo === undefined ? {} : { gatewayRefundNo: refundNo }),
        ...(failure === undefined ? {} : { failureCode: failure }),
      };
      return { ok: true, notification: n };
    }
    return { ok: false, code: 'MALFORMED_NOTIFICATION', message: 'type must be payment or refund' };
  }

  acknowledge(accepted: boolean): NotificationAck {
    return accepted
      ? { status: 200, contentType: 'application/json', body: '{"code":"SUCCESS"}' }
      : { status: 400, contentType: 'application/json', body: '{"code":"FAIL"}' };
  }
}

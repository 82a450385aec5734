import type { Money } from '../domain/money.js';
import {
  type CreatePaymentRequest,
  type GatewayPaymentResult,
  type GatewayRefundResult,
  GatewayUnknownOutcomeError,
  type PaymentGateway,
  type RefundRequest,
} from '../ports/payment-gateway.js';
import { Chaos, type ChaosSettings } from './chaos.js';
import { Journal } from './journal.js';

/** What really happened at the simulated gateway: the ground truth tests check against. */
export type GroundTruthEvent =
  | { readonly type: 'capture'; readonly outTradeNo: string; readonly payer: string; readonly amount: Money; readonly seq: number }
  | { readonly type: 'refund'; readonly outTradeNo: string; readonly outRefundNo: string; readonly amount: Money; readonly seq: number };

interface SimTrade {
  readonly outTradeNo: string;
  readonly tradeNo: string;
  readonly payer: string;
  readonly amount: Money;
  status: 'succeeded' | 'failed' | 'closed';
  failureCode?: string;
  refunded: number;
  readonly refunds: Map<string, number>;
}

export interface SimulatedGatewayOptions {
  readonly name?: string;
  readonly chaos?: Partial<ChaosSettings>;
  readonly seed?: number;
  /** Each payer's starting balance in minor units. */
  readonly startingBalance?: number;
  /** Keep the order book in this file so it survives the process (crash tests). */
  readonly journalPath?: string;
}

type JournalEntry =
  | { readonly type: 'trade'; readonly outTradeNo: string; readonly tradeNo: string; readonly payer: string; readonly amount: Money; readonly status: 'succeeded' | 'failed'; readonly failureCode?: string }
  | { readonly type: 'refund'; readonly outTradeNo: string; readonly outRefundNo: string; readonly amount: Money };

/**
 * The built-in payment gateway: an in-process stand-in for a real one, with its own order book,
 * payer balances, idempotency on outTradeNo, chaos knobs and a ground-truth log. A second create
 * with the same outTradeNo never charges again — as real gateways behave.
 */
export class SimulatedGateway implements PaymentGateway {
  readonly name: string;
  readonly chaos: Chaos;
  private readonly trades = new Map<string, SimTrade>();
  private readonly balances = new Map<string, number>();
  private readonly truth: GroundTruthEvent[] = [];
  private readonly startingBalance: number;
  private seq = 0;
  /** Calls seen, by method, for tests and benchmarks. */
  readonly calls = { create: 0, query: 0, refund: 0, close: 0 };

  private readonly journal: Journal | undefined;

  constructor(options: SimulatedGatewayOptions = {}) {
    this.name = options.name ?? 'simulator';
    this.chaos = new Chaos(options.chaos ?? {}, options.seed ?? 42);
    this.startingBalance = options.startingBalance ?? 100_000_000;
    if (options.journalPath !== undefined) {
      this.journal = new Journal(options.journalPath);
      for (const e of this.journal.load() as JournalEntry[]) this.apply(e);
    }
  }

  /** Apply one order-book event (live, or replayed from the journal). */
  private apply(e: JournalEntry): void {
    if (e.type === 'trade') {
      const trade: SimTrade = { outTradeNo: e.outTradeNo, tradeNo: e.tradeNo, payer: e.payer, amount: e.amount, status: e.status, refunded: 0, refunds: new Map() };
      if (e.failureCode !== undefined) trade.failureCode = e.failureCode;
      this.trades.set(e.outTradeNo, trade);
      if (e.status === 'succeeded') {
        this.balances.set(e.payer, this.balanceOf(e.payer) - e.amount.amount);
        this.truth.push({ type: 'capture', outTradeNo: e.outTradeNo, payer: e.payer, amount: e.amount, seq: ++this.seq });
      }
      return;
    }
    const trade = this.trades.get(e.outTradeNo);
    if (trade === undefined) return;
    trade.refunds.set(e.outRefundNo, e.amount.amount);
    trade.refunded += e.amount.amount;
    this.balances.set(trade.payer, this.balanceOf(trade.payer) + e.amount.amount);
    this.truth.push({ type: 'refund', outTradeNo: e.outTradeNo, outRefundNo: e.outRefundNo, amount: e.amount, seq: ++this.seq });
  }

  /** Record an event durably (when journaled), then apply it. */
  private record(e: JournalEntry): void {
    this.journal?.append(e);
    this.apply(e);
  }

  /** Release the journal file (the order book itself stays on disk). */
  closeJournal(): void {
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

  async create(req: CreatePaymentRequest): Promise<GatewayPaymentResult> {
    this.calls.create += 1;
    await this.chaos.latency();
    const draw = this.chaos.draw();
    if (draw === 'error' && !this.chaos.shouldFreeze) throw new GatewayUnknownOutcomeError('simulator: 503 service unavailable');
    const existing = this.trades.get(req.outTradeNo);
    const result = existing !== undefined ? this.view(existing) : this.charge(req, draw === 'fail');
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

  async refund(req: RefundRequest): Promise<GatewayRefundResult> {
    this.calls.refund += 1;
    await this.chaos.latency();
    const trade = this.trades.get(req.outTradeNo);
    if (trade === undefined || trade.status !== 'succeeded') {
      return { status: 'failed', outRefundNo: req.outRefundNo, failureCode: 'TRADE_NOT_REFUNDABLE' };
    }
    if (trade.refunds.has(req.outRefundNo)) return { status: 'succeeded', outRefundNo: req.outRefundNo };
    if (trade.refunded + req.amount.amount > trade.amount.amount) {
      return { status: 'failed', outRefundNo: req.outRefundNo, failureCode: 'REFUND_AMOUNT_EXCEEDED' };
    }
    this.record({ type: 'refund', outTradeNo: req.outTradeNo, outRefundNo: req.outRefundNo, amount: req.amount });
    return { status: 'succeeded', outRefundNo: req.outRefundNo };
  }

  async close(outTradeNo: string): Promise<GatewayPaymentResult> {
    this.calls.close += 1;
    await this.chaos.latency();
    const trade = this.trades.get(outTradeNo);
    if (trade === undefined) return { status: 'not_found', outTradeNo };
    return this.view(trade);
  }

  private charge(req: CreatePaymentRequest, decline: boolean): GatewayPaymentResult {
    const tradeNo = `sim_${String(this.trades.size + 1).padStart(10, '0')}`;
    const base = { type: 'trade' as const, outTradeNo: req.outTradeNo, tradeNo, payer: req.payer, amount: req.amount };
    if (decline) this.record({ ...base, status: 'failed', failureCode: 'SIMULATED_DECLINE' });
    else if (this.balanceOf(req.payer) < req.amount.amount) this.record({ ...base, status: 'failed', failureCode: 'INSUFFICIENT_FUNDS' });
    else this.record({ ...base, status: 'succeeded' });
    const trade = this.trades.get(req.outTradeNo);
    if (trade === undefined) throw new Error('simulator: trade vanished');
    return this.view(trade);
  }

  private view(t: SimTrade): GatewayPaymentResult {
    return {
      status: t.status,
      outTradeNo: t.outTradeNo,
      gatewayTradeNo: t.tradeNo,
      amount: t.amount,
      ...(t.failureCode === undefined ? {} : { failureCode: t.failureCode }),
    };
  }
}

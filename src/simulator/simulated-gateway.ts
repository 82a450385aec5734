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
}

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

  constructor(options: SimulatedGatewayOptions = {}) {
    this.name = options.name ?? 'simulator';
    this.chaos = new Chaos(options.chaos ?? {}, options.seed ?? 42);
    this.startingBalance = options.startingBalance ?? 100_000_000;
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
    trade.refunds.set(req.outRefundNo, req.amount.amount);
    trade.refunded += req.amount.amount;
    this.balances.set(trade.payer, this.balanceOf(trade.payer) + req.amount.amount);
    this.truth.push({ type: 'refund', outTradeNo: req.outTradeNo, outRefundNo: req.outRefundNo, amount: req.amount, seq: ++this.seq });
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
    const balance = this.balanceOf(req.payer);
    const trade: SimTrade = {
      outTradeNo: req.outTradeNo,
      tradeNo,
      payer: req.payer,
      amount: req.amount,
      status: 'succeeded',
      refunded: 0,
      refunds: new Map(),
    };
    if (decline) {
      trade.status = 'failed';
      trade.failureCode = 'SIMULATED_DECLINE';
    } else if (balance < req.amount.amount) {
      trade.status = 'failed';
      trade.failureCode = 'INSUFFICIENT_FUNDS';
    } else {
      this.balances.set(req.payer, balance - req.amount.amount);
      this.truth.push({ type: 'capture', outTradeNo: req.outTradeNo, payer: req.payer, amount: req.amount, seq: ++this.seq });
    }
    this.trades.set(req.outTradeNo, trade);
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

import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Money } from '../domain/money.js';
import { DEFAULT_OPERATOR_SETTINGS, type OperatorSettings } from '../domain/recharge/operator-settings.js';
import type { OperatorId } from '../domain/recharge/number-segments.js';
import { err, ok, type Result } from '../domain/result.js';
import {
  type RechargeCallback,
  type RechargeCallbackRequest,
  type RechargeChannel,
  type RechargeChannelResult,
  type RechargeCheckRequest,
  type RechargeCheckResult,
  type RechargeQueryRequest,
  type RechargeSubmitRequest,
  RechargeUnknownOutcomeError,
} from '../ports/recharge-channel.js';
import { Chaos, type ChaosSettings, type Sleep } from './chaos.js';
import type { SimulatedCarriers } from './simulated-carriers.js';
import { isBusinessDate, shanghaiDate } from '../domain/statements/shanghai-time.js';
import type { StatementFile } from '../domain/statements/statement-line.js';
import { writeJuheOrderList } from './statements/juhe-order-list-writer.js';

/** A simulated channel's character: how fast, how reliable, how busy it may get. */
export interface ChannelProfile {
  /** Latency of a submit answer; `failureRate` = definite refusals; `timeoutRate` = accepted but the answer is lost. */
  readonly chaos: Partial<ChaosSettings>;
  /**
   * After accepting, how long the carrier takes to credit the phone. 0 (default) answers
   * succeeded at once; otherwise the submit answers `processing` and the result comes by query
   * or callback.
   */
  readonly processingMs?: { readonly min: number; readonly max: number };
  /** Submits it works on at once; beyond that it refuses with CHANNEL_BUSY (a definite, non-final failure). */
  readonly capacity?: number;
}

export interface SimulatedRechargeChannelOptions {
  readonly name: string;
  readonly carriers: SimulatedCarriers;
  readonly profile: ChannelProfile;
  readonly seed?: number;
  /** Per-operator client timeouts: a slower answer is lost and the caller sees an unknown outcome. */
  readonly operatorSettings?: Readonly<Record<OperatorId, OperatorSettings>>;
  /** Simulated or real time. */
  readonly sleep?: Sleep;
  readonly now?: () => number;
  /** Where signed result notifications go (the callback URL of a real channel). */
  readonly onCallback?: (callback: RechargeCallbackRequest) => void;
  /** Key the callbacks are signed with. */
  readonly callbackSecret?: string;
  /** Our prepaid balance at the channel, in fen. */
  readonly balance?: number;
}

/**
 * One order of the channel's book, kept for the whole run (queries, resubmissions, the day's
 * list). Every field is there from the start, so all orders share one hidden class and no order
 * grows a separate property store when it settles: the book shares the service's heap in the
 * benchmarks, and a 100,000-row batch keeps 100,000 of them.
 */
interface SimOrder {
  readonly orderId: string;
  readonly channelOrderId: string;
  readonly phone: string;
  readonly amount: Money;
  status: 'processing' | 'succeeded' | 'failed';
  failureCode: string | undefined;
  readonly createdAt: number;
  completedAt: number | undefined;
}

const realSleep: Sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * An in-process recharge channel with its own order book, idempotent on our order id, with
 * configurable latency, refusals, lost answers, processing delay and capacity, crediting the
 * shared simulated carriers. Callbacks are HMAC-SHA256 signed.
 */
export class SimulatedRechargeChannel implements RechargeChannel {
  readonly name: string;
  readonly chaos: Chaos;
  readonly calls = { submit: 0, query: 0, check: 0 };
  private profile: ChannelProfile;
  private readonly orders = new Map<string, SimOrder>();
  private readonly processingRandom: Chaos;
  private readonly sleep: Sleep;
  private readonly now: () => number;
  private readonly settings: Readonly<Record<OperatorId, OperatorSettings>>;
  private readonly secret: string;
  private inFlight = 0;
  private prepaid: number;

  constructor(private readonly options: SimulatedRechargeChannelOptions) {
    this.name = options.name;
    this.profile = options.profile;
    this.sleep = options.sleep ?? realSleep;
    this.now = options.now ?? (() => Date.now());
    this.chaos = new Chaos(options.profile.chaos, options.seed ?? 42, this.sleep);
    // A second stream for processing times, so changing the profile mid-run does not shift the first.
    this.processingRandom = new Chaos(
      { latencyMs: options.profile.processingMs ?? { min: 0, max: 0 } },
      (options.seed ?? 42) + 1,
      this.sleep,
    );
    this.settings = options.operatorSettings ?? DEFAULT_OPERATOR_SETTINGS;
    this.secret = options.callbackSecret ?? `sim-${options.name}`;
    this.prepaid = options.balance ?? 1_000_000_000;
  }

  /** Change the channel's character mid-run (an incident starts or ends). */
  setProfile(profile: Partial<ChannelProfile>): void {
    this.profile = { ...this.profile, ...profile };
    if (profile.chaos !== undefined) this.chaos.set(profile.chaos);
    if (profile.processingMs !== undefined) this.processingRandom.set({ latencyMs: profile.processingMs });
  }

  async submit(req: RechargeSubmitRequest): Promise<RechargeChannelResult> {
    this.calls.submit += 1;
    const timeoutMs = this.settings[req.operator].timeoutMs;
    const capacity = this.profile.capacity ?? Number.POSITIVE_INFINITY;
    if (this.inFlight >= capacity) {
      await this.sleep(Math.min(5, timeoutMs));
      // Busy or not, the channel knows its orders: a resubmission answers with the first one, as
      // the port promises. A failure here would send routing to another channel and top up twice.
      const existing = this.orders.get(req.orderId);
      if (existing !== undefined) return this.view(existing);
      return { status: 'failed', orderId: req.orderId, failureCode: 'CHANNEL_BUSY', final: false };
    }
    this.inFlight += 1;
    try {
      const latency = this.chaos.drawLatencyMs();
      const draw = this.chaos.draw();
      if (draw === 'error') {
        await this.sleep(Math.min(latency, timeoutMs));
        throw new RechargeUnknownOutcomeError(`${this.name}: 503 service unavailable`);
      }
      // The request reached the channel: the order exists from here on, whatever the caller hears.
      const order = this.orders.get(req.orderId) ?? this.accept(req, draw === 'fail');
      if (draw === 'timeout' || latency >= timeoutMs) {
        await this.sleep(timeoutMs);
        throw new RechargeUnknownOutcomeError(`${this.name}: no answer within ${timeoutMs} ms`);
      }
      await this.sleep(latency);
      return this.view(order);
    } finally {
      this.inFlight -= 1;
    }
  }

  async query(req: RechargeQueryRequest): Promise<RechargeChannelResult> {
    this.calls.query += 1;
    await this.sleep(Math.min(this.chaos.current.latencyMs.min, this.settings[req.operator].timeoutMs));
    const order = this.orders.get(req.orderId);
    return order === undefined ? { status: 'not_found', orderId: req.orderId } : this.view(order);
  }

  async check(req: RechargeCheckRequest): Promise<RechargeCheckResult> {
    this.calls.check += 1;
    await this.sleep(this.chaos.current.latencyMs.min);
    if (this.prepaid < req.amount.amount)
      return { rechargeable: false, code: 'INSUFFICIENT_BALANCE', message: 'channel balance too low' };
    return { rechargeable: true };
  }

  async balance(): Promise<Money> {
    await this.sleep(this.chaos.current.latencyMs.min);
    return { amount: this.prepaid, currency: 'CNY' };
  }

  parseCallback(req: RechargeCallbackRequest): Result<RechargeCallback> {
    const { orderId, channelOrderId, status, sign } = req.params;
    if (
      orderId === undefined ||
      channelOrderId === undefined ||
      sign === undefined ||
      (status !== 'succeeded' && status !== 'failed')
    ) {
      return err('CALLBACK_INVALID', 'callback lacks orderId, channelOrderId, status or sign');
    }
    const expected = Buffer.from(this.signature(orderId, channelOrderId, status));
    const given = Buffer.from(sign);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return err('CALLBACK_SIGNATURE_INVALID', 'callback signature does not verify');
    }
    const failureMessage = req.params.failureCode;
    return ok({
      orderId,
      channelOrderId,
      status,
      ...(failureMessage === undefined ? {} : { failureMessage }),
      reply: { status: 200, contentType: 'text/plain', body: 'success' },
    });
  }

  private signature(orderId: string, channelOrderId: string, status: string): string {
    return createHmac('sha256', this.secret).update(`${orderId}|${channelOrderId}|${status}`).digest('hex');
  }

  private accept(req: RechargeSubmitRequest, refuse: boolean): SimOrder {
    const order: SimOrder = {
      orderId: req.orderId,
      channelOrderId: `${this.name}-${this.orders.size + 1}`,
      phone: req.phone,
      amount: req.amount,
      status: 'processing',
      failureCode: undefined,
      createdAt: this.now(),
      completedAt: undefined,
    };
    this.orders.set(req.orderId, order);
    const delay = this.processingRandom.drawLatencyMs();
    if (delay <= 0) this.settle(order, refuse);
    else void this.sleep(delay).then(() => this.settle(order, refuse));
    return order;
  }

  private settle(order: SimOrder, refuse: boolean): void {
    if (order.status !== 'processing') return;
    order.completedAt = this.now();
    if (refuse) {
      order.status = 'failed';
      order.failureCode = 'CHANNEL_REJECTED';
    } else {
      this.prepaid -= order.amount.amount;
      this.options.carriers.topUp({
        orderId: order.orderId,
        channel: this.name,
        phone: order.phone,
        amount: order.amount,
        at: this.now(),
      });
      order.status = 'succeeded';
    }
    this.notify(order);
  }

  private notify(order: SimOrder): void {
    const deliver = this.options.onCallback;
    if (deliver === undefined || order.status === 'processing') return;
    const params: Record<string, string> = {
      orderId: order.orderId,
      channelOrderId: order.channelOrderId,
      status: order.status,
      sign: this.signature(order.orderId, order.channelOrderId, order.status),
    };
    if (order.failureCode !== undefined) params.failureCode = order.failureCode;
    deliver({ params });
  }

  /**
   * The day's order list in the aggregator's layout (`juhe`): orders that ended that day
   * (Asia/Shanghai), and orders placed that day still processing. The simulator charges the
   * face value (cost = amount).
   */
  statement(date: string): Promise<StatementFile> {
    if (!isBusinessDate(date)) return Promise.reject(new RangeError(`not a date (YYYY-MM-DD): ${date}`));
    const day = [...this.orders.values()].filter((o) => shanghaiDate(o.completedAt ?? o.createdAt) === date);
    const entries = day.map((o) => ({
      kind: 'recharge' as const,
      outTradeNo: o.orderId,
      outRefundNo: null,
      channelId: o.channelOrderId,
      amount: o.amount.amount,
      fee: null,
      cost: o.amount.amount,
      status:
        o.status === 'succeeded'
          ? ('SUCCESS' as const)
          : o.status === 'failed'
            ? ('FAILED' as const)
            : ('PROCESSING' as const),
      at: o.completedAt ?? o.createdAt,
    }));
    return Promise.resolve({ format: 'juhe', name: `${this.name}-${date}.json`, bytes: writeJuheOrderList(entries) });
  }

  private view(o: SimOrder): RechargeChannelResult {
    return {
      status: o.status,
      orderId: o.orderId,
      channelOrderId: o.channelOrderId,
      ...(o.failureCode === undefined ? {} : { failureCode: o.failureCode, final: false }),
      cost: o.amount,
    };
  }
}

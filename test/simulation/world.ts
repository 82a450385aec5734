import {
  type CreatePaymentRequest,
  GatewayUnknownOutcomeError,
  type GatewayPaymentResult,
  type GatewayRefundResult,
  type RefundRequest,
} from '../../src/ports/payment-gateway.js';
import type { RechargeCallbackRequest } from '../../src/ports/recharge-channel.js';
import { SimulatedCarriers } from '../../src/simulator/simulated-carriers.js';
import { type SimEvent, SimulatedGateway } from '../../src/simulator/simulated-gateway.js';
import { SimulatedMerchant } from '../../src/simulator/simulated-merchant.js';
import { SimulatedRechargeChannel } from '../../src/simulator/simulated-recharge-channel.js';
import { DEFAULT_OPERATOR_SETTINGS } from '../../src/domain/recharge/operator-settings.js';
import { shanghaiDate } from '../../src/domain/statements/shanghai-time.js';
import type { Prng } from './prng.js';
import type { SimClock } from './sim-clock.js';

/** The gateway's name in the configuration (the embedded simulator's default entry). */
export const GATEWAY = 'secure-pay-v3';
export const CHANNELS = ['sim-a', 'sim-b'] as const;

/** How hostile the outside world is; all zero once the simulation switches faults off. */
export interface Faults {
  /** Gateway: a payment refused for good. */
  decline: number;
  /** Gateway: the trade is made, the answer lost (the caller sees a timeout: outcome unknown). */
  timeoutAfterCapture: number;
  /** Gateway: a 503 before anything happened (outcome unknown to the caller). */
  unavailable: number;
  /** Callbacks: never sent / sent twice / held back (overtaken by later ones). */
  callbackLoss: number;
  callbackDuplicate: number;
  callbackDelay: number;
  /** Recharge channels: refusal, lost answer. */
  channelFail: number;
  channelTimeout: number;
  /** The payer of a QR trade: pays, declines, or never comes. */
  payerDeclines: number;
  payerAbandons: number;
}

export function faultsFrom(rng: Prng): Faults {
  const p = (max: number): number => Math.round(rng.next() * max * 1000) / 1000;
  return {
    decline: p(0.15),
    timeoutAfterCapture: p(0.15),
    unavailable: p(0.1),
    callbackLoss: p(0.3),
    callbackDuplicate: p(0.3),
    callbackDelay: p(0.4),
    channelFail: p(0.2),
    channelTimeout: p(0.15),
    payerDeclines: p(0.2),
    payerAbandons: p(0.2),
  };
}

export const NO_FAULTS: Faults = {
  decline: 0,
  timeoutAfterCapture: 0,
  unavailable: 0,
  callbackLoss: 0,
  callbackDuplicate: 0,
  callbackDelay: 0,
  channelFail: 0,
  channelTimeout: 0,
  payerDeclines: 0,
  payerAbandons: 0,
};

/** A callback on its way to the service: delivered by the simulation through the live instance. */
export interface Delivery {
  readonly what: string;
  readonly send: () => { url: string; headers: Record<string, string>; payload: string };
}

/**
 * The embedded payment simulator, its latencies on simulated time and its faults drawn from the
 * seed: the trade book, refunds and statements are the real simulator's.
 */
class SeededGateway extends SimulatedGateway {
  constructor(
    private readonly world: World,
    private readonly rng: Prng,
  ) {
    super({
      name: 'simulator',
      now: world.clock.now,
      payerActionMethods: ['alipay_qr', 'wechat_native', 'sim_qr'],
      notifySecret: 'simulation-notify-secret',
    });
  }

  private latency(): Promise<void> {
    return this.world.clock.sleep(this.rng.int(1, 400));
  }

  override async create(req: CreatePaymentRequest): Promise<GatewayPaymentResult> {
    await this.latency();
    const f = this.world.faults;
    const draw = this.rng.next();
    if (draw < f.unavailable) {
      this.world.note('gateway create: 503');
      throw new GatewayUnknownOutcomeError('simulator: 503 service unavailable');
    }
    const decline = this.rng.chance(f.decline);
    this.chaos.set({ failureRate: decline ? 1 : 0 });
    let result: GatewayPaymentResult;
    try {
      result = await super.create(req);
    } finally {
      this.chaos.set({ failureRate: 0 });
    }
    if (result.status === 'pending' && this.trade(req.outTradeNo) !== undefined) this.world.payerFor(req.outTradeNo);
    if (this.rng.chance(f.timeoutAfterCapture)) {
      await this.world.clock.sleep(this.rng.int(100, 2000));
      this.world.note(`gateway create: answer lost (${result.status})`);
      throw new GatewayUnknownOutcomeError('simulator: request timed out');
    }
    return result;
  }

  override async query(outTradeNo: string): Promise<GatewayPaymentResult> {
    await this.latency();
    return super.query(outTradeNo);
  }

  override async refund(req: RefundRequest): Promise<GatewayRefundResult> {
    await this.latency();
    if (this.rng.chance(this.world.faults.unavailable / 2)) {
      throw new GatewayUnknownOutcomeError('simulator: 503 service unavailable');
    }
    const r = await super.refund(req);
    if (r.status === 'succeeded' && this.rng.chance(this.world.faults.timeoutAfterCapture / 2)) {
      await this.world.clock.sleep(this.rng.int(100, 2000));
      throw new GatewayUnknownOutcomeError('simulator: refund answer lost');
    }
    return r;
  }

  override async queryRefund(outTradeNo: string, outRefundNo: string): Promise<GatewayRefundResult> {
    await this.latency();
    return super.queryRefund(outTradeNo, outRefundNo);
  }

  override async close(outTradeNo: string): Promise<GatewayPaymentResult> {
    await this.latency();
    return super.close(outTradeNo);
  }
}

/**
 * Everything outside the service: the payment gateway, the recharge channels and the carriers
 * behind them, the merchant, the payers and the callbacks in flight. It outlives every app
 * instance (a crash kills the service, not the world), and it runs on the simulated clock only.
 */
export class World {
  readonly gateway: SimulatedGateway;
  readonly carriers = new SimulatedCarriers();
  readonly merchant = new SimulatedMerchant({ seed: 1 });
  readonly channels: Map<string, SimulatedRechargeChannel>;
  faults: Faults;
  /** Callbacks sent, by what they carried: the simulation's own ground truth for the trace. */
  readonly stats = { callbacksSent: 0, callbacksLost: 0, callbacksDuplicated: 0, payerPaid: 0, payerDeclined: 0 };

  constructor(
    readonly clock: SimClock,
    private readonly rng: Prng,
    faults: Faults,
    /** Hand a callback to the live service instance (retried by the simulation until accepted). */
    private readonly deliver: (d: Delivery, delayMs: number) => void,
    readonly note: (line: string) => void,
  ) {
    this.faults = faults;
    this.gateway = new SeededGateway(this, rng.fork('gateway'));
    this.gateway.onEvent((e) => this.callbackFor(e));
    const channelRng = rng.fork('channels');
    this.channels = new Map(
      CHANNELS.map((name) => {
        const r = channelRng.fork(name);
        const channel = new SimulatedRechargeChannel({
          name,
          carriers: this.carriers,
          seed: r.nextU32(),
          profile: this.channelProfile(),
          sleep: clock.sleep,
          now: clock.now,
          operatorSettings: DEFAULT_OPERATOR_SETTINGS,
          onCallback: (c) => this.rechargeCallback(name, c),
          callbackSecret: `sim-${name}`,
        });
        return [name, channel];
      }),
    );
  }

  private channelProfile(): ConstructorParameters<typeof SimulatedRechargeChannel>[0]['profile'] {
    const f = this.faults;
    return {
      chaos: { latencyMs: { min: 5, max: 800 }, failureRate: f.channelFail, timeoutRate: f.channelTimeout },
      processingMs: { min: 0, max: 20_000 },
    };
  }

  /** Faults off: the world from now on answers, pays and calls back reliably. */
  calm(): void {
    this.faults = NO_FAULTS;
    for (const c of this.channels.values()) c.setProfile(this.channelProfile());
  }

  /** The payer of a QR trade decides (seeded): pay after a while, decline, or never come. */
  payerFor(outTradeNo: string): void {
    const f = this.faults;
    const r = this.rng.next();
    if (r < f.payerAbandons) return;
    const decline = r < f.payerAbandons + f.payerDeclines;
    this.clock.schedule(this.rng.int(500, 120_000), () => {
      if (this.gateway.payPending(outTradeNo, decline)) {
        if (decline) this.stats.payerDeclined += 1;
        else this.stats.payerPaid += 1;
      }
    });
  }

  private scatter(what: string, send: Delivery['send']): void {
    const f = this.faults;
    if (this.rng.chance(f.callbackLoss)) {
      this.stats.callbacksLost += 1;
      this.note(`callback lost: ${what}`);
      return;
    }
    const copies = this.rng.chance(f.callbackDuplicate) ? 2 : 1;
    if (copies === 2) this.stats.callbacksDuplicated += 1;
    for (let i = 0; i < copies; i++) {
      const delay = this.rng.chance(f.callbackDelay) ? this.rng.int(1000, 90_000) : this.rng.int(1, 200);
      this.stats.callbacksSent += 1;
      this.deliver({ what, send }, delay);
    }
  }

  private callbackFor(e: SimEvent): void {
    const gateway = this.gateway;
    const what = e.kind === 'payment' ? `payment ${e.trade.status}` : `refund ${e.amount}`;
    let n = 0;
    // Signed when sent (a retry is signed anew, as a gateway's is), with a nonce of the run's own.
    const nonceBase = `${e.trade.tradeNo}-${e.kind === 'refund' ? e.refundNo : e.trade.status}`;
    this.scatter(what, () => {
      const note = gateway.notificationFor(e, Math.floor(this.clock.now() / 1000), `${nonceBase}-${n++}`);
      return { url: `/api/v1/callbacks/${GATEWAY}`, headers: note.headers, payload: note.body };
    });
  }

  private rechargeCallback(channel: string, c: RechargeCallbackRequest): void {
    this.scatter(`recharge ${c.params.status ?? '?'}`, () => ({
      url: `/api/v1/recharge-callbacks/${channel}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams(c.params).toString(),
    }));
  }

  /**
   * The business day (Asia/Shanghai) on which the gateway booked a payment or refund: the day of
   * the statement it is on. Undefined for a recharge channel's orders (their book is private).
   */
  readonly bookedOn = (
    source: string,
    item: { readonly kind: string; readonly out_trade_no: string; readonly out_refund_no: string | null },
  ): string | undefined => {
    if (source !== GATEWAY) return undefined;
    const trade = this.gateway.trade(item.out_trade_no);
    if (trade === undefined) return undefined;
    if (item.kind === 'refund') {
      const at = item.out_refund_no === null ? undefined : trade.refunds.get(item.out_refund_no)?.at;
      return at === undefined ? undefined : shanghaiDate(at);
    }
    return trade.completedAt === undefined ? undefined : shanghaiDate(trade.completedAt);
  };

  /** The net money each trade moved at the gateway (captured − refunded), by out_trade_no. */
  netByTrade(): Map<string, { captured: number; refunded: number; captures: number }> {
    const out = new Map<string, { captured: number; refunded: number; captures: number }>();
    for (const e of this.gateway.groundTruth) {
      const row = out.get(e.outTradeNo) ?? { captured: 0, refunded: 0, captures: 0 };
      if (e.type === 'capture') {
        row.captured += e.amount.amount;
        row.captures += 1;
      } else row.refunded += e.amount.amount;
      out.set(e.outTradeNo, row);
    }
    return out;
  }
}

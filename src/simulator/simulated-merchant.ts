import {
  type Merchant,
  type MerchantOrderRequest,
  type MerchantOrderResult,
  MerchantUnknownOutcomeError,
} from '../ports/merchant.js';
import { Chaos, type ChaosSettings } from './chaos.js';

export interface FulfilmentTruth {
  readonly idempotencyKey: string;
  readonly orderId: string;
  readonly merchantOrderId: string;
  readonly seq: number;
}

/**
 * The built-in coffee shop: accepts paid orders, de-duplicates on the idempotency key, and keeps
 * a ground-truth list of every drink it really made.
 */
export class SimulatedMerchant implements Merchant {
  readonly name = 'simulated-coffee-shop';
  readonly chaos: Chaos;
  private readonly orders = new Map<string, MerchantOrderResult>();
  private readonly made: FulfilmentTruth[] = [];
  readonly calls = { submit: 0, query: 0 };

  constructor(options: { chaos?: Partial<ChaosSettings>; seed?: number } = {}) {
    this.chaos = new Chaos(options.chaos ?? {}, options.seed ?? 7);
  }

  get groundTruth(): readonly FulfilmentTruth[] {
    return this.made;
  }

  async submit(req: MerchantOrderRequest): Promise<MerchantOrderResult> {
    this.calls.submit += 1;
    await this.chaos.latency();
    const draw = this.chaos.draw();
    if (draw === 'error' && !this.chaos.shouldFreeze) throw new MerchantUnknownOutcomeError('merchant: 503 service unavailable');
    let result = this.orders.get(req.idempotencyKey);
    if (result === undefined) {
      if (draw === 'fail') {
        result = { status: 'rejected', reason: 'OUT_OF_STOCK' };
      } else {
        const merchantOrderId = `shop_${String(this.made.length + 1).padStart(8, '0')}`;
        result = { status: 'accepted', merchantOrderId };
        this.made.push({ idempotencyKey: req.idempotencyKey, orderId: req.orderId, merchantOrderId, seq: this.made.length + 1 });
      }
      this.orders.set(req.idempotencyKey, result);
    }
    if (draw === 'timeout' || this.chaos.shouldFreeze) {
      await this.chaos.hang();
      throw new MerchantUnknownOutcomeError('merchant: request timed out');
    }
    return result;
  }

  async query(idempotencyKey: string): Promise<MerchantOrderResult> {
    this.calls.query += 1;
    await this.chaos.latency();
    return this.orders.get(idempotencyKey) ?? { status: 'not_found' };
  }
}

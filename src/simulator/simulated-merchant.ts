import {
  type Merchant,
  type MerchantOrderRequest,
  type MerchantOrderResult,
  MerchantUnknownOutcomeError,
} from '../ports/merchant.js';
import { Chaos, type ChaosSettings } from './chaos.js';
import { Journal } from './journal.js';

interface MerchantJournalEntry {
  readonly key: string;
  readonly orderId: string;
  readonly result: MerchantOrderResult;
}

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

  private readonly journal: Journal | undefined;

  constructor(options: { chaos?: Partial<ChaosSettings>; seed?: number; journalPath?: string } = {}) {
    this.chaos = new Chaos(options.chaos ?? {}, options.seed ?? 7);
    if (options.journalPath !== undefined) {
      this.journal = new Journal(options.journalPath);
      for (const e of this.journal.load() as MerchantJournalEntry[]) this.apply(e);
    }
  }

  private apply(e: MerchantJournalEntry): void {
    this.orders.set(e.key, e.result);
    if (e.result.status === 'accepted' && e.result.merchantOrderId !== undefined) {
      this.made.push({
        idempotencyKey: e.key,
        orderId: e.orderId,
        merchantOrderId: e.result.merchantOrderId,
        seq: this.made.length + 1,
      });
    }
  }

  /** Release the journal file (the orders stay on disk). */
  closeJournal(): void {
    this.journal?.close();
  }

  get groundTruth(): readonly FulfilmentTruth[] {
    return this.made;
  }

  async submit(req: MerchantOrderRequest): Promise<MerchantOrderResult> {
    this.calls.submit += 1;
    await this.chaos.latency();
    const draw = this.chaos.draw();
    if (draw === 'error' && !this.chaos.shouldFreeze)
      throw new MerchantUnknownOutcomeError('merchant: 503 service unavailable');
    let result = this.orders.get(req.idempotencyKey);
    if (result === undefined) {
      result =
        draw === 'fail'
          ? { status: 'rejected', reason: 'OUT_OF_STOCK' }
          : { status: 'accepted', merchantOrderId: `shop_${String(this.made.length + 1).padStart(8, '0')}` };
      const entry: MerchantJournalEntry = { key: req.idempotencyKey, orderId: req.orderId, result };
      this.journal?.append(entry);
      this.apply(entry);
    }
    await this.journal?.durable();
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

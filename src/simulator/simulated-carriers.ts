import type { Money } from '../domain/money.js';
import { Journal } from './journal.js';

/** One top-up that really reached a phone: the ground truth recharge tests check against. */
export interface TopUp {
  readonly seq: number;
  /** The order id the channel was given (our attempt key). */
  readonly orderId: string;
  readonly channel: string;
  readonly phone: string;
  readonly amount: Money;
  readonly at: number;
}

/**
 * The carriers behind every simulated recharge channel: the phones' balances and the log of
 * every top-up, shared by all channels (in-process and HTTP), so a test can see a number
 * recharged twice for one order even when two different channels did it.
 */
export class SimulatedCarriers {
  private readonly log: TopUp[] = [];
  private readonly balances = new Map<string, number>();
  private readonly journal: Journal | undefined;

  constructor(options: { readonly journalPath?: string } = {}) {
    if (options.journalPath !== undefined) {
      this.journal = new Journal(options.journalPath);
      for (const e of this.journal.load() as TopUp[]) this.apply(e);
    }
  }

  private apply(e: TopUp): void {
    this.log.push(e);
    this.balances.set(e.phone, (this.balances.get(e.phone) ?? 0) + e.amount.amount);
  }

  /** Credit a phone. Written to the journal (when there is one) before it counts. */
  topUp(entry: Omit<TopUp, 'seq'>): TopUp {
    // Every field named, in one order: a spread copy (`{ ...entry, seq }`) got a hidden class of
    // its own per top-up in a long run (~300 bytes each, kept for good in `log`), and in the
    // benchmarks the simulator shares the service's capped heap.
    const e: TopUp = {
      seq: this.log.length + 1,
      orderId: entry.orderId,
      channel: entry.channel,
      phone: entry.phone,
      amount: entry.amount,
      at: entry.at,
    };
    this.journal?.append(e);
    this.apply(e);
    return e;
  }

  get groundTruth(): readonly TopUp[] {
    return this.log;
  }

  /** Top-ups whose order id starts with `prefix` (all attempts of one recharge share a prefix). */
  topUpsFor(prefix: string): readonly TopUp[] {
    return this.log.filter((e) => e.orderId.startsWith(prefix));
  }

  /** Fen credited to a phone so far. */
  balanceOf(phone: string): number {
    return this.balances.get(phone) ?? 0;
  }

  closeJournal(): void {
    this.journal?.close();
  }
}

/** What a person is shown of a held action, and confirms: every amount and payee that will run. */
export interface HeldShown {
  /** In words, for a person (a phone number masked). */
  readonly what: string;
  /** The total that will move (minor units). */
  readonly amount: number;
  readonly currency: string;
  /** Who receives it: a masked phone, an order id, "wallet"… */
  readonly payee: string;
  /** How it is paid: `wallet`, a payment method, `original payment`… */
  readonly method: string;
  /** For a batch: how many transactions the total is made of. */
  readonly count?: number;
}

export type HeldStatus = 'AWAITING' | 'CONFIRMED' | 'REJECTED';

/** A money action the policy held for the person's confirmation. */
export interface HeldActionRecord {
  readonly id: string;
  readonly tenantId: string;
  /** The person whose money it is, who (or whose operator) confirms it. */
  readonly userId: string;
  readonly action: string;
  /** Exactly what will run. */
  readonly params: Readonly<Record<string, unknown>>;
  readonly shown: HeldShown;
  /** SHA-256 over the action, its parameters and what was shown: the confirm must name it. */
  readonly digest: string;
  readonly reason: string;
  readonly status: HeldStatus;
  /** Who asked (a person, an agent for them, an operator for them). */
  readonly requestedBy: string;
  readonly decidedBy: string | null;
  /** What the confirmed action made (a recharge, a top-up, a refund, a batch). */
  readonly resultId: string | null;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly decidedAt: number | null;
}

export interface HeldActionRepository {
  insert(h: HeldActionRecord): Promise<void>;
  get(tenantId: string, id: string): Promise<HeldActionRecord | undefined>;
  /** A person's held actions, newest first (awaiting ones only unless `all`). */
  listForPerson(tenantId: string, userId: string, opts: { all: boolean; limit: number }): Promise<HeldActionRecord[]>;
  /**
   * AWAITING → `to`, only if it still awaits, names this digest and has not expired: true for
   * exactly one of any number of concurrent confirms (one "yes" runs once).
   */
  decide(
    tenantId: string,
    id: string,
    d: { digest: string; to: 'CONFIRMED' | 'REJECTED'; by: string; now: number; resultId: string | null },
  ): Promise<boolean>;
}

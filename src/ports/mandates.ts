/** How often a mandate's budget starts again. */
export type MandatePeriod = 'day' | 'week' | 'month' | 'total';

/** What a person allowed one of their agents to do without asking them (AP2-style intent mandate). */
export interface MandateRecord {
  readonly id: string;
  readonly tenantId: string;
  /** The person who granted it (whose money it spends). */
  readonly userId: string;
  /** The agent principal it is for. */
  readonly agentId: string;
  /** Actions it covers (`order_coffee`, `recharge_phone`, …). */
  readonly actions: readonly string[];
  /** Merchants or carriers it covers (`cmcc`, `merchant`…); empty = any. */
  readonly payees: readonly string[];
  readonly currency: string;
  readonly maxPerTransaction: number;
  /** Most it may spend per period. */
  readonly budget: number;
  readonly period: MandatePeriod;
  /** Start of the period `spent` counts (ms). */
  readonly periodStart: number;
  readonly spent: number;
  /** The service's compact JWS (ES256) over the mandate's terms; verified on every use. */
  readonly jws: string;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly revokedAt: number | null;
  readonly revokedBy: string | null;
}

export interface MandateRepository {
  insert(m: MandateRecord): Promise<void>;
  get(tenantId: string, id: string): Promise<MandateRecord | undefined>;
  /** Mandates a person granted (`by: 'user'`) or an agent holds (`by: 'agent'`), newest first. */
  list(tenantId: string, by: 'user' | 'agent', id: string): Promise<MandateRecord[]>;
  /**
   * Spend `amount` of the budget in one conditional UPDATE: the period restarts when
   * `periodStart` is newer than the stored one; refused (false) when revoked, expired, or the
   * period's spending would pass the budget. Concurrent spends never pass it together.
   */
  spend(tenantId: string, id: string, amount: number, periodStart: number, now: number): Promise<boolean>;
  /** Give back what a spend took when the action it paid for did not happen (same period only). */
  giveBack(tenantId: string, id: string, amount: number, periodStart: number): Promise<void>;
  /** Revoke at once; false when already revoked or unknown. */
  revoke(tenantId: string, id: string, by: string, now: number): Promise<boolean>;
}

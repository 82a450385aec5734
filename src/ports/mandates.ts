import type { MandateTerms, Period } from '../domain/mandate.js';

/** How often a mandate's budget starts again. */
export type MandatePeriod = Period;

/**
 * What a person allowed one of their agents to do without asking them (AP2-style intent mandate):
 * its signed terms (`domain/mandate.ts`), and where its budget stands.
 */
export interface MandateRecord extends MandateTerms {
  /** Start of the period `spent` counts (ms). */
  readonly periodStart: number;
  readonly spent: number;
  /** The service's compact JWS (ES256) over the mandate's terms; verified on every use. */
  readonly jws: string;
  readonly revokedAt: number | null;
  readonly revokedBy: string | null;
}

/** Which mandate paid for one resource (an order, a top-up, a recharge), in which period. */
export interface MandateSpendRecord {
  readonly tenantId: string;
  readonly resourceId: string;
  readonly mandateId: string;
  readonly amount: number;
  readonly periodStart: number;
  readonly spentAt: number;
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
  /** Remember which mandate paid for a resource (in the spending transaction; one per resource). */
  recordSpend(s: MandateSpendRecord): Promise<void>;
  /**
   * Mark the spend for `resourceId` returned, by one conditional UPDATE: the first caller gets the
   * spend (and gives its budget back), every later one undefined — exactly once, on any engine.
   */
  returnSpend(tenantId: string, resourceId: string, now: number): Promise<MandateSpendRecord | undefined>;
  /** Give back what a spend took when the action it paid for did not happen (same period only). */
  giveBack(tenantId: string, id: string, amount: number, periodStart: number): Promise<void>;
  /** Revoke at once; false when already revoked or unknown. */
  revoke(tenantId: string, id: string, by: string, now: number): Promise<boolean>;
}

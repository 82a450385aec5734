import type { Currency } from '../money.js';
import { err, ok, type Result } from '../result.js';

/**
 * Double-entry ledger. A journal is one business event (a capture, a refund, a wallet top-up);
 * its postings move money between accounts and always sum to zero in one currency. Debits are
 * positive, credits negative, so an account's balance is the plain sum of its postings.
 *
 * Accounts (the part before ':' is the kind, the rest names one):
 * - `gateway:<name>`  asset: money a gateway holds for us, to be settled to the bank
 * - `sales:<tenant>`  income: what customers paid for goods (negative = earned)
 * - `suspense:<tenant>` money received that matches no live order (a late capture), until returned
 * - `wallet:<user>`   liability: a user's prepaid balance (negative = we owe the user)
 * - `fees:<gateway>`  expense: gateway fees, when a gateway charges them
 * - `recharge_clearing:<tenant>` wallet money reserved for phone recharges still in progress
 * - `carrier:<channel>` what we owe a recharge channel for top-ups it made (negative = owed)
 * - `refunds_due:<tenant>` payments to give back (a recharge paid directly that failed), until the gateway refunds them
 * - `receivable:<user>` asset: what a user owes us — a recharge corrected to success after its
 *   money went back to a wallet that no longer holds it (never an overdraft)
 */
export interface Posting {
  readonly account: string;
  /** Minor units; debit > 0, credit < 0, never 0. */
  readonly amount: number;
}

export interface Journal {
  readonly id: string;
  readonly tenantId: string;
  /** e.g. `payment.captured`, `refund.succeeded`, `payment.late_capture` */
  readonly kind: string;
  readonly resourceType: string;
  readonly resourceId: string;
  readonly currency: Currency;
  readonly at: number;
  readonly actor: string;
  readonly postings: readonly Posting[];
}

export const account = {
  gateway: (name: string): string => `gateway:${name}`,
  sales: (tenantId: string): string => `sales:${tenantId}`,
  suspense: (tenantId: string): string => `suspense:${tenantId}`,
  wallet: (userId: string): string => `wallet:${userId}`,
  fees: (gateway: string): string => `fees:${gateway}`,
  rechargeClearing: (tenantId: string): string => `recharge_clearing:${tenantId}`,
  carrier: (channel: string): string => `carrier:${channel}`,
  refundsDue: (tenantId: string): string => `refunds_due:${tenantId}`,
  receivable: (userId: string): string => `receivable:${userId}`,
} as const;

const ACCOUNT_RE = /^[a-z_]+:[^\s]{1,128}$/;

/** Build a journal, refusing one that does not balance or has a zero, fractional or unnamed posting. */
export function makeJournal(j: Journal): Result<Journal> {
  if (j.postings.length < 2)
    return err('LEDGER_UNBALANCED', 'a journal needs at least two postings', { journal: j.id });
  let sum = 0;
  for (const p of j.postings) {
    if (!Number.isSafeInteger(p.amount) || p.amount === 0) {
      return err('LEDGER_UNBALANCED', 'every posting is a non-zero integer of minor units', {
        journal: j.id,
        account: p.account,
        amount: p.amount,
      });
    }
    if (!ACCOUNT_RE.test(p.account))
      return err('LEDGER_UNBALANCED', `not an account name: ${p.account}`, { journal: j.id });
    sum += p.amount;
  }
  if (sum !== 0)
    return err('LEDGER_UNBALANCED', `journal ${j.id} does not balance (sum ${sum})`, { journal: j.id, sum });
  return ok(j);
}

/** Two postings moving `amount` from `credit` to `debit`. */
export function transfer(debit: string, credit: string, amount: number): readonly Posting[] {
  return [
    { account: debit, amount },
    { account: credit, amount: -amount },
  ];
}

import type { LedgerBalance, ReviewFlag } from '../../ports/records.js';
import type { Runtime } from '../jobs/runtime.js';
import { checkLedger, type LedgerCheck } from './check-ledger.js';

export type { IncompleteResource, LedgerCheck } from './check-ledger.js';

/** Money's truth as the books show it: balances, the balance-and-completeness check, review flags. */
export interface LedgerApi {
  balances(tenantId: string): Promise<LedgerBalance[]>;
  /** Journals whose postings do not sum to zero (there must never be any). */
  unbalanced(tenantId: string): Promise<Array<{ readonly journal_id: string; readonly sum: number }>>;
  /** Every journal balances, and every resource has exactly the journals its state requires. */
  check(tenantId: string): Promise<LedgerCheck>;
  /** Open flags only, or (false) every flag. */
  reviewFlags(tenantId: string, open: boolean, limit: number): Promise<ReviewFlag[]>;
  /** The whole database's books at a glance, across tenants (the operations metrics). */
  health(): Promise<LedgerHealth>;
}

/** What an operator is alerted on: both numbers must stay 0 except for open review flags. */
export interface LedgerHealth {
  /** Journals whose postings do not sum to zero. */
  readonly unbalancedJournals: number;
  /** The sum of those journals' imbalances, in absolute minor units (fen). */
  readonly imbalance: number;
  /** Review flags raised and not resolved yet. */
  readonly openReviewFlags: number;
}

export function createLedger(rt: Runtime): { readonly api: LedgerApi } {
  const read = rt.deps.uow.read;
  return {
    api: {
      balances: (tenantId) => read.ledger.balances(tenantId),
      unbalanced: async (tenantId) =>
        (await read.ledger.unbalancedJournals(tenantId)).map((u) => ({ journal_id: u.journalId, sum: u.sum })),
      check: (tenantId) => checkLedger(read, tenantId),
      // false: every flag, open or resolved (the flags capability filters further).
      reviewFlags: (tenantId, open, limit) => read.flags.list(tenantId, open ? { open, limit } : { limit }),
      async health() {
        const [unbalanced, openReviewFlags] = await Promise.all([
          read.ledger.unbalancedJournals(),
          read.flags.countOpen(),
        ]);
        return {
          unbalancedJournals: unbalanced.length,
          imbalance: unbalanced.reduce((a, u) => a + Math.abs(u.sum), 0),
          openReviewFlags,
        };
      },
    },
  };
}

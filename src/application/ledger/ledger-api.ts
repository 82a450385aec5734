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
    },
  };
}

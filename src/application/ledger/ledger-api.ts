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

/** Postings read at a time while the health check catches up (a slice of ~10–20 ms on SQLite). */
export const HEALTH_SLICE_ROWS = 20_000;

export function createLedger(rt: Runtime, sliceRows = HEALTH_SLICE_ROWS): { readonly api: LedgerApi } {
  const read = rt.deps.uow.read;
  /**
   * The unbalanced journals as of the last look, and the postings looked at (where the engine
   * has an order of appending): each look reads only what was appended since, a slice at a time,
   * letting other work run between slices, instead of summing the whole ledger at once.
   */
  const seen = { after: 0, unbalanced: new Map<string, number>() };
  let catchingUp: Promise<Array<{ journalId: string; sum: number }>> | undefined;
  const unbalancedNow = async (): Promise<Array<{ journalId: string; sum: number }>> => {
    for (;;) {
      const page = await read.ledger.totalsAppendedAfter(seen.after, sliceRows);
      if (page === undefined) return read.ledger.unbalancedJournals();
      for (const t of page.totals)
        if (t.sum === 0) seen.unbalanced.delete(t.journalId);
        else seen.unbalanced.set(t.journalId, t.sum);
      seen.after = page.next;
      if (page.done) return [...seen.unbalanced].map(([journalId, sum]) => ({ journalId, sum }));
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  return {
    api: {
      balances: (tenantId) => read.ledger.balances(tenantId),
      unbalanced: async (tenantId) =>
        (await read.ledger.unbalancedJournals(tenantId)).map((u) => ({ journal_id: u.journalId, sum: u.sum })),
      check: (tenantId) => checkLedger(read, tenantId),
      // false: every flag, open or resolved (the flags capability filters further).
      reviewFlags: (tenantId, open, limit) => read.flags.list(tenantId, open ? { open, limit } : { limit }),
      async health() {
        catchingUp ??= unbalancedNow().finally(() => (catchingUp = undefined));
        const [unbalanced, openReviewFlags] = await Promise.all([catchingUp, read.flags.countOpen()]);
        return {
          unbalancedJournals: unbalanced.length,
          imbalance: unbalanced.reduce((a, u) => a + Math.abs(u.sum), 0),
          openReviewFlags,
        };
      },
    },
  };
}

import {
  checkJournals,
  expectedForPayment,
  expectedForRecharge,
  expectedForRefund,
  expectedForTopUp,
  type JournalExpectation,
} from '../../domain/ledger/completeness.js';
import type { ReadRepositories } from '../../ports/repositories.js';

/** A resource whose journals are not what its state requires. */
export interface IncompleteResource {
  readonly resource_type: 'payment' | 'refund' | 'top_up' | 'recharge';
  readonly resource_id: string;
  readonly status: string;
  readonly missing: readonly string[];
  readonly unexpected: readonly string[];
}

/** The whole-book check: balance AND completeness. */
export interface LedgerCheck {
  /** Every journal's postings sum to zero. */
  readonly balanced: boolean;
  readonly unbalanced: ReadonlyArray<{ readonly journal_id: string; readonly sum: number }>;
  /** Every captured payment, refund, top-up and recharge has exactly the journals its state requires. */
  readonly complete: boolean;
  readonly incomplete: readonly IncompleteResource[];
  /** How many resources were compared. */
  readonly checked: number;
}

const PAGE = 500;
/** Findings reported at most (the check keeps counting past them). */
const MAX_FINDINGS = 200;

/**
 * Compare every money-moving resource of a tenant with the journals `postings.ts` says it must
 * have (`completeness.ts`), a page at a time: a missing journal is found even though the ledger
 * still balances without it.
 */
export async function checkLedger(read: ReadRepositories, tenantId: string): Promise<LedgerCheck> {
  const incomplete: IncompleteResource[] = [];
  let checked = 0;
  const compare = async (
    type: IncompleteResource['resource_type'],
    items: ReadonlyArray<{ readonly id: string; readonly status: string; readonly expected: JournalExpectation }>,
  ): Promise<void> => {
    const present = await read.ledger.journalIdsByResource(
      tenantId,
      items.map((i) => i.id),
    );
    for (const i of items) {
      checked += 1;
      const finding = checkJournals(i.expected, present.get(i.id) ?? []);
      if (finding !== undefined && incomplete.length < MAX_FINDINGS) {
        incomplete.push({ resource_type: type, resource_id: i.id, status: i.status, ...finding });
      }
    }
  };
  const pages = async <T extends { readonly id: string }>(
    list: (after: string | null) => Promise<T[]>,
    each: (page: T[]) => Promise<void>,
  ): Promise<void> => {
    let after: string | null = null;
    for (;;) {
      const page = await list(after);
      if (page.length > 0) await each(page);
      if (page.length < PAGE) return;
      after = page[page.length - 1]?.id ?? null;
    }
  };

  await pages(
    (after) => read.payments.listAfter(tenantId, after, PAGE),
    (page) =>
      compare(
        'payment',
        page.map((p) => ({ id: p.id, status: p.status, expected: expectedForPayment(p) })),
      ),
  );
  await pages(
    (after) => read.refunds.listAfter(tenantId, after, PAGE),
    (page) =>
      compare(
        'refund',
        page.map((r) => ({ id: r.id, status: r.status, expected: expectedForRefund(r) })),
      ),
  );
  const topUpStatus = new Map<string, string>();
  await pages(
    (after) => read.topUps.listAfter(tenantId, after, PAGE),
    async (page) => {
      for (const t of page) topUpStatus.set(t.id, t.status);
      await compare(
        'top_up',
        page.map((t) => ({ id: t.id, status: t.status, expected: expectedForTopUp(t) })),
      );
    },
  );
  await pages(
    (after) => read.recharges.listAfter(tenantId, after, PAGE),
    (page) =>
      compare(
        'recharge',
        page.map((r) => ({
          id: r.id,
          status: r.state.status,
          expected: expectedForRecharge({
            id: r.id,
            status: r.state.status,
            funding:
              r.topUpId === undefined
                ? { kind: 'wallet' }
                : { kind: 'direct', topUpId: r.topUpId, paymentCaptured: topUpStatus.get(r.topUpId) === 'SUCCEEDED' },
          }),
        })),
      ),
  );
  const unbalanced = (await read.ledger.unbalancedJournals(tenantId)).map((u) => ({
    journal_id: u.journalId,
    sum: u.sum,
  }));
  return { balanced: unbalanced.length === 0, unbalanced, complete: incomplete.length === 0, incomplete, checked };
}

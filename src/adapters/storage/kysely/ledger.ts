import { type Kysely, sql } from 'kysely';
import type { Journal } from '../../../domain/ledger/journal.js';
import type { Currency } from '../../../domain/money.js';
import type { LedgerBalance } from '../../../ports/records.js';
import type { AppendedTotals, LedgerRepository } from '../../../ports/repositories.js';
import type { CamelCaseDatabase, NewRow } from '../schema.js';
import type { Engine } from '../storage.js';
import { num } from './columns.js';
import { BATCHABLE } from './batchable.js';
import { HotInsert } from './hot-query.js';

/** The postings of journals as written: one row per line, every column in table order. */
export function postingRows(journals: readonly Journal[]): Array<NewRow<'ledgerPostings'>> {
  return journals.flatMap((j) =>
    j.postings.map((p, line) => ({
      journalId: j.id,
      line,
      tenantId: j.tenantId,
      account: p.account,
      amount: p.amount,
      currency: j.currency,
      kind: j.kind,
      resourceType: j.resourceType,
      resourceId: j.resourceId,
      actor: j.actor,
      at: j.at,
    })),
  );
}

/** Postings by the number of rows (an order's journals are a handful): compiled once for each. */
const INSERT_POSTINGS = new HotInsert<CamelCaseDatabase, 'ledgerPostings', NewRow<'ledgerPostings'>>(
  'ledgerPostings',
  (q) => q.modifyEnd(BATCHABLE.insert),
);

export class KyselyLedger implements LedgerRepository {
  constructor(
    private readonly db: Kysely<CamelCaseDatabase>,
    private readonly engine: Engine,
  ) {}

  async append(journals: readonly Journal[]): Promise<void> {
    const rows = postingRows(journals);
    // Chunked: SQLite caps bound parameters per statement.
    for (let i = 0; i < rows.length; i += 64) await INSERT_POSTINGS.execute(this.db, rows.slice(i, i + 64));
  }

  async balances(tenantId: string): Promise<LedgerBalance[]> {
    const rows = await this.db
      .selectFrom('ledgerPostings')
      .select(['account', 'currency', (eb) => eb.fn.sum<number | string>('amount').as('balance')])
      .where('tenantId', '=', tenantId)
      .groupBy(['account', 'currency'])
      .orderBy('account')
      .orderBy('currency')
      .execute();
    return rows.map((r) => ({ account: r.account, currency: r.currency as Currency, balance: num(r.balance) }));
  }

  async unbalancedJournals(tenantId?: string): Promise<Array<{ journalId: string; sum: number }>> {
    let q = this.db
      .selectFrom('ledgerPostings')
      .select(['journalId', (eb) => eb.fn.sum<number | string>('amount').as('total')]);
    if (tenantId !== undefined) q = q.where('tenantId', '=', tenantId);
    const rows = await q
      .groupBy('journalId')
      .having(sql`sum(amount)`, '<>', 0)
      .execute();
    return rows.map((r) => ({ journalId: r.journalId, sum: num(r.total) }));
  }

  async totalsAppendedAfter(after: number, rows: number): Promise<AppendedTotals | undefined> {
    // SQLite: one writer, so the rowid (never reused: nothing is deleted) grows in commit order.
    if (this.engine !== 'sqlite') return undefined;
    const end = await sql<{ last: number | null; n: number }>`
      select max(rowid) as last, count(*) as n from (
        select rowid from ledger_postings where rowid > ${after} order by rowid limit ${rows})`.execute(this.db);
    const { last = null, n = 0 } = end.rows[0] ?? {};
    if (last === null) return { totals: [], next: after, done: true };
    // A journal whose new postings sum to zero keeps the total it had: only the others (a journal
    // cut by the slice's edge, or one that does not balance) are summed again, whole, by key.
    const changed = await sql<{ journal: string }>`
      select journal_id as journal from ledger_postings where rowid > ${after} and rowid <= ${last}
      group by journal_id having sum(amount) <> 0`.execute(this.db);
    const totals: Array<{ journalId: string; sum: number }> = [];
    // SQLite caps bound parameters per statement.
    for (let i = 0; i < changed.rows.length; i += 500) {
      const sums = await this.db
        .selectFrom('ledgerPostings')
        .select(['journalId', (eb) => eb.fn.sum<number | string>('amount').as('total')])
        .where(
          'journalId',
          'in',
          changed.rows.slice(i, i + 500).map((r) => r.journal),
        )
        .groupBy('journalId')
        .execute();
      for (const s of sums) totals.push({ journalId: s.journalId, sum: num(s.total) });
    }
    return { totals, next: Number(last), done: Number(n) < rows };
  }

  async journalIdsByResource(tenantId: string, resourceIds: readonly string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    if (resourceIds.length === 0) return out;
    const rows = await this.db
      .selectFrom('ledgerPostings')
      .select(['resourceId', 'journalId'])
      .distinct()
      .where('tenantId', '=', tenantId)
      .where('resourceId', 'in', [...resourceIds])
      .orderBy('journalId')
      .execute();
    for (const r of rows) {
      const ids = out.get(r.resourceId) ?? [];
      ids.push(r.journalId);
      out.set(r.resourceId, ids);
    }
    return out;
  }

  async journalsFor(tenantId: string, resourceId: string): Promise<Journal[]> {
    const rows = await this.db
      .selectFrom('ledgerPostings')
      .selectAll()
      .where('tenantId', '=', tenantId)
      .where('resourceId', '=', resourceId)
      .orderBy('at')
      .orderBy('journalId')
      .orderBy('line')
      .execute();
    const out = new Map<
      string,
      { j: Omit<Journal, 'postings'>; postings: Array<{ account: string; amount: number }> }
    >();
    for (const r of rows) {
      let e = out.get(r.journalId);
      if (e === undefined) {
        e = {
          j: {
            id: r.journalId,
            tenantId: r.tenantId,
            kind: r.kind,
            resourceType: r.resourceType,
            resourceId: r.resourceId,
            currency: r.currency as Currency,
            at: num(r.at),
            actor: r.actor,
          },
          postings: [],
        };
        out.set(r.journalId, e);
      }
      e.postings.push({ account: r.account, amount: num(r.amount) });
    }
    return [...out.values()].map((e) => ({ ...e.j, postings: e.postings }));
  }
}

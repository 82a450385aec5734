import { type Kysely, type Selectable, sql } from 'kysely';
import type { Journal } from '../../../domain/ledger.js';
import type { Currency } from '../../../domain/money.js';
import type { LedgerBalance } from '../../../ports/records.js';
import type { LedgerRepository } from '../../../ports/repositories.js';
import type { Database, LedgerPostingsTable } from '../schema.js';
import { num } from './columns.js';

export function postingRows(journals: readonly Journal[]): Array<Selectable<LedgerPostingsTable>> {
  return journals.flatMap((j) =>
    j.postings.map((p, line) => ({
      journal_id: j.id,
      line,
      tenant_id: j.tenantId,
      account: p.account,
      amount: p.amount,
      currency: j.currency,
      kind: j.kind,
      resource_type: j.resourceType,
      resource_id: j.resourceId,
      actor: j.actor,
      at: j.at,
    })),
  );
}

export class KyselyLedger implements LedgerRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async append(journals: readonly Journal[]): Promise<void> {
    const rows = postingRows(journals);
    // Chunked: SQLite caps bound parameters per statement.
    for (let i = 0; i < rows.length; i += 64)
      await this.db
        .insertInto('ledger_postings')
        .values(rows.slice(i, i + 64))
        .execute();
  }

  async balances(tenantId: string): Promise<LedgerBalance[]> {
    const rows = await this.db
      .selectFrom('ledger_postings')
      .select(['account', 'currency', (eb) => eb.fn.sum<number | string>('amount').as('balance')])
      .where('tenant_id', '=', tenantId)
      .groupBy(['account', 'currency'])
      .orderBy('account')
      .orderBy('currency')
      .execute();
    return rows.map((r) => ({ account: r.account, currency: r.currency as Currency, balance: num(r.balance) }));
  }

  async unbalancedJournals(tenantId?: string): Promise<Array<{ journalId: string; sum: number }>> {
    let q = this.db
      .selectFrom('ledger_postings')
      .select(['journal_id', (eb) => eb.fn.sum<number | string>('amount').as('total')]);
    if (tenantId !== undefined) q = q.where('tenant_id', '=', tenantId);
    const rows = await q
      .groupBy('journal_id')
      .having(sql`sum(amount)`, '<>', 0)
      .execute();
    return rows.map((r) => ({ journalId: r.journal_id, sum: num(r.total) }));
  }

  async journalIdsByResource(tenantId: string, resourceIds: readonly string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    if (resourceIds.length === 0) return out;
    const rows = await this.db
      .selectFrom('ledger_postings')
      .select(['resource_id', 'journal_id'])
      .distinct()
      .where('tenant_id', '=', tenantId)
      .where('resource_id', 'in', [...resourceIds])
      .orderBy('journal_id')
      .execute();
    for (const r of rows) {
      const ids = out.get(r.resource_id) ?? [];
      ids.push(r.journal_id);
      out.set(r.resource_id, ids);
    }
    return out;
  }

  async journalsFor(tenantId: string, resourceId: string): Promise<Journal[]> {
    const rows = await this.db
      .selectFrom('ledger_postings')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('resource_id', '=', resourceId)
      .orderBy('at')
      .orderBy('journal_id')
      .orderBy('line')
      .execute();
    const out = new Map<
      string,
      { j: Omit<Journal, 'postings'>; postings: Array<{ account: string; amount: number }> }
    >();
    for (const r of rows) {
      let e = out.get(r.journal_id);
      if (e === undefined) {
        e = {
          j: {
            id: r.journal_id,
            tenantId: r.tenant_id,
            kind: r.kind,
            resourceType: r.resource_type,
            resourceId: r.resource_id,
            currency: r.currency as Currency,
            at: num(r.at),
            actor: r.actor,
          },
          postings: [],
        };
        out.set(r.journal_id, e);
      }
      e.postings.push({ account: r.account, amount: num(r.amount) });
    }
    return [...out.values()].map((e) => ({ ...e.j, postings: e.postings }));
  }
}

import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/adapters/storage/schema.js';
import type { Storage } from '../src/adapters/storage/storage.js';
import { createLedger } from '../src/application/ledger/ledger-api.js';
import type { Runtime } from '../src/application/jobs/runtime.js';
import type { Journal } from '../src/domain/ledger/journal.js';
import { storageEngines } from './support/storage-engines.js';

/**
 * The books and the audit log are appended to, never changed (migration 0035), whoever asks; and the health that
 * /metrics reports reads, on SQLite, only what was appended since it last looked, a slice at a time.
 */

const { engines, drop } = await storageEngines('append_only');

function journal(id: string, amounts: readonly number[]): Journal {
  return {
    id,
    tenantId: 't1',
    kind: 'payment.captured',
    resourceType: 'payment',
    resourceId: `pay_${id}`,
    currency: 'CNY',
    at: 1000,
    actor: 'system:worker',
    postings: amounts.map((amount, i) => ({ account: i === 0 ? 'gateway:sim' : `sales:t1`, amount })),
  };
}

/** An error's message and, on PostgreSQL, its SQLSTATE. */
async function refusal(p: Promise<unknown>): Promise<{ message: string; code?: string }> {
  try {
    await p;
  } catch (e) {
    const { message, code } = e as { message: string; code?: string };
    return code === undefined ? { message } : { message, code };
  }
  throw new Error('not refused');
}

describe.each(engines)('the ledger on %s', (engine, open) => {
  let s: Storage & { readonly db: Kysely<Database> };
  beforeAll(async () => {
    s = await open();
  });
  afterAll(async () => {
    await s.close();
    await drop();
  });

  it('refuses to change or delete a posting, whoever sends it; appending still works', async () => {
    await s.unitOfWork.run((r) => r.ledger.append([journal('j_kept', [500, -500])]));
    const update = await refusal(sql`update ledger_postings set amount = 1 where journal_id = 'j_kept'`.execute(s.db));
    expect(update.message).toContain('ledger postings are append-only (UPDATE refused)');
    const remove = await refusal(sql`delete from ledger_postings where journal_id = 'j_kept'`.execute(s.db));
    expect(remove.message).toContain('ledger postings are append-only (DELETE refused)');
    if (engine === 'postgres') {
      expect(update.code).toBe('AGA01');
      const truncate = await refusal(sql`truncate ledger_postings`.execute(s.db));
      expect(truncate.code).toBe('AGA01');
      expect(truncate.message).toContain('TRUNCATE refused');
    }
    const left = await sql<{ journal_id: string; amount: string | number }>`
      select journal_id, amount from ledger_postings where journal_id like 'j_%' order by journal_id, line`.execute(
      s.db,
    );
    expect(left.rows.map((r) => [r.journal_id, Number(r.amount)])).toEqual([
      ['j_kept', 500],
      ['j_kept', -500],
    ]);
  });

  it('refuses to change or delete an audit row, whoever sends it', async () => {
    await s.unitOfWork.run(async (r) => {
      await r.identity.ensureTenant({ id: 't1', name: 't1', createdAt: 1 });
      await r.audit.append({
        tenantId: 't1',
        at: 1000,
        actor: 'user:u1',
        action: 'order.created',
        resourceType: 'order',
        resourceId: 'ord_kept',
        before: null,
        after: { id: 'ord_kept' },
        requestId: null,
      });
    });
    const mallory = sql`update audit_log set actor = 'admin:mallory' where resource_id = 'ord_kept'`;
    const update = await refusal(mallory.execute(s.db));
    expect(update.message).toContain('audit rows are append-only (UPDATE refused)');
    const remove = await refusal(sql`delete from audit_log where resource_id = 'ord_kept'`.execute(s.db));
    expect(remove.message).toContain('audit rows are append-only (DELETE refused)');
    if (engine === 'postgres') {
      expect(remove.code).toBe('AGA01');
      expect((await refusal(sql`truncate audit_log`.execute(s.db))).code).toBe('AGA01');
    }
    const left = await sql<{ actor: string }>`select actor from audit_log where resource_id = 'ord_kept'`.execute(s.db);
    expect(left.rows).toEqual([{ actor: 'user:u1' }]);
  });

  it('reports unbalanced journals as they are appended, reading only what is new on SQLite', async () => {
    const read = s.unitOfWork.read;
    const sums: number[] = [];
    const wholeScans = { n: 0 };
    const counting = {
      ...read,
      ledger: {
        ...read.ledger,
        balances: read.ledger.balances.bind(read.ledger),
        journalsFor: read.ledger.journalsFor.bind(read.ledger),
        journalIdsByResource: read.ledger.journalIdsByResource.bind(read.ledger),
        unbalancedJournals: (tenantId?: string) => {
          wholeScans.n++;
          return read.ledger.unbalancedJournals(tenantId);
        },
        totalsAppendedAfter: async (after: number, rows: number) => {
          const page = await read.ledger.totalsAppendedAfter(after, rows);
          if (page !== undefined) sums.push(page.totals.length);
          return page;
        },
      },
    };
    // Three postings a slice: a journal of two may straddle two slices and is summed whole in each.
    const ledger = createLedger({ deps: { uow: { read: counting } } } as unknown as Runtime, 3).api;
    expect(await ledger.health()).toEqual({ unbalancedJournals: 0, imbalance: 0, openReviewFlags: 0 });

    const append = (...js: Journal[]): Promise<void> => s.unitOfWork.run((r) => r.ledger.append(js));
    await append(journal('j_a', [100, -100]), journal('j_b', [200, -200]), journal('j_c', [300, -300]));
    // One leg only (the domain would refuse it; a bug or an import could still write it).
    await append(journal('j_bad', [700]));
    await append(journal('j_d', [400, -400]));
    sums.length = 0;
    wholeScans.n = 0;
    let other = false;
    setImmediate(() => (other = true));
    expect(await ledger.health()).toEqual({ unbalancedJournals: 1, imbalance: 700, openReviewFlags: 0 });
    if (engine === 'sqlite') {
      // 9 new postings in slices of 3 (then an empty one), other work let in between them; in each,
      // only the journal whose postings there do not sum to zero is summed whole: j_b, cut by the
      // edge of the first and second, and j_bad in the third.
      expect(sums).toEqual([1, 1, 1, 0]);
      expect(other).toBe(true);
      expect(wholeScans.n).toBe(0);
      sums.length = 0;
      // Nothing new: nothing summed, and the journal found before is still reported.
      expect(await ledger.health()).toMatchObject({ unbalancedJournals: 1, imbalance: 700 });
      expect(sums).toEqual([0]);
    } else {
      // PostgreSQL assigns no position in commit order: the server sums every journal.
      expect(wholeScans.n).toBe(1);
    }
    // The journal's missing leg arrives (inserted: nothing is ever changed): balanced again.
    await sql`
      insert into ledger_postings (journal_id, line, tenant_id, account, amount, currency, kind, resource_type,
        resource_id, actor, at)
      values ('j_bad', 1, 't1', 'sales:t1', -700, 'CNY', 'payment.captured', 'payment', 'pay_j_bad', 'x', 1)`.execute(
      s.db,
    );
    expect(await ledger.health()).toEqual({ unbalancedJournals: 0, imbalance: 0, openReviewFlags: 0 });
  });
});

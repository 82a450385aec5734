import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, postgresWanted, type TestDatabase } from '../../../../test/support/pg-db.js';
import { quiet } from '../../../../test/support/quiet-logger.js';
import { orderFixture, paymentFixture } from '../../../../test/support/records.js';
import { testCipher } from '../../../../test/support/test-cipher.js';
import { GENESIS_HASH } from '../../../domain/audit-chain.js';
import type { Repositories } from '../../../ports/repositories.js';
import { LeaseLostError, StaleVersionError } from '../../../ports/write-outcomes.js';
import { auditRowHash } from '../kysely/audit-log.js';
import { openPostgres, type PostgresStorage, type TransactionFaults } from './database.js';
import { MAX_TRIES } from './unit-of-work.js';

const wanted = await postgresWanted();

/** Every statement shown to the hook, and the hook's answer. */
interface Seen {
  readonly attempt: number;
  readonly index: number;
  readonly sql: string;
}

/** Faults that fail the statements `fail` picks, recording every statement they are shown. */
function faults(fail: (s: Seen) => '40001' | '40P01' | undefined): TransactionFaults & { seen: Seen[] } {
  const seen: Seen[] = [];
  return {
    seen,
    beforeStatement(info) {
      seen.push({ ...info });
      return fail(info);
    },
  };
}

/** A unit of work of three statements: an order, its payment, a job. */
async function placeOrder(r: Repositories, id: string): Promise<string> {
  await r.orders.insert(orderFixture(id, { description: 'latte' }));
  await r.payments.insert(paymentFixture(`pay_${id}`, id));
  await r.jobs.enqueue({ id: `job_${id}`, now: 0, tenantId: 't1', kind: 'k', resourceId: id, runAt: 60_000 });
  return id;
}

/** How many rows the unit of work left, read with raw SQL (no repository, no hook). */
async function rowsOf(s: PostgresStorage, id: string): Promise<number[]> {
  const counts = await Promise.all([
    sql<{ n: string }>`select count(*) as n from orders where id = ${id}`.execute(s.db),
    sql<{ n: string }>`select count(*) as n from payments where order_id = ${id}`.execute(s.db),
    sql<{ n: string }>`select count(*) as n from jobs where resource_id = ${id}`.execute(s.db),
  ]);
  return counts.map((c) => Number(c.rows[0]?.n));
}

describe.runIf(wanted)('PostgreSQL unit of work: injected serialization failures and deadlocks', () => {
  let db: TestDatabase;
  const opened: PostgresStorage[] = [];
  const open = async (f: TransactionFaults): Promise<PostgresStorage> => {
    const s = await openPostgres(db.url, { poolSize: 2, logger: quiet, faults: f, cipher: testCipher() });
    opened.push(s);
    return s;
  };
  beforeAll(async () => {
    db = await createTestDatabase('faults');
  });
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
  });
  afterAll(() => db.drop());

  it.each(['40001', '40P01'] as const)(
    'a unit of work whose 2nd statement fails once with %s runs again and commits exactly once',
    async (code) => {
      const f = faults((s) => (s.attempt === 1 && s.index === 1 ? code : undefined));
      const s = await open(f);
      const id = `o_${code}`;
      let runs = 0;
      const result = await s.unitOfWork.run(async (r) => {
        runs += 1;
        return placeOrder(r, id);
      });

      expect(result).toBe(id);
      expect(runs).toBe(2);
      expect([...new Set(f.seen.map((x) => x.attempt))]).toEqual([1, 2]);
      // The first attempt stopped at the failed statement; the second ran all three.
      expect(f.seen.map((x) => [x.attempt, x.index])).toEqual([
        [1, 0],
        [1, 1],
        [2, 0],
        [2, 1],
        [2, 2],
      ]);
      expect(f.seen[1]?.sql).toMatch(/^insert into "payments"/);
      expect(await rowsOf(s, id)).toEqual([1, 1, 1]);
    },
  );

  it('a fault on every attempt makes run reject with it after its tries, committing nothing', async () => {
    const f = faults((s) => (s.index === 1 ? '40001' : undefined));
    const s = await open(f);
    let runs = 0;
    const failed = s.unitOfWork.run(async (r) => {
      runs += 1;
      return placeOrder(r, 'o_never');
    });

    await expect(failed).rejects.toMatchObject({ code: '40001' });
    await expect(failed).rejects.toThrow(/injected fault \(attempt 3, statement 1\)/);
    expect(runs).toBe(MAX_TRIES);
    expect([...new Set(f.seen.map((x) => x.attempt))]).toEqual([1, 2, 3]);
    expect(await rowsOf(s, 'o_never')).toEqual([0, 0, 0]);
  });

  it('the server really aborts the transaction: after the injected error it refuses every statement', async () => {
    const f = faults((s) => (s.attempt === 1 && s.index === 0 ? '40001' : undefined));
    const s = await open(f);
    let swallowed: unknown;
    const run = s.unitOfWork.run(async (r) => {
      try {
        await r.jobs.enqueue({ id: 'j_abort', now: 0, tenantId: 't1', kind: 'k', resourceId: 'r_abort', runAt: 0 });
      } catch (e) {
        swallowed = e; // carrying on, as a careless unit of work might
      }
      return r.jobs.get('j_abort');
    });

    // 25P02 in_failed_sql_transaction: not retryable, so it surfaces as is.
    await expect(run).rejects.toMatchObject({ code: '25P02' });
    expect(swallowed).toMatchObject({ code: '40001' });
    expect(await rowsOf(s, 'r_abort')).toEqual([0, 0, 0]);
  });

  it('statements outside units of work are never shown: migrations, reads, coordination, readiness', async () => {
    const f = faults(() => undefined);
    const s = await open(f); // migrates (finding nothing left to do, after asking)
    const listener = await open(faults(() => undefined));
    await listener.coordination.join('worker-listener');
    const woken = new Promise<void>((resolve) => listener.coordination.onAnnounce(resolve));
    await s.coordination.join('worker-faults');
    expect(await s.unitOfWork.read.orders.get('t1', 'o_none')).toBeUndefined();
    expect(await s.unitOfWork.read.jobs.countByStatus(['running'])).toEqual({});
    expect(await s.coordination.reclaimOrphans(0)).toEqual({ owners: [], jobs: 0 });
    s.coordination.announce();
    await woken; // the NOTIFY went out
    expect(await s.ping()).toBe(true);
    expect(f.seen).toEqual([]);

    // The same instance shows a unit of work's statements, and only those.
    await s.unitOfWork.run((r) => placeOrder(r, 'o_shown'));
    expect(f.seen.map((x) => [x.attempt, x.index])).toEqual([
      [1, 0],
      [1, 1],
      [1, 2],
    ]);
  });
});

describe.runIf(wanted)('PostgreSQL unit of work: writes travel in batches', () => {
  let db: TestDatabase;
  let s: PostgresStorage;
  beforeAll(async () => {
    db = await createTestDatabase('batches');
    // One connection: every unit of work reuses it, so one left in a broken state would show.
    s = await openPostgres(db.url, { poolSize: 1, logger: quiet, cipher: testCipher() });
  });
  afterAll(async () => {
    await s.close();
    await db.drop();
  });

  /** Statements `work` sent to the server. */
  async function sentBy<T>(work: () => Promise<T>): Promise<{ value: T; sent: number }> {
    const before = s.statementsSent();
    const value = await work();
    return { value, sent: s.statementsSent() - before };
  }

  it('a unit of work that only writes is one statement, without BEGIN or COMMIT, and writes everything', async () => {
    const { sent } = await sentBy(() => s.unitOfWork.run((r) => placeOrder(r, 'b1')));
    expect(sent).toBe(1);
    expect(await rowsOf(s, 'b1')).toEqual([1, 1, 1]);
  });

  it('a batch whose write found its row changed fails whole with StaleVersionError, writing nothing', async () => {
    await s.unitOfWork.run((r) => placeOrder(r, 'b2'));
    const order = (await s.unitOfWork.read.orders.get('t1', 'b2'))!;
    const run = s.unitOfWork.run(async (r) => {
      await placeOrder(r, 'b2-other');
      // Answered true at once: the shortfall is found when the batch reaches the server.
      expect(await r.orders.update({ ...order, status: 'CANCELLED', version: 9 }, 7)).toBe(true);
    });
    await expect(run).rejects.toBeInstanceOf(StaleVersionError);
    expect(await rowsOf(s, 'b2-other')).toEqual([0, 0, 0]);
    expect((await s.unitOfWork.read.orders.get('t1', 'b2'))?.status).toBe('AWAITING_PAYMENT');
  });

  it('inside BEGIN (a read came first) a shortfall rolls back and the connection serves on', async () => {
    await s.unitOfWork.run((r) => placeOrder(r, 'b3'));
    const run = s.unitOfWork.run(async (r) => {
      const order = (await r.orders.get('t1', 'b3'))!;
      await r.orders.update({ ...order, status: 'PAYMENT_PROCESSING', version: 2 }, 1);
      await placeOrder(r, 'b3-other');
      await r.jobs.complete('job_b3', 'nobody', 5); // not leased to anyone: the lease is lost
    });
    await expect(run).rejects.toBeInstanceOf(LeaseLostError);
    expect(await rowsOf(s, 'b3-other')).toEqual([0, 0, 0]);
    expect((await s.unitOfWork.read.orders.get('t1', 'b3'))?.version).toBe(1);
    // The one pooled connection was given back with its transaction ended.
    const { sent } = await sentBy(() => s.unitOfWork.run((r) => placeOrder(r, 'b3-after')));
    expect(sent).toBe(1);
  });

  it('a read sees the writes held before it; a second update of a row goes after the first', async () => {
    const { value, sent } = await sentBy(() =>
      s.unitOfWork.run(async (r) => {
        await placeOrder(r, 'b4');
        const seen = await r.orders.get('t1', 'b4'); // BEGIN, the batch, then this read
        await r.orders.update({ ...seen!, status: 'PAYMENT_PROCESSING', version: 2 }, 1);
        await r.orders.update({ ...seen!, status: 'PAID', version: 3 }, 2); // the first goes now
        return seen?.status;
      }),
    );
    expect(value).toBe('AWAITING_PAYMENT');
    expect(sent).toBe(6); // begin, batch, select, update, update, commit
    const stored = await s.unitOfWork.read.orders.get('t1', 'b4');
    expect([stored?.status, stored?.version]).toEqual(['PAID', 3]);
  });
});

describe.runIf(wanted)('PostgreSQL write batches: two writers settling the same payment', () => {
  let db: TestDatabase;
  let s: PostgresStorage;
  beforeAll(async () => {
    db = await createTestDatabase('batch_race');
    s = await openPostgres(db.url, { poolSize: 2, logger: quiet, cipher: testCipher() });
  });
  afterAll(async () => {
    await s.close();
    await db.drop();
  });

  it("the loser meets the version conflict it would have met alone, not the winner's duplicate journal", async () => {
    await s.unitOfWork.run((r) => placeOrder(r, 'o_race'));
    const read = await s.unitOfWork.read.payments.get('t1', 'pay_o_race');
    if (read === undefined) throw new Error('no payment');
    const journal = {
      id: 'jr_capture_o_race',
      tenantId: 't1',
      kind: 'payment.captured',
      resourceType: 'payment',
      resourceId: read.id,
      currency: 'CNY' as const,
      at: 2_000,
      actor: 'system:worker',
      postings: [
        { account: 'gateway:sim', amount: 3200 },
        { account: 'revenue', amount: -3200 },
      ],
    };
    const settle = (r: Repositories) =>
      (async () => {
        // Both read version 1: the callback's and the job's view before either committed.
        await r.payments.update({ ...read, status: 'PAID', version: 2, updatedAt: 2_000 }, 1);
        await r.ledger.append([journal]);
      })();
    await s.unitOfWork.run(settle);
    const lost = await s.unitOfWork.run(settle).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(lost).toBeInstanceOf(StaleVersionError);
    const postings = await sql<{ n: string }>`select count(*) as n from ledger_postings`.execute(s.db);
    expect(Number(postings.rows[0]?.n)).toBe(2);
  });

  it('a duplicate with no checked write before it stays the database error', async () => {
    const journal = {
      id: 'jr_dup',
      tenantId: 't1',
      kind: 'adjustment',
      resourceType: 'payment',
      resourceId: 'p',
      currency: 'CNY' as const,
      at: 1,
      actor: 'system:test',
      postings: [
        { account: 'a', amount: 1 },
        { account: 'b', amount: -1 },
      ],
    };
    await s.unitOfWork.run((r) => r.ledger.append([journal]));
    const again = await s.unitOfWork
      .run(async (r) => {
        await r.ledger.append([journal]);
        await r.jobs.enqueue({ id: 'job_dup', now: 0, tenantId: 't1', kind: 'k', resourceId: 'p', runAt: 1 });
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(again).toMatchObject({ code: '23505' });
  });
});

describe.runIf(wanted)('PostgreSQL links audit rows in the statement that writes them', () => {
  let db: TestDatabase;
  let s: PostgresStorage;
  beforeAll(async () => {
    db = await createTestDatabase('audit_link');
    s = await openPostgres(db.url, { poolSize: 2, logger: quiet, cipher: testCipher() });
  });
  afterAll(async () => {
    await s.close();
    await db.drop();
  });

  it('each row carries the hash the application computes, linked to the one before it, whatever its text', async () => {
    const odd = ['拿铁 ☕ 大杯', 'say "hi"\\n', 'tab\there', '\u202Eevil', '😀 astral', "it's", '{"a":[1,2]}'];
    const entries = odd.flatMap((text, i) => [
      {
        tenantId: 't1',
        at: 1_000 + i,
        actor: `user:${text}`,
        action: 'order.created',
        resourceType: 'order',
        resourceId: `o${i % 3}`,
        before: i % 2 === 0 ? null : { note: text },
        after: { note: text, n: i },
        requestId: i % 3 === 0 ? null : `req-${text}`,
      },
    ]);
    // Two transactions, so the second links to heads the first left.
    await s.unitOfWork.run((r) => r.audit.appendMany(entries.slice(0, 4)));
    await s.unitOfWork.run((r) => r.audit.appendMany(entries.slice(4)));

    const rows = (await sql`select * from audit_log order by id`.execute(s.db)).rows as Record<string, unknown>[];
    expect(rows).toHaveLength(entries.length);
    const heads = new Map<string, { seq: number; hash: string }>();
    for (const [i, row] of rows.entries()) {
      expect(row.actor).toBe(entries[i]?.actor); // written in the order given
      const key = `${String(row.tenant_id)}/${String(row.shard)}`;
      const before = heads.get(key) ?? { seq: 0, hash: GENESIS_HASH };
      expect(Number(row.seq)).toBe(before.seq + 1);
      expect(row.prev_hash).toBe(before.hash);
      const recomputed = auditRowHash({
        tenantId: String(row.tenant_id),
        shards: Number(row.shards),
        shard: Number(row.shard),
        seq: Number(row.seq),
        prevHash: String(row.prev_hash),
        at: Number(row.at),
        actor: String(row.actor),
        action: String(row.action),
        resourceType: String(row.resource_type),
        resourceId: String(row.resource_id),
        beforeJson: row.before_json as string | null,
        afterJson: row.after_json as string | null,
        requestId: row.request_id as string | null,
      });
      expect(row.hash).toBe(recomputed);
      heads.set(key, { seq: Number(row.seq), hash: String(row.hash) });
    }
    const stored = (await sql`select tenant_id, shard, seq, hash from audit_chain_heads`.execute(s.db)).rows as {
      tenant_id: string;
      shard: number;
      seq: string;
      hash: string;
    }[];
    expect(stored).toHaveLength(heads.size);
    for (const h of stored)
      expect({ seq: Number(h.seq), hash: h.hash }).toEqual(heads.get(`${h.tenant_id}/${h.shard}`));
  });

  it('a transaction of writes and audit rows is one round trip: no BEGIN, no COMMIT, the batch alone', async () => {
    const seen: string[] = [];
    const counted = await openPostgres(db.url, {
      poolSize: 1,
      logger: quiet,
      cipher: testCipher(),
      faults: {
        beforeStatement(info) {
          seen.push(info.sql);
          return undefined;
        },
      },
    });
    try {
      const before = counted.statementsSent();
      await counted.unitOfWork.run(async (r) => {
        await placeOrder(r, 'o_one_trip');
        await r.audit.appendMany([
          {
            tenantId: 't1',
            at: 2_000,
            actor: 'user:u1',
            action: 'order.created',
            resourceType: 'order',
            resourceId: 'o_one_trip',
            before: null,
            after: { status: 'AWAITING_PAYMENT' },
            requestId: null,
          },
        ]);
      });
      expect(counted.statementsSent() - before).toBe(1);
    } finally {
      await counted.close();
    }
    expect(seen.at(-1)).toMatch(/autoglm_audit_link/);
    expect(await rowsOf(s, 'o_one_trip')).toEqual([1, 1, 1]);
    const audit = await sql<{
      n: string;
    }>`select count(*) as n from audit_log where resource_id = 'o_one_trip'`.execute(s.db);
    expect(Number(audit.rows[0]?.n)).toBe(1);
  });
});

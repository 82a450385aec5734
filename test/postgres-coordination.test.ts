import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres, type PostgresStorage } from '../src/adapters/storage/postgres/database.js';
import { quiet } from './support/quiet-logger.js';
import { testCipher } from './support/test-cipher.js';
import { createTestDatabase, postgresWanted, type TestDatabase } from './support/pg-db.js';
import { LeaseLostError } from '../src/ports/write-outcomes.js';
import type { WorkCoordination } from '../src/ports/work-coordination.js';
import { fellShort } from './support/fell-short.js';

/** What only PostgreSQL does: several instances starting, finding each other, and dying. */
const wanted = await postgresWanted();

/** Whether `c` takes `role` within ~4 s (a process asks again at most once a second). */
async function takesRole(c: WorkCoordination, role: string): Promise<boolean> {
  for (let i = 0; i < 40; i++) {
    if (await c.lead(role)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

describe.runIf(wanted)('PostgreSQL: several instances on one database', () => {
  let db: TestDatabase;
  const open = (): Promise<PostgresStorage> =>
    openPostgres(db.url, { poolSize: 3, logger: quiet, cipher: testCipher() });
  beforeAll(async () => {
    db = await createTestDatabase('coord');
  });
  afterAll(() => db.drop());

  it('instances that start at once migrate the database exactly once', async () => {
    const all = await Promise.all(Array.from({ length: 5 }, () => open()));
    try {
      const first = all[0]!;
      const ran = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(first.db);
      // All five opened without error (each waited for the migration lock), and each step ran once.
      const names = ran.rows.map((r) => r.name);
      expect(names).toContain('0001_core');
      expect(new Set(names).size).toBe(names.length);
      // The audit id is an identity column here (the rowid on SQLite).
      const auditId = sql`where table_name = 'audit_log' and column_name = 'id'`;
      const col = await sql<{ is_identity: string; data_type: string }>`
        select is_identity, data_type from information_schema.columns ${auditId}`.execute(first.db);
      expect(col.rows[0]).toEqual({ is_identity: 'YES', data_type: 'bigint' });
    } finally {
      await Promise.all(all.map((s) => s.close()));
    }
  });

  it('jobs of a worker that died are handed back at once; a live worker keeps its own', async () => {
    const a = await open();
    const b = await open();
    try {
      await a.coordination.join('worker-a');
      await b.coordination.join('worker-b');
      await a.unitOfWork.run(async (r) => {
        await r.jobs.enqueue({
          id: 'ja',
          now: 0,
          tenantId: 't',
          kind: 'k',
          resourceId: 'o1',
          runAt: 0,
          leaseTo: { owner: 'worker-a', until: 10_000_000 },
        });
        await r.jobs.enqueue({
          id: 'jb',
          now: 0,
          tenantId: 't',
          kind: 'k',
          resourceId: 'o2',
          runAt: 0,
          leaseTo: { owner: 'worker-b', until: 10_000_000 },
        });
      });
      expect(await b.coordination.reclaimOrphans(100)).toEqual({ owners: [], jobs: 0 });
      expect(await b.unitOfWork.run((r) => r.jobs.claimDue('worker-b', 100, 200, 10))).toEqual([]);

      // worker-a's process dies: its connections go, and with them its liveness lock.
      await a.close();
      expect(await b.coordination.reclaimOrphans(100)).toEqual({ owners: ['worker-a'], jobs: 1 });
      const [taken] = await b.unitOfWork.run((r) => r.jobs.claimDue('worker-b', 100, 200, 10));
      expect(taken).toMatchObject({ id: 'ja', leaseOwner: 'worker-b', attempts: 2 });
      // The dead owner could no longer finish it.
      await fellShort(
        b.unitOfWork.run((r) => r.jobs.complete('ja', 'worker-a', 101)),
        LeaseLostError,
      );
    } finally {
      await a.close().catch(() => undefined);
      await b.close();
    }
  });

  it('a job any worker may run wakes idle instances; the request path (a leased job) sends nothing', async () => {
    const a = await open();
    const b = await open();
    try {
      await a.coordination.join('listener');
      await b.coordination.join('producer');
      let woken = 0;
      a.coordination.onAnnounce(() => (woken += 1));
      await b.unitOfWork.run((r) =>
        r.jobs.enqueue({
          id: 'leased',
          now: 0,
          tenantId: 't',
          kind: 'k',
          resourceId: 'o',
          runAt: 0,
          leaseTo: { owner: 'producer', until: 99 },
        }),
      );
      await b.unitOfWork.run((r) =>
        r.jobs.enqueue({ id: 'later', now: 0, tenantId: 't', kind: 'k', resourceId: 'o', runAt: 60_000 }),
      );
      await new Promise((r) => setTimeout(r, 300));
      expect(woken).toBe(0);
      await b.unitOfWork.run((r) =>
        r.jobs.enqueue({ id: 'due', now: 0, tenantId: 't', kind: 'k', resourceId: 'o', runAt: 0 }),
      );
      for (let i = 0; i < 50 && woken === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(woken).toBe(1);
      // The repair sweep's de-duplicated enqueue wakes them too, once: a duplicate adds nothing.
      const repair = { id: 'repair-1', now: 0, tenantId: 't', kind: 'k', resourceId: 'o', runAt: 0 };
      expect(await b.unitOfWork.run((r) => r.jobs.enqueueIfAbsent(repair))).toBe(true);
      for (let i = 0; i < 50 && woken === 1; i++) await new Promise((r) => setTimeout(r, 20));
      expect(woken).toBe(2);
      await new Promise((r) => setTimeout(r, 150)); // past the coalescing gap
      expect(await b.unitOfWork.run((r) => r.jobs.enqueueIfAbsent(repair))).toBe(false);
      await new Promise((r) => setTimeout(r, 300));
      expect(woken).toBe(2);
      // Many announcements in a burst are coalesced.
      for (let i = 0; i < 20; i++) b.coordination.announce();
      await new Promise((r) => setTimeout(r, 400));
      expect(woken).toBeGreaterThanOrEqual(3);
      expect(woken).toBeLessThanOrEqual(5);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('a holder that resigns (draining) hands its roles over while it stays alive, and takes none again', async () => {
    const a = await open();
    const b = await open();
    try {
      await a.coordination.join('resign-a');
      await b.coordination.join('resign-b');
      expect(await a.coordination.lead('dispatch')).toBe(true);
      expect(await b.coordination.lead('dispatch')).toBe(false);
      await a.coordination.resign();
      expect(await a.coordination.lead('dispatch')).toBe(false);
      expect(await takesRole(b.coordination, 'dispatch')).toBe(true);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('a role has one holder while it lives; when it goes another takes the role', async () => {
    const a = await open();
    const b = await open();
    const c = await open();
    try {
      await a.coordination.join('lead-a');
      await b.coordination.join('lead-b');
      expect(await a.coordination.lead('dispatch')).toBe(true);
      expect(await a.coordination.lead('dispatch')).toBe(true);
      expect(await b.coordination.lead('dispatch')).toBe(false);
      // Asked again within the retry gap: answered without a round trip, still no.
      expect(await b.coordination.lead('dispatch')).toBe(false);
      // Another role is a separate lock.
      expect(await b.coordination.lead('other')).toBe(true);
      // Never joined: no connection to hold a role on, so it acts, as before roles existed.
      expect(await c.coordination.lead('dispatch')).toBe(true);

      await a.close();
      expect(await takesRole(b.coordination, 'dispatch')).toBe(true);
    } finally {
      await a.close().catch(() => undefined);
      await b.close();
      await c.close();
    }
  });

  it('its listening connection runs one statement at a time, whoever asks at once', async () => {
    // `pg` deprecates a query sent while another runs on a client (it stops queueing them in 9.0).
    const overlapping: string[] = [];
    type Internals = { _getActiveQuery(): unknown; _queryQueue: unknown[] };
    const proto = pg.Client.prototype as unknown as Internals & { query: (...args: unknown[]) => unknown };
    const original = proto.query;
    proto.query = function (this: Internals, ...args: unknown[]): unknown {
      if (this._getActiveQuery() != null || this._queryQueue.length > 0) overlapping.push(String(args[0]));
      return original.apply(this, args);
    };
    const a = await open();
    const b = await open();
    try {
      await a.coordination.join('serial-a');
      await b.coordination.join('serial-b');
      // Roles, a count of the others and a credential change (whose notification b answers on
      // its own listening connection), all at once, on both.
      const all = await Promise.all([
        a.coordination.lead('r1'),
        a.coordination.lead('r2'),
        a.coordination.otherInstances(),
        a.coordination.credentialsChanged(),
        b.coordination.lead('r1'),
        b.coordination.lead('r3'),
        b.coordination.otherInstances(),
        a.coordination.lead('r4'),
      ]);
      expect([all[0], all[4]].filter((held) => held === true)).toHaveLength(1); // one holder of r1
      expect(all[2]).toBe(1);
      expect(all[6]).toBe(1);
      expect(overlapping).toEqual([]);
    } finally {
      proto.query = original;
      await a.close();
      await b.close();
    }
  });
});

import type { Role } from '../src/domain/auth/permissions.js';
import { auditShard, DEFAULT_AUDIT_SHARDS } from '../src/domain/audit-chain.js';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LeaseLostError, StaleVersionError } from '../src/ports/write-outcomes.js';
import { fellShort } from './support/fell-short.js';
import { sql } from 'kysely';
import { openPostgres, type PostgresStorage } from '../src/adapters/storage/postgres/database.js';
import { openSqlite } from '../src/adapters/storage/sqlite/database.js';
import type { Storage } from '../src/adapters/storage/storage.js';
import type { JobRecord, RechargeRecord, RefundRecord, TopUpRecord } from '../src/ports/records.js';
import type { UnitOfWork } from '../src/ports/repositories.js';
import { quiet } from './support/quiet-logger.js';
import { orderFixture as order, paymentFixture as payment, STAMPED } from './support/records.js';
import { createTestDatabase, postgresWanted, TEST_ENGINES, type TestDatabase } from './support/pg-db.js';
import { tempDbPath } from './support/temp-db.js';
import { testCipher } from './support/test-cipher.js';

/**
 * The storage contract: every engine runs this same suite (AUTOGLM_TEST_ENGINES picks them;
 * both by default). PostgreSQL gets a fresh database for this file, emptied before each test
 * and dropped at the end.
 */

interface Engine {
  /** Whether several instances may share one database (SQLite: one process owns the file). */
  readonly sharedByInstances: boolean;
  /** Open a second (third …) instance on the same, empty database. */
  open(): Promise<Storage>;
  /** Make the database unreachable for an open instance. */
  takeAway(s: Storage): Promise<void>;
  setup(): Promise<void>;
  teardown(): Promise<void>;
}

const TABLES = [
  'orders',
  'payments',
  'jobs',
  'audit_log',
  'idempotency_keys',
  'agent_sessions',
  'ledger_postings',
  'refunds',
  'callback_events',
  'callback_nonces',
  'review_flags',
  'recharges',
  'wallets',
  'wallet_top_ups',
  'recharge_batches',
  'recharge_batch_rows',
  'tenants',
  'principals',
  'api_keys',
  'refresh_tokens',
  'service_secrets',
  'source_blocks',
];

function sqliteEngine(): Engine {
  let path = '';
  return {
    sharedByInstances: false,
    setup: () => {
      path = tempDbPath();
      return Promise.resolve();
    },
    open: () => openSqlite(path, { cipher: testCipher() }),
    takeAway: (s) => s.close(),
    teardown: () => Promise.resolve(),
  };
}

function postgresEngine(): Engine {
  let db: TestDatabase | undefined;
  let cleaner: PostgresStorage | undefined;
  return {
    sharedByInstances: true,
    async setup() {
      if (db === undefined) {
        db = await createTestDatabase('contract');
        cleaner = await openPostgres(db.url, { poolSize: 1, logger: quiet, cipher: testCipher() });
      }
      // The ledger and the audit log refuse TRUNCATE (migration 0035): the cleaner sets their
      // guards aside, as only the database's owner can.
      const guarded = ['ledger_postings', 'audit_log'];
      await cleaner!.db.transaction().execute(async (t) => {
        for (const g of guarded) await sql.raw(`alter table ${g} disable trigger ${g}_no_truncate`).execute(t);
        await sql.raw(`truncate ${TABLES.join(', ')} restart identity`).execute(t);
        for (const g of guarded) await sql.raw(`alter table ${g} enable trigger ${g}_no_truncate`).execute(t);
      });
    },
    open: () => {
      if (db === undefined) throw new Error('setup first');
      return openPostgres(db.url, { poolSize: 4, logger: quiet, cipher: testCipher() });
    },
    async takeAway() {
      await cleaner?.close();
      await db?.drop();
      db = cleaner = undefined;
    },
    teardown: async () => {
      await cleaner?.close();
      await db?.drop();
      db = cleaner = undefined;
    },
  };
}

const engines: Array<[string, Engine]> = [];
if (TEST_ENGINES.includes('sqlite')) engines.push(['sqlite', sqliteEngine()]);
if (await postgresWanted()) engines.push(['postgres', postgresEngine()]);

/** An unused, unrevoked refresh token of a family, living until 100. */
const refreshToken = (id: string, tenantId: string, principalId: string, familyId: string) => ({
  id,
  tenantId,
  principalId,
  familyId,
  tokenHash: 'th',
  createdAt: 1,
  expiresAt: 100,
  usedAt: null,
  revokedAt: null,
});

describe.each(engines)('storage contract on %s', (_name, engine) => {
  let uow: UnitOfWork;
  const opened: Storage[] = [];
  const open = async (): Promise<Storage> => {
    const s = await engine.open();
    opened.push(s);
    return s;
  };
  beforeEach(async () => {
    await engine.setup();
    uow = (await open()).unitOfWork;
  });
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close().catch(() => undefined);
  });
  afterAll(() => engine.teardown());

  it('PostgreSQL counts the statements it sends (BEGIN and COMMIT too); SQLite sends none', async () => {
    const s = await open();
    if (s.statementsSent === undefined) {
      expect(s.engine).toBe('sqlite');
      return;
    }
    const before = s.statementsSent();
    await s.unitOfWork.run((r) => r.identity.ensureTenant({ id: 'tc', name: 'T', createdAt: 1 }));
    expect(s.statementsSent() - before).toBe(3); // begin, insert, commit
    await s.unitOfWork.read.identity.getKeyWithPrincipal('none');
    expect(s.statementsSent() - before).toBe(4); // a key and its principal: one round trip
  });

  it('a unit of work commits all of its writes or none of them', async () => {
    await expect(
      uow.run(async (r) => {
        await r.orders.insert(order('o1'));
        await r.audit.append({
          tenantId: 't1',
          at: 1,
          actor: 'a',
          action: 'x',
          resourceType: 'order',
          resourceId: 'o1',
          before: null,
          after: { s: 1 },
          requestId: null,
        });
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await uow.read.orders.get('t1', 'o1')).toBeUndefined();
    expect(await uow.read.audit.list('t1', 'order', 'o1')).toEqual([]);

    await uow.run(async (r) => {
      await r.orders.insert(order('o1'));
      await r.payments.insert(payment('pay_o1', 'o1'));
    });
    expect((await uow.read.orders.get('t1', 'o1'))?.amount).toBe(3200);
    expect(await uow.read.payments.get('t1', 'pay_o1')).toMatchObject({
      status: 'CREATED',
      createdBy: 'user:u1',
      updatedBy: 'user:u1',
    });
  });

  it('payments are listed a page at a time in id order, per tenant', async () => {
    await uow.run(async (r) => {
      for (const id of ['o3', 'o1', 'o2']) {
        await r.orders.insert(order(id, { paymentId: `p${id}` }));
        await r.payments.insert(payment(`p${id}`, id));
      }
    });
    const first = await uow.read.payments.listAfter('t1', null, 2);
    expect(first.map((p) => p.id)).toEqual(['po1', 'po2']);
    expect((await uow.read.payments.listAfter('t1', 'po2', 2)).map((p) => p.id)).toEqual(['po3']);
    expect(await uow.read.payments.listAfter('t2', null, 2)).toEqual([]);
    expect(await uow.read.refunds.listAfter('t1', null, 2)).toEqual([]);
    expect(await uow.read.topUps.listAfter('t1', null, 2)).toEqual([]);
    expect(await uow.read.recharges.listAfter('t1', null, 2)).toEqual([]);
  });

  it("tenants cannot read each other's orders", async () => {
    await uow.run((r) => r.orders.insert(order('o1')));
    expect(await uow.read.orders.get('t2', 'o1')).toBeUndefined();
    expect(await uow.read.orders.list({ tenantId: 't2', limit: 10 })).toEqual([]);
  });

  it("an order is read with its payment in one statement, each checked against the reader's tenant", async () => {
    const s = await open();
    const o1 = order('o1', { paymentId: 'p1' });
    const p1 = payment('p1', 'o1', { settledAt: 1500 });
    // o2's payment is missing (only damaged data does that); its id names another tenant's payment.
    const o2 = order('o2', { paymentId: 'p2' });
    await s.unitOfWork.run(async (r) => {
      await r.orders.insert(o1);
      await r.payments.insert(p1);
      await r.orders.insert(o2);
      await r.payments.insert(payment('p2', 'o9', { tenantId: 't2', outTradeNo: 'p2_t2' }));
    });
    const before = s.statementsSent?.() ?? 0;
    expect(await s.unitOfWork.read.orders.getWithPaymentIfAny('t1', 'o1')).toStrictEqual({ order: o1, payment: p1 });
    if (s.statementsSent !== undefined) expect(s.statementsSent() - before).toBe(1);
    expect(await s.unitOfWork.read.orders.getWithPayment('t1', 'o1')).toStrictEqual({ order: o1, payment: p1 });
    expect(await s.unitOfWork.read.orders.getWithPaymentIfAny('t2', 'o1')).toBeUndefined();
    expect(await s.unitOfWork.read.orders.getWithPaymentIfAny('t1', 'o3')).toBeUndefined();
    expect(await s.unitOfWork.read.orders.getWithPaymentIfAny('t1', 'o2')).toStrictEqual({
      order: o2,
      payment: undefined,
    });
    expect(await s.unitOfWork.read.orders.getWithPayment('t1', 'o2')).toBeUndefined();
    // Inside a transaction, on the writer's connection, its own writes seen.
    await s.unitOfWork.run(async (r) => {
      await r.payments.update({ ...p1, status: 'PAID', version: 2 }, 1);
      expect((await r.orders.getWithPayment('t1', 'o1'))?.payment).toStrictEqual({ ...p1, status: 'PAID', version: 2 });
    });
  });

  it('updates are optimistic: a stale version writes nothing', async () => {
    await uow.run((r) => r.orders.insert(order('o1')));
    const o = order('o1', { status: 'PAYMENT_PROCESSING', version: 2 });
    expect(await uow.run((r) => r.orders.update(o, 1))).toBe(true);
    await fellShort(
      uow.run((r) => r.orders.update({ ...o, status: 'CANCELLED', version: 3 }, 1)),
      StaleVersionError,
    );
    expect((await uow.read.orders.get('t1', 'o1'))?.status).toBe('PAYMENT_PROCESSING');
  });

  it('when money moved (settledAt) and why a top-up’s trade is closed are kept through insert, update', async () => {
    const p = { ...payment('sa_p1', 'sa_o1'), outTradeNo: 'sa_p1_1' };
    const refund: RefundRecord = {
      id: 'sa_rf1',
      tenantId: 't1',
      orderId: 'sa_o1',
      paymentId: 'sa_p1',
      outRefundNo: 'sa_p1_r1',
      amount: 100,
      currency: 'CNY',
      status: 'PENDING',
      reason: 'r',
      failureCode: null,
      gatewayRefundNo: null,
      ...STAMPED,
    };
    const topUp: TopUpRecord = {
      id: 'sa_tu1',
      tenantId: 't1',
      userId: 'u1',
      amount: 5000,
      currency: 'CNY',
      status: 'PENDING',
      gateway: 'simulator',
      method: 'wallet',
      outTradeNo: 'sa_tu1_1',
      gatewayTradeNo: null,
      failureCode: null,
      refundStatus: 'PENDING',
      ...STAMPED,
    };
    await uow.run(async (r) => {
      await r.payments.insert(p);
      await r.refunds.insert(refund);
      await r.topUps.insert(topUp);
    });
    // Not moved yet: absent, not null.
    expect(await uow.read.payments.get('t1', 'sa_p1')).toStrictEqual(p);
    expect(await uow.read.topUps.get('t1', 'sa_tu1')).toStrictEqual(topUp);
    const paid = { ...p, status: 'PAID' as const, settledAt: 1_764_172_798_000, version: 2 };
    const done = { ...refund, status: 'SUCCEEDED' as const, settledAt: 1_764_172_799_000, version: 2 };
    const credited = {
      ...topUp,
      status: 'SUCCEEDED' as const,
      settledAt: 1_764_172_797_000,
      refundStatus: 'SUCCEEDED' as const,
      refundSettledAt: 1_764_172_800_000,
      // Paid while the unpaid expiry was closing it: the reason it recorded stays, unused.
      closeReason: 'UNPAID_TIMEOUT',
      version: 2,
    };
    await uow.run(async (r) => {
      expect(await r.payments.update(paid, 1)).toBe(true);
      expect(await r.refunds.update(done, 1)).toBe(true);
      expect(await r.topUps.update(credited, 1)).toBe(true);
    });
    expect(await uow.read.payments.get('t1', 'sa_p1')).toStrictEqual(paid);
    expect(await uow.read.payments.getByOutTradeNo('sa_p1_1')).toStrictEqual(paid);
    expect(await uow.read.refunds.get('t1', 'sa_rf1')).toStrictEqual(done);
    expect(await uow.read.topUps.get('t1', 'sa_tu1')).toStrictEqual(credited);
  });

  it("keeps a payment's close decision (a cancel's note, a switch's method and gateway), then drops it", async () => {
    const p = { ...payment('cd_p1', 'cd_o1'), status: 'PENDING' as const, outTradeNo: 'cd_p1_1' };
    await uow.run((r) => r.payments.insert(p));
    // Not decided: absent, not null.
    expect(await uow.read.payments.get('t1', 'cd_p1')).toStrictEqual(p);
    const cancelling = { ...p, closing: { reason: 'ORDER_CANCELLED' as const, note: 'changed my mind' }, version: 2 };
    await uow.run(async (r) => expect(await r.payments.update(cancelling, 1)).toBe(true));
    expect(await uow.read.payments.get('t1', 'cd_p1')).toStrictEqual(cancelling);
    const switching = {
      ...p,
      closing: { reason: 'METHOD_CHANGED' as const, method: 'wallet', gateway: 'sim-b' },
      version: 3,
    };
    await uow.run(async (r) => expect(await r.payments.update(switching, 2)).toBe(true));
    expect(await uow.read.payments.getByOutTradeNo('cd_p1_1')).toStrictEqual(switching);
    // The next trade opened: the decision about the first is left behind.
    const reopened = { ...p, attempt: 2, outTradeNo: 'cd_p1_2', method: 'wallet', gateway: 'sim-b', version: 4 };
    await uow.run(async (r) => expect(await r.payments.update(reopened, 3)).toBe(true));
    expect(await uow.read.payments.get('t1', 'cd_p1')).toStrictEqual(reopened);
  });

  it('the database refuses a second payment with the same out_trade_no', async () => {
    await uow.run(async (r) => {
      await r.payments.insert({ ...payment('p1', 'o1'), outTradeNo: 'K1' });
    });
    await expect(uow.run((r) => r.payments.insert({ ...payment('p2', 'o2'), outTradeNo: 'K1' }))).rejects.toThrow();
  });

  it('sums what a user has committed today, ignoring cancelled, failed and refunded orders', async () => {
    await uow.run(async (r) => {
      await r.orders.insert(order('a', { amount: 1000, createdAt: 5000 }));
      await r.orders.insert(order('b', { amount: 2000, createdAt: 5000, status: 'CANCELLED', paymentId: 'pb' }));
      await r.orders.insert(order('c', { amount: 4000, createdAt: 5000, status: 'COMPLETED', paymentId: 'pc' }));
      await r.orders.insert(order('d', { amount: 8000, createdAt: 100, status: 'COMPLETED', paymentId: 'pd' }));
      await r.orders.insert(order('e', { amount: 16000, createdAt: 5000, userId: 'u2', paymentId: 'pe' }));
    });
    expect(await uow.run((r) => r.orders.sumCommittedSince('t1', 'u1', 1000, 'CNY'))).toBe(5000);
    expect(await uow.run((r) => r.orders.sumCommittedSince('t1', 'nobody', 0, 'CNY'))).toBe(0);
  });

  it('jobs: due ones are claimed by priority then run-at; a lease blocks others until it expires', async () => {
    await uow.run(async (r) => {
      await r.jobs.enqueue({
        id: 'j-low',
        now: 0,
        tenantId: 't1',
        kind: 'k',
        resourceId: 'r1',
        priority: 0,
        runAt: 10,
      });
      await r.jobs.enqueue({
        id: 'j-high',
        now: 0,
        tenantId: 't1',
        kind: 'k',
        resourceId: 'r2',
        priority: 9,
        runAt: 20,
      });
      await r.jobs.enqueue({
        id: 'j-later',
        now: 0,
        tenantId: 't1',
        kind: 'k',
        resourceId: 'r3',
        priority: 9,
        runAt: 1000,
      });
    });
    const claimed = await uow.run((r) => r.jobs.claimDue('w1', 100, 600, 10));
    expect(claimed.map((j) => j.id)).toEqual(['j-high', 'j-low']);
    expect(claimed.every((j) => j.attempts === 1 && j.leaseOwner === 'w1')).toBe(true);
    expect(await uow.run((r) => r.jobs.claimDue('w2', 200, 700, 10))).toEqual([]);
    expect(await uow.run((r) => r.jobs.claimById('j-low', 'w2', 200, 700))).toBeUndefined();
    // w1 died; after its lease the job is available again, with its attempt counted.
    const retaken = await uow.run((r) => r.jobs.claimById('j-low', 'w2', 601, 1200));
    expect(retaken).toMatchObject({ leaseOwner: 'w2', attempts: 2 });
    // the old owner can no longer finish it
    await fellShort(
      uow.run((r) => r.jobs.complete('j-low', 'w1', 650)),
      LeaseLostError,
    );
    expect(await uow.run((r) => r.jobs.complete('j-low', 'w2', 650))).toBe(true);
    expect((await uow.read.jobs.get('j-low'))?.status).toBe('done');
    expect(await uow.read.jobs.nextRunAt()).toBe(1000);
  });

  it('jobs: advance turns a step into the next one in place, only under the lease', async () => {
    await uow.run((r) =>
      r.jobs.enqueue({
        id: 'j1',
        now: 0,
        tenantId: 't1',
        kind: 'order.pay',
        resourceId: 'o1',
        priority: 10,
        runAt: 0,
        leaseTo: { owner: 'w1', until: 100 },
      }),
    );
    const held = await uow.read.jobs.get('j1');
    if (held === undefined) throw new Error('j1 was not enqueued');
    // Another worker's advance: undefined, or (writes in batches) the unit of work fails.
    const stolen = await uow
      .run((r) => r.jobs.advance(held, 'w2', 10, { kind: 'order.fulfil', priority: 20, leaseUntil: 200 }))
      .then(
        (v) => v,
        (e: unknown) => e,
      );
    if (stolen !== undefined) expect(stolen).toBeInstanceOf(LeaseLostError);
    expect(await uow.read.jobs.get('j1')).toMatchObject({ kind: 'order.pay', leaseOwner: 'w1' });
    const next = await uow.run((r) =>
      r.jobs.advance(held, 'w1', 10, { kind: 'order.fulfil', priority: 20, leaseUntil: 200 }),
    );
    expect(next).toMatchObject({
      id: 'j1',
      kind: 'order.fulfil',
      priority: 20,
      attempts: 1,
      status: 'running',
      leaseOwner: 'w1',
      leaseUntil: 200,
      resourceId: 'o1',
    });
    expect(await uow.read.jobs.get('j1')).toMatchObject({ kind: 'order.fulfil', attempts: 1 });
    // A crashed owner's advanced job is picked up like any other once the lease expires.
    const [retaken] = await uow.run((r) => r.jobs.claimDue('w2', 201, 300, 5));
    expect(retaken).toMatchObject({ id: 'j1', kind: 'order.fulfil', attempts: 2, leaseOwner: 'w2' });
  });

  it('jobs: release schedules a retry; fail ends it; both need the lease', async () => {
    await uow.run((r) =>
      r.jobs.enqueue({
        id: 'j1',
        now: 0,
        tenantId: 't1',
        kind: 'k',
        resourceId: 'r',
        runAt: 0,
        leaseTo: { owner: 'w1', until: 100 },
      }),
    );
    expect(await uow.run((r) => r.jobs.release('j1', 'w2', 10, 50, 'x'))).toBe(false);
    expect(await uow.run((r) => r.jobs.release('j1', 'w1', 10, 50, 'timeout'))).toBe(true);
    expect(await uow.run((r) => r.jobs.claimDue('w1', 40, 200, 5))).toEqual([]);
    // Woken (a gateway's news): due at once; only a job that waits, of that kind and resource.
    expect(await uow.run((r) => r.jobs.wake('other-kind', 'r', 30))).toBe(false);
    expect(await uow.run((r) => r.jobs.wake('k', 'r', 30))).toBe(true);
    expect(await uow.run((r) => r.jobs.wake('k', 'r', 30))).toBe(false); // due already
    const [j] = await uow.run((r) => r.jobs.claimDue('w1', 30, 200, 5));
    expect(j).toMatchObject({ id: 'j1', attempts: 2, lastError: 'timeout' });
    expect(await uow.run((r) => r.jobs.fail('j1', 'w1', 60, 'gave up'))).toBe(true);
    expect(await uow.read.jobs.countByStatus()).toEqual({ failed: 1 });
    // Only the statuses asked for (the metrics' queue depth leaves the growing `done` rows out).
    await uow.run((r) => r.jobs.enqueue({ id: 'j2', now: 0, tenantId: 't1', kind: 'k', resourceId: 'r2', runAt: 0 }));
    expect(await uow.read.jobs.countByStatus(['queued', 'running'])).toEqual({ queued: 1 });
    expect(await uow.read.jobs.countByStatus(['running'])).toEqual({});
    expect(await uow.read.jobs.countByStatus([])).toEqual({});
  });

  it('idempotency keys: first insert wins; recovery point and completion are stored', async () => {
    const rec = {
      tenantId: 't1',
      scope: 'user:u1 POST /x',
      key: 'k',
      fingerprint: 'f',
      state: 'in_flight' as const,
      responseStatus: null,
      responseBody: null,
      responseHeaders: null,
      recoveryPoint: null,
      lockedUntil: 100,
      createdAt: 0,
      expiresAt: 1000,
    };
    expect(await uow.run((r) => r.idempotency.tryInsert(rec))).toBe(true);
    expect(await uow.run((r) => r.idempotency.tryInsert({ ...rec, fingerprint: 'g' }))).toBe(false);
    expect(await uow.run((r) => r.idempotency.relock('t1', rec.scope, 'k', 50, 200))).toBe(false);
    expect(await uow.run((r) => r.idempotency.relock('t1', rec.scope, 'k', 150, 300))).toBe(true);
    await uow.run((r) => r.idempotency.setRecoveryPoint('t1', rec.scope, 'k', 'ord_1'));
    await uow.run((r) =>
      r.idempotency.complete('t1', rec.scope, 'k', { status: 201, body: '{"a":1}', headers: { location: '/x' } }),
    );
    expect(await uow.read.idempotency.get('t1', rec.scope, 'k')).toMatchObject({
      fingerprint: 'f',
      state: 'completed',
      responseStatus: 201,
      responseBody: '{"a":1}',
      responseHeaders: { location: '/x' },
      recoveryPoint: 'ord_1',
    });
    expect(await uow.run((r) => r.idempotency.purgeExpired(2000))).toBe(1);
    expect(await uow.read.idempotency.get('t1', rec.scope, 'k')).toBeUndefined();
  });

  it('orders list newest first with keyset paging and filters', async () => {
    await uow.run(async (r) => {
      for (const [i, id] of ['o1', 'o2', 'o3', 'o4'].entries()) {
        await r.orders.insert(
          order(id, { createdAt: 1000 + i, paymentId: `p${id}`, status: i % 2 === 0 ? 'COMPLETED' : 'CANCELLED' }),
        );
      }
    });
    const page = await uow.read.orders.list({ tenantId: 't1', limit: 2 });
    expect(page.map((o) => o.id)).toEqual(['o4', 'o3']);
    const next = await uow.read.orders.list({ tenantId: 't1', limit: 2, beforeId: 'o3' });
    expect(next.map((o) => o.id)).toEqual(['o2', 'o1']);
    const done = await uow.read.orders.list({ tenantId: 't1', limit: 10, status: ['COMPLETED'] });
    expect(done.map((o) => o.id)).toEqual(['o3', 'o1']);
    // Several statuses: one list, newest first across them, paged the same way.
    const either = { tenantId: 't1', status: ['COMPLETED', 'CANCELLED', 'PAID'] as const };
    expect((await uow.read.orders.list({ ...either, limit: 3 })).map((o) => o.id)).toEqual(['o4', 'o3', 'o2']);
    expect((await uow.read.orders.list({ ...either, limit: 3, beforeId: 'o3' })).map((o) => o.id)).toEqual([
      'o2',
      'o1',
    ]);
    const mine = { tenantId: 't1', limit: 10, status: ['CANCELLED', 'CREATED'] as const, createdFrom: 1002 };
    expect((await uow.read.orders.list(mine)).map((o) => o.id)).toEqual(['o4']);
    expect(await uow.read.orders.list({ tenantId: 't2', limit: 10, status: ['COMPLETED', 'CANCELLED'] })).toEqual([]);
    const window = await uow.read.orders.list({ tenantId: 't1', limit: 10, createdFrom: 1001, createdTo: 1003 });
    expect(window.map((o) => o.id)).toEqual(['o3', 'o2']);
  });

  it('agent sessions: saved and replaced whole, scoped by tenant, expired ones purged', async () => {
    const session = {
      id: 'ses_1',
      tenantId: 't1',
      userId: 'u1',
      pending: { action: 'order_coffee', known: { drink: 'latte', quantity: 1 } },
      awaiting: null,
      lastOrderId: null,
      turns: [{ text: '点一杯拿铁', result: 'clarify:order_coffee' }],
      createdAt: 1000,
      updatedAt: 1000,
      expiresAt: 301_000,
    };
    await uow.run((r) => r.sessions.save(session));
    expect(await uow.read.sessions.get('t1', 'ses_1')).toEqual(session);
    expect(await uow.read.sessions.get('t2', 'ses_1')).toBeUndefined();
    const next = {
      ...session,
      pending: null,
      lastOrderId: 'ord_1',
      turns: [...session.turns, { text: '大杯', result: 'order_coffee' }],
      updatedAt: 2000,
      expiresAt: 302_000,
    };
    await uow.run((r) => r.sessions.save(next));
    expect(await uow.read.sessions.get('t1', 'ses_1')).toEqual(next);
    await uow.run((r) => r.sessions.save({ ...session, id: 'ses_2', expiresAt: 5000 }));
    expect(await uow.run((r) => r.sessions.purgeExpired(6000))).toBe(1);
    expect(await uow.read.sessions.get('t1', 'ses_2')).toBeUndefined();
    expect(await uow.read.sessions.get('t1', 'ses_1')).toBeDefined();
  });

  it('audit entries keep their order with increasing ids', async () => {
    const entry = (action: string) => ({
      tenantId: 't1',
      at: 1,
      actor: 'a',
      action,
      resourceType: 'order',
      resourceId: 'o1',
      before: null,
      after: null,
      requestId: null,
    });
    await uow.run((r) => r.audit.appendMany([entry('a'), entry('b')]));
    await uow.run((r) => r.audit.append(entry('c')));
    const trail = await uow.read.audit.list('t1', 'order', 'o1');
    expect(trail.map((e) => e.action)).toEqual(['a', 'b', 'c']);
    expect(trail.map((e) => typeof e.id)).toEqual(['number', 'number', 'number']);
    expect(trail[0]!.id < trail[1]!.id && trail[1]!.id < trail[2]!.id).toBe(true);
  });

  it('source blocks: one in force per source across instances; lifted once; expired ones retaken', async () => {
    const other = engine.sharedByInstances ? (await open()).unitOfWork : uow;
    const reasons = { authentication: 0, forged_callback: 11, mandate_violation: 1 };
    const blk = (id: string, createdAt: number, until: number) =>
      ({ id, source: 'ip:203.0.113.9', kind: 'forged_callback', reasons, createdAt, until }) as const;
    // Of concurrent blocks of one source from two instances, exactly one is made.
    const made = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        (i % 2 === 0 ? uow : other).run((r) => r.blocks.block(blk(`b${i}`, 100, 1000))),
      ),
    );
    const winners = made.filter((b) => b !== undefined);
    expect(winners).toHaveLength(1);
    const first = winners[0]!;
    expect(first).toStrictEqual({ ...blk(first.id, 100, 1000), liftedAt: null, liftedBy: null });
    await uow.run((r) => r.blocks.block({ ...blk('bx', 100, 1000), source: 'credential:abc', kind: 'authentication' }));
    // Newest first; on a tie, the greater id first.
    expect((await other.read.blocks.active(500)).map((b) => b.id)).toEqual(['bx', first.id]);
    expect(await uow.read.blocks.get(first.id)).toStrictEqual(first);
    expect(await uow.read.blocks.get('nope')).toBeUndefined();

    // Lifted once; then the source may be blocked again, under a new id.
    expect(await uow.run((r) => r.blocks.lift(first.id, 'user:op', 600))).toStrictEqual({
      ...first,
      liftedAt: 600,
      liftedBy: 'user:op',
    });
    expect(await other.run((r) => r.blocks.lift(first.id, 'user:op', 601))).toBeUndefined();
    expect((await uow.read.blocks.active(700)).map((b) => b.id)).toEqual(['bx']);
    const again = await other.run((r) => r.blocks.block(blk('b-again', 700, 2000)));
    expect(again?.id).toBe('b-again');
    expect(await uow.read.blocks.get(first.id)).toBeUndefined();

    // An expired block is no longer in force, cannot be lifted, and is taken over by the next one.
    expect((await uow.read.blocks.active(2000)).map((b) => b.id)).toEqual([]);
    expect(await uow.run((r) => r.blocks.lift('b-again', 'user:op', 2000))).toBeUndefined();
    expect((await uow.run((r) => r.blocks.block(blk('b-third', 2000, 3000))))?.id).toBe('b-third');
  });

  it('two instances on one database never hold the same job at the same time', async () => {
    const other = engine.sharedByInstances ? (await open()).unitOfWork : uow;
    const n = 120;
    await uow.run(async (r) => {
      for (let i = 0; i < n; i++)
        await r.jobs.enqueue({
          id: `j${String(i).padStart(3, '0')}`,
          now: 0,
          tenantId: 't1',
          kind: 'k',
          resourceId: `r${i}`,
          runAt: 0,
        });
    });
    const seen: string[] = [];
    const work = async (w: UnitOfWork, owner: string): Promise<void> => {
      for (;;) {
        const jobs = await w.run((r) => r.jobs.claimDue(owner, 10, 100_000, 7));
        if (jobs.length === 0) return;
        for (const j of jobs) seen.push(j.id);
        await w.run(async (r) => {
          for (const j of jobs) expect(await r.jobs.complete(j.id, owner, 11)).toBe(true);
        });
      }
    };
    await Promise.all([work(uow, 'a1'), work(other, 'b1'), work(uow, 'a2'), work(other, 'b2')]);
    expect(seen).toHaveLength(n);
    expect(new Set(seen).size).toBe(n);
    expect(await uow.read.jobs.countByStatus()).toEqual({ done: n });
  });

  it("the worker's claim: two instances claiming 200 due jobs at once hold each exactly once, in order", async () => {
    // Priority then run-at within each claim; expired leases retaken; live leases and future jobs left.
    const other = engine.sharedByInstances ? (await open()).unitOfWork : uow;
    const now = 1000;
    const job = (id: string, priority: number, runAt: number, leaseTo?: { owner: string; until: number }) => ({
      id,
      now: 0,
      tenantId: 't1',
      kind: 'k',
      resourceId: id,
      priority,
      runAt,
      ...(leaseTo === undefined ? {} : { leaseTo }),
    });
    const due = Array.from({ length: 200 }, (_, i) => `due${String(i).padStart(3, '0')}`);
    await uow.run(async (r) => {
      for (const [i, id] of due.entries()) await r.jobs.enqueue(job(id, (i % 4) * 10, i));
      // Waiting for a later run-at, some above every due job's priority: never taken early.
      for (let i = 0; i < 30; i++) await r.jobs.enqueue(job(`later${i}`, i % 2 === 0 ? 40 : 0, now + 1 + i));
      // Leased to a worker that is gone (expired) and to one that is alive.
      for (let i = 0; i < 10; i++) await r.jobs.enqueue(job(`expired${i}`, 10, 0, { owner: 'gone', until: now - 1 }));
      for (let i = 0; i < 5; i++) await r.jobs.enqueue(job(`live${i}`, 30, 0, { owner: 'alive', until: now + 1 }));
    });
    const claims: Array<{ owner: string; jobs: JobRecord[] }> = [];
    const claimer = async (w: UnitOfWork, owner: string): Promise<void> => {
      for (;;) {
        // Nothing is completed: every lease taken here is still held when the others claim.
        const jobs = await w.claimDue(owner, now, now + 100_000, 7);
        if (jobs.length === 0) return;
        claims.push({ owner, jobs });
      }
    };
    await Promise.all([claimer(uow, 'a1'), claimer(other, 'b1'), claimer(uow, 'a2'), claimer(other, 'b2')]);
    const taken = claims.flatMap((c) => c.jobs.map((j) => j.id));
    expect(taken).toHaveLength(210);
    expect(new Set(taken)).toEqual(new Set([...due, ...Array.from({ length: 10 }, (_, i) => `expired${i}`)]));
    for (const { owner, jobs } of claims) {
      expect(jobs.map((j) => [j.priority, j.runAt])).toEqual(
        [...jobs].sort((a, b) => b.priority - a.priority || a.runAt - b.runAt).map((j) => [j.priority, j.runAt]),
      );
      for (const j of jobs) {
        expect(j).toMatchObject({ status: 'running', leaseOwner: owner, leaseUntil: now + 100_000 });
        expect(j.attempts).toBe(j.id.startsWith('expired') ? 2 : 1);
        expect((await uow.read.jobs.get(j.id))?.leaseOwner).toBe(owner);
      }
    }
    // The first claim of all took the highest priorities first (after the expired leases).
    const first = claims[0]!.jobs.filter((j) => j.id.startsWith('due'));
    expect(first.every((j) => j.priority === 30)).toBe(true);
    expect(await uow.read.jobs.countByStatus(['queued'])).toEqual({ queued: 30 });
    expect((await uow.read.jobs.get('live0'))?.leaseOwner).toBe('alive');
  });

  it("PostgreSQL: the worker's poll is one round trip, idle or not (no BEGIN, no COMMIT)", async () => {
    const s = await open();
    if (s.statementsSent === undefined) {
      expect(s.engine).toBe('sqlite');
      return;
    }
    await s.unitOfWork.run((r) =>
      r.jobs.enqueue({ id: 'later', now: 0, tenantId: 't1', kind: 'k', resourceId: 'r', priority: 50, runAt: 500 }),
    );
    const sent = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
      const before = s.statementsSent!();
      const value = await fn();
      return [value, s.statementsSent!() - before];
    };
    expect(await sent(() => s.unitOfWork.claimDue('w1', 100, 200, 16))).toEqual([[], 1]);
    const [claimed, n] = await sent(() => s.unitOfWork.claimDue('w1', 500, 600, 16));
    expect([claimed.map((j) => j.id), n]).toEqual([['later'], 1]);
    // Inside a unit of work the same claim costs BEGIN and COMMIT besides.
    expect((await sent(() => s.unitOfWork.run((r) => r.jobs.claimDue('w1', 700, 800, 16))))[1]).toBe(3);
  });

  it('readiness: ping answers while the database is there and says false once it is gone', async () => {
    const s = opened[0]!;
    expect(await s.ping()).toBe(true);
    await engine.takeAway(s);
    expect(await s.ping()).toBe(false);
  });

  it('ledger: balances and journals come back as numbers; callbacks and nonces are taken once', async () => {
    const journal = (id: string, amount: number) => ({
      id,
      tenantId: 't1',
      kind: 'payment.captured',
      resourceType: 'payment',
      resourceId: 'p1',
      currency: 'CNY' as const,
      at: 5,
      actor: 'system:worker',
      postings: [
        { account: 'gateway:sim', amount },
        { account: 'revenue', amount: -amount },
      ],
    });
    await uow.run((r) => r.ledger.append([journal('j1', 3200), journal('j2', 800)]));
    expect(await uow.read.ledger.balances('t1')).toEqual([
      { account: 'gateway:sim', currency: 'CNY', balance: 4000 },
      { account: 'revenue', currency: 'CNY', balance: -4000 },
    ]);
    expect(await uow.read.ledger.unbalancedJournals('t1')).toEqual([]);
    expect((await uow.read.ledger.journalsFor('t1', 'p1')).map((j) => [j.id, j.postings[0]?.amount])).toEqual([
      ['j1', 3200],
      ['j2', 800],
    ]);
    expect(await uow.read.ledger.journalIdsByResource('t1', ['p1', 'p-none'])).toEqual(new Map([['p1', ['j1', 'j2']]]));
    expect(await uow.read.ledger.journalIdsByResource('t2', ['p1'])).toEqual(new Map());
    const event = { gateway: 'sim', eventId: 'e1', tenantId: 't1', resourceId: 'p1', outcome: 'applied', at: 1 };
    expect(await uow.run((r) => r.callbacks.recordEvent(event))).toBe(true);
    expect(await uow.run((r) => r.callbacks.recordEvent(event))).toBe(false);
    expect(await uow.run((r) => r.callbacks.useNonce('sim', 'n1', 100))).toBe(true);
    expect(await uow.run((r) => r.callbacks.useNonce('sim', 'n1', 100))).toBe(false);
    expect(await uow.run((r) => r.callbacks.purgeNonces(200))).toBe(1);
  });

  it(
    'recharge batches: rows kept by line, repeated numbers found, pending rows settled once, ' +
      'results joined in line order',
    async () => {
      const batch = {
        id: 'rcb1',
        tenantId: 't1',
        userId: 'u1',
        status: 'receiving' as const,
        format: 'csv' as const,
        rows: 0,
        validRows: 0,
        rejectedRows: 0,
        pendingRows: 0,
        rejected: [],
        createdBy: 'user:u1',
        createdAt: 1,
        updatedAt: 1,
      };
      await uow.run((r) => r.recharges.insertBatch(batch));
      const row = (line: number, phone: string, status: 'pending' | 'rejected') => ({
        batchId: 'rcb1',
        line,
        phone,
        operator: status === 'pending' ? 'china_mobile' : null,
        amount: status === 'pending' ? 1000 : null,
        status,
        code: status === 'rejected' ? 'PHONE_INVALID_LENGTH' : null,
        message: status === 'rejected' ? 'too short' : null,
        rechargeId: null,
      });
      await uow.run((r) =>
        r.recharges.insertBatchRows([
          row(2, '13800000001', 'pending'),
          row(3, '123', 'rejected'),
          row(4, '13800000002', 'pending'),
          row(5, '13800000001', 'pending'),
        ]),
      );
      expect(
        [
          ...(await uow.read.recharges.firstLinesOf('rcb1', ['13800000001', '13800000002', '13900000000', '123'])),
        ].sort(),
      ).toEqual([
        ['13800000001', 2],
        ['13800000002', 4],
      ]);
      expect(
        await uow.run((r) =>
          r.recharges.updateBatch('t1', 'rcb1', 'receiving', {
            status: 'accepted',
            rows: 4,
            validRows: 3,
            rejectedRows: 1,
            updatedAt: 9,
          }),
        ),
      ).toBe(true);
      expect(
        await uow.run((r) =>
          r.recharges.updateBatch('t1', 'rcb1', 'receiving', {
            status: 'abandoned',
            rows: 4,
            validRows: 0,
            rejectedRows: 0,
            updatedAt: 9,
          }),
        ),
      ).toBe(false);
      // The three pending rows were counted onto the batch as they were written.
      expect(await uow.read.recharges.getBatch('t1', 'rcb1')).toMatchObject({
        status: 'accepted',
        rows: 4,
        validRows: 3,
        rejectedRows: 1,
        pendingRows: 3,
        updatedAt: 9,
      });
      expect((await uow.read.recharges.pendingBatchRows('rcb1', 2)).map((r) => r.line)).toEqual([2, 4]);
      expect(
        await uow.run((r) => r.recharges.settleBatchRow('rcb1', 2, { status: 'accepted', rechargeId: 'rch1' })),
      ).toBe(true);
      expect(
        await uow.run((r) => r.recharges.settleBatchRow('rcb1', 2, { status: 'accepted', rechargeId: 'rch2' })),
      ).toBe(false);
      expect(
        await uow.run((r) =>
          r.recharges.settleBatchRow('rcb1', 5, { status: 'rejected', code: 'INSUFFICIENT_BALANCE', message: 'no' }),
        ),
      ).toBe(true);
      await uow.run((r) => r.recharges.settledBatchRows('rcb1', 2));
      expect((await uow.read.recharges.getBatch('t1', 'rcb1'))?.pendingRows).toBe(1);
      expect(await uow.read.recharges.countBatchRows('rcb1')).toEqual({ accepted: 1, pending: 1, rejected: 2 });
      expect(await uow.read.recharges.countBatchRows('rcb1', ['pending', 'rejected'])).toEqual({
        pending: 1,
        rejected: 2,
      });
      expect(await uow.read.recharges.countBatchRows('rcb1', [])).toEqual({});
      expect((await uow.read.recharges.rejectedBatchRows('rcb1', 3, 10)).map((r) => [r.line, r.code])).toEqual([
        [5, 'INSUFFICIENT_BALANCE'],
      ]);
      const results = await uow.read.recharges.batchResults('rcb1', 0, 10);
      expect(results.map((r) => [r.line, r.status, r.rechargeId, r.recharge])).toEqual([
        [2, 'accepted', 'rch1', null],
        [3, 'rejected', null, null],
        [4, 'pending', null, null],
        [5, 'rejected', null, null],
      ]);
      expect((await uow.read.recharges.batchResults('rcb1', 3, 1)).map((r) => r.line)).toEqual([4]);
      await uow.run((r) => r.recharges.deleteBatchRows('rcb1'));
      expect(await uow.read.recharges.countBatchRows('rcb1')).toEqual({});
      expect((await uow.read.recharges.getBatch('t1', 'rcb1'))?.pendingRows).toBe(0);
    },
  );

  it("a batch's recharges are counted per status as they move, per tenant, exact under two instances", async () => {
    const other = engine.sharedByInstances ? (await open()).unitOfWork : uow;
    const batch = (id: string, tenantId: string) => ({
      id,
      tenantId,
      userId: 'u1',
      status: 'accepted' as const,
      format: 'csv' as const,
      rows: 40,
      validRows: 40,
      rejectedRows: 0,
      pendingRows: 0,
      rejected: [],
      createdBy: 'user:u1',
      createdAt: 1,
      updatedAt: 1,
    });
    const recharge = (id: string, batchId: string | null, tenantId = 't1'): RechargeRecord => ({
      id,
      tenantId,
      userId: 'u1',
      phone: '13800138000',
      operator: 'CHINA_MOBILE',
      amount: 1000,
      currency: 'CNY',
      state: { id, maxAttempts: 2, status: 'CREATED', attempts: [] },
      batchId,
      ...STAMPED,
    });
    const ids = Array.from({ length: 40 }, (_, i) => `rch_b${String(i).padStart(2, '0')}`);
    await uow.run(async (r) => {
      await r.recharges.insertBatch(batch('rcbA', 't1'));
      await r.recharges.insertBatch(batch('rcbB', 't2'));
      for (const id of ids) await r.recharges.insert(recharge(id, 'rcbA'));
      await r.recharges.insert(recharge('rch_other', 'rcbB', 't2'));
      await r.recharges.insert(recharge('rch_single', null));
    });
    expect(await uow.read.recharges.countByBatch('t1', 'rcbA')).toEqual({ CREATED: 40 });
    expect(await uow.read.recharges.countByBatch('t2', 'rcbB')).toEqual({ CREATED: 1 });
    // Another tenant's batch is not seen, even by its id.
    expect(await uow.read.recharges.countByBatch('t1', 'rcbB')).toEqual({});
    // Each recharge moves CREATED → PROCESSING → SUCCEEDED (every tenth FAILED), each move its own
    // transaction, half on each instance, all at once; an update that keeps the status moves nothing.
    const move = async (w: UnitOfWork, id: string, i: number): Promise<void> => {
      const base = recharge(id, 'rcbA');
      const steps: RechargeRecord['state'][] = [
        { id, maxAttempts: 2, status: 'PROCESSING', attempts: [{ channel: 'c', key: `${id}A1` }] },
        { id, maxAttempts: 2, status: 'PROCESSING', attempts: [{ channel: 'c', key: `${id}A1`, channelOrderId: 'x' }] },
        i % 10 === 0
          ? { id, maxAttempts: 2, status: 'FAILED', reason: 'no', attempts: [{ channel: 'c', key: `${id}A1` }] }
          : { id, maxAttempts: 2, status: 'SUCCEEDED', attempts: [{ channel: 'c', key: `${id}A1` }] },
      ];
      for (const [n, state] of steps.entries()) {
        const version = base.version + n;
        expect(await w.run((r) => r.recharges.update({ ...base, state, version: version + 1 }, version))).toBe(true);
      }
    };
    await Promise.all(ids.map((id, i) => move(i % 2 === 0 ? uow : other, id, i)));
    expect(await uow.read.recharges.countByBatch('t1', 'rcbA')).toEqual({ SUCCEEDED: 36, FAILED: 4 });
    expect(await other.read.recharges.countByBatch('t2', 'rcbB')).toEqual({ CREATED: 1 });
  });

  it(
    'recharges: found by a channel order id (any tenant), stale ones by status and age; ' +
      'live jobs and once-only flags',
    async () => {
      const recharge = (id: string, over: Partial<RechargeRecord> = {}): RechargeRecord => ({
        id,
        tenantId: 't1',
        userId: 'u1',
        phone: '13800138000',
        operator: 'CHINA_MOBILE',
        amount: 5000,
        currency: 'CNY',
        state: {
          id,
          maxAttempts: 2,
          status: 'PROCESSING',
          attempts: [{ channel: 'juhe', key: `${id.replace(/_/g, '')}A1` }],
        },
        batchId: null,
        ...STAMPED,
        ...over,
      });
      await uow.run(async (r) => {
        await r.recharges.insert(recharge('rch_0001AAAA'));
        await r.recharges.insert(recharge('rch_0002BBBB', { tenantId: 't2', updatedAt: 5000 }));
        await r.recharges.insert(
          recharge('rch_0003CCCC', {
            state: {
              id: 'rch_0003CCCC',
              maxAttempts: 2,
              status: 'FAILED',
              reason: 'X',
              attempts: [{ channel: 'juhe', key: 'rch0003CCCCA1', failure: { code: 'X', final: true } }],
            },
            updatedAt: 2000,
          }),
        );
      });
      expect((await uow.read.recharges.getByAttemptKey('rch0002BBBBA1'))?.tenantId).toBe('t2');
      expect(await uow.read.recharges.getByAttemptKey('rch0002BBBBA2')).toBeUndefined(); // never sent
      expect(await uow.read.recharges.getByAttemptKey('nonsense')).toBeUndefined();
      expect((await uow.read.recharges.findStale(['PROCESSING'], 3000, undefined, 10)).map((x) => x.id)).toEqual([
        'rch_0001AAAA',
      ]);
      expect((await uow.read.recharges.findStale(['PROCESSING', 'FAILED'], 9000, 1500, 10)).map((x) => x.id)).toEqual([
        'rch_0003CCCC',
        'rch_0002BBBB',
      ]);
      await uow.run((r) =>
        r.jobs.enqueue({
          id: 'jr',
          now: 0,
          tenantId: 't1',
          kind: 'recharge.execute',
          resourceId: 'rch_0001AAAA',
          runAt: 0,
          leaseTo: { owner: 'w1', until: 100 },
        }),
      );
      expect(await uow.read.jobs.hasLive('recharge.execute', 'rch_0001AAAA')).toBe(true);
      expect(await uow.read.jobs.hasLive('recharge.execute', 'rch_0002BBBB')).toBe(false);
      await uow.run((r) => r.jobs.complete('jr', 'w1', 10));
      expect(await uow.read.jobs.hasLive('recharge.execute', 'rch_0001AAAA')).toBe(false);
      const flag = {
        id: 'flg_once',
        tenantId: 't1',
        resourceType: 'recharge',
        resourceId: 'rch_0001AAAA',
        code: 'RECHARGE_UNRESOLVED',
        detail: {},
        createdAt: 1,
        resolvedAt: null,
      };
      expect(await uow.read.flags.countOpen()).toBe(0);
      expect(await uow.run((r) => r.flags.raiseOnce(flag))).toBe(true);
      expect(await uow.run((r) => r.flags.raiseOnce({ ...flag, createdAt: 2 }))).toBe(false);
      expect(await uow.read.flags.list('t1', { limit: 10 })).toHaveLength(1);
      // The operations metric counts every tenant's open flags, as a number on both engines.
      await uow.run((r) => r.flags.raise({ ...flag, id: 'flg_other', tenantId: 't2' }));
      expect(await uow.read.flags.countOpen()).toBe(2);
      expect(await uow.run((r) => r.flags.resolve('t2', 'flg_other', 6))).toBe(true);
      expect(await uow.read.flags.countOpen()).toBe(1);
      expect(await uow.run((r) => r.flags.resolve('t1', 'flg_once', 7))).toBe(true);
      expect(await uow.read.flags.countOpen()).toBe(0);
      expect(await uow.run((r) => r.flags.resolve('t1', 'flg_once', 8))).toBe(false);
      expect(await uow.run((r) => r.flags.resolve('t2', 'flg_once', 8))).toBe(false);
      expect(await uow.read.flags.list('t1', { open: true, limit: 10 })).toEqual([]);
      expect((await uow.read.flags.list('t1', { limit: 10 }))[0]?.resolvedAt).toBe(7);
    },
  );
  it(
    'jobs: a lease is renewed only by its owner; an owner never re-claims its own expired lease; ' +
      'finished jobs are purged',
    async () => {
      await uow.run((r) =>
        r.jobs.enqueue({
          id: 'jl',
          now: 0,
          tenantId: 't1',
          kind: 'k',
          resourceId: 'r1',
          runAt: 0,
          leaseTo: { owner: 'w1', until: 100 },
        }),
      );
      expect(await uow.run((r) => r.jobs.renew('jl', 'w2', 50, 500))).toBe(false);
      expect(await uow.run((r) => r.jobs.renew('jl', 'w1', 50, 500))).toBe(true);
      expect(await uow.read.jobs.get('jl')).toMatchObject({ leaseOwner: 'w1', leaseUntil: 500 });
      // Past the renewed lease: its owner (still running it) does not take it again; another worker does.
      expect(await uow.run((r) => r.jobs.claimDue('w1', 600, 900, 5))).toEqual([]);
      const [taken] = await uow.run((r) => r.jobs.claimDue('w2', 600, 900, 5));
      expect(taken).toMatchObject({ id: 'jl', leaseOwner: 'w2', attempts: 2 });
      // The old owner's renewal now fails: it lost the lease.
      expect(await uow.run((r) => r.jobs.renew('jl', 'w1', 610, 1000))).toBe(false);
      expect(await uow.run((r) => r.jobs.complete('jl', 'w2', 700))).toBe(true);
      expect(await uow.run((r) => r.jobs.renew('jl', 'w2', 710, 1000))).toBe(false);

      await uow.run(async (r) => {
        for (let i = 0; i < 5; i++)
          await r.jobs.enqueue({
            id: `jd${i}`,
            now: 0,
            tenantId: 't1',
            kind: 'k',
            resourceId: `d${i}`,
            runAt: 0,
            leaseTo: { owner: 'w1', until: 100 },
          });
        for (let i = 0; i < 4; i++) await r.jobs.complete(`jd${i}`, 'w1', 100 + i);
        await r.jobs.fail('jd4', 'w1', 100, 'gave up');
      });
      // Only finished jobs older than the cut-off go, at most `limit` at a time; failed ones only when asked.
      expect(await uow.run((r) => r.jobs.purgeFinished('done', 103, 2))).toBe(2);
      expect(await uow.run((r) => r.jobs.purgeFinished('done', 103, 10))).toBe(1);
      expect(await uow.read.jobs.get('jd3')).toBeDefined();
      expect(await uow.read.jobs.get('jd4')).toMatchObject({ status: 'failed' });
      expect(await uow.run((r) => r.jobs.purgeFinished('failed', 1000, 10))).toBe(1);
      expect(await uow.read.jobs.countByStatus()).toEqual({ done: 2 });
    },
  );

  it(
    'idempotency keys, nonces and sessions past their expiry are purged in bounded batches; ' +
      'a live key is never removed',
    async () => {
      const key = (k: string, expiresAt: number) => ({
        tenantId: 't1',
        scope: 's',
        key: k,
        fingerprint: 'f',
        state: 'completed' as const,
        responseStatus: 201,
        responseBody: '{}',
        responseHeaders: {},
        recoveryPoint: null,
        lockedUntil: 0,
        createdAt: 0,
        expiresAt,
      });
      await uow.run(async (r) => {
        for (let i = 0; i < 5; i++) await r.idempotency.tryInsert(key(`old${i}`, 100));
        await r.idempotency.tryInsert(key('live', 10_000));
        for (let i = 0; i < 3; i++) await r.callbacks.useNonce('g', `n${i}`, 100);
        await r.callbacks.useNonce('g', 'fresh', 10_000);
      });
      expect(await uow.run((r) => r.idempotency.removeExpired('t1', 's', 'live', 200))).toBe(false);
      expect(await uow.run((r) => r.idempotency.removeExpired('t1', 's', 'old0', 200))).toBe(true);
      expect(await uow.run((r) => r.idempotency.purgeExpired(200, 3))).toBe(3);
      expect(await uow.run((r) => r.idempotency.purgeExpired(200, 3))).toBe(1);
      expect(await uow.read.idempotency.get('t1', 's', 'live')).toBeDefined();
      expect(await uow.run((r) => r.callbacks.purgeNonces(200, 2))).toBe(2);
      expect(await uow.run((r) => r.callbacks.purgeNonces(200, 2))).toBe(1);
      expect(await uow.run((r) => r.callbacks.useNonce('g', 'fresh', 10_000))).toBe(false);
    },
  );

  it('agent sessions: replace is compare-and-set, so of two concurrent claims exactly one wins', async () => {
    const session = {
      id: 'ses_c',
      tenantId: 't1',
      userId: 'u1',
      pending: null,
      awaiting: { action: 'recharge_phone', params: { phone: '13800138000', amount: 10000 } },
      lastOrderId: null,
      turns: [],
      createdAt: 1000,
      updatedAt: 1000,
      expiresAt: 301_000,
    };
    await uow.run((r) => r.sessions.save(session));
    const other = engine.sharedByInstances ? (await open()).unitOfWork : uow;
    const taken = { ...session, awaiting: null, updatedAt: 2000 };
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? uow : other).run((r) => r.sessions.replace(session, taken))),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await uow.read.sessions.get('t1', 'ses_c')).toEqual(taken);
    expect(await uow.run((r) => r.sessions.replace(session, { ...session, updatedAt: 3000 }))).toBe(false);
  });
  it(
    'every record reads back exactly as written, ' + 'through the prepared statements and the query builder alike',
    async () => {
      // SQLite reads and writes orders, payments, jobs and audit rows with prepared statements and
      // the rest with Kysely (through CamelCasePlugin); both must give back the very same records.
      const o = order('rt_o1', {
        options: { milk: 'oat', extra_shots: 2 },
        statusReason: 'waiting',
        paymentId: 'rt_p1',
      });
      const p = {
        ...payment('rt_p1', 'rt_o1'),
        outTradeNo: 'rt_p1_1',
        gatewayTradeNo: 'g1',
        failureCode: 'X',
        attempt: 1,
      };
      const refund: RefundRecord = {
        id: 'rt_rf1',
        tenantId: 't1',
        orderId: 'rt_o1',
        paymentId: 'rt_p1',
        outRefundNo: 'rt_p1_r1',
        amount: 1200,
        currency: 'CNY',
        status: 'PENDING',
        reason: 'changed mind',
        failureCode: null,
        gatewayRefundNo: null,
        ...STAMPED,
      };
      const topUp = (id: string, over: Partial<TopUpRecord> = {}): TopUpRecord => ({
        id,
        tenantId: 't1',
        userId: 'u1',
        amount: 5000,
        currency: 'CNY',
        status: 'PENDING',
        gateway: 'simulator',
        method: 'wallet',
        outTradeNo: `${id}_1`,
        gatewayTradeNo: null,
        failureCode: null,
        ...STAMPED,
        ...over,
      });
      const plain = topUp('rt_tu1');
      const direct = topUp('rt_tu2', { rechargeId: 'rt_rc1', refundStatus: 'PENDING' });
      const recharge: RechargeRecord = {
        id: 'rt_rc1',
        tenantId: 't1',
        userId: 'u1',
        phone: '13800138000',
        operator: 'CHINA_MOBILE',
        amount: 5000,
        currency: 'CNY',
        state: {
          id: 'rt_rc1',
          maxAttempts: 2,
          status: 'FAILED',
          reason: 'NO_STOCK',
          attempts: [{ channel: 'juhe', key: 'rtrc1A1', failure: { code: 'NO_STOCK', final: true } }],
        },
        batchId: null,
        topUpId: 'rt_tu2',
        ...STAMPED,
      };
      const audit = {
        tenantId: 't1',
        at: 5,
        actor: 'user:u1',
        action: 'order.placed',
        resourceType: 'order',
        resourceId: 'rt_o1',
        before: null,
        after: { status: 'AWAITING_PAYMENT' },
        requestId: 'req_1',
      };
      const job = {
        id: 'rt_j1',
        now: 7,
        tenantId: 't1',
        kind: 'k',
        resourceId: 'rt_o1',
        payload: { a: [1] },
        runAt: 7,
      };
      let enqueued: JobRecord | undefined;
      await uow.run(async (r) => {
        await r.orders.insert(o);
        await r.payments.insert(p);
        await r.refunds.insert(refund);
        await r.topUps.insert(plain);
        await r.topUps.insert(direct);
        await r.recharges.insert(recharge);
        await r.audit.append(audit);
        enqueued = await r.jobs.enqueue(job);
        // Inside the transaction, on the writer's connection.
        expect(await r.orders.get('t1', 'rt_o1')).toStrictEqual(o);
        expect(await r.payments.get('t1', 'rt_p1')).toStrictEqual(p);
      });
      const read = uow.read;
      expect(await read.orders.get('t1', 'rt_o1')).toStrictEqual(o);
      expect(await read.orders.list({ tenantId: 't1', limit: 10 })).toStrictEqual([o]);
      expect(await read.orders.findStale(['AWAITING_PAYMENT'], 2000, undefined, 10)).toStrictEqual([o]);
      expect(await read.orders.getWithPayment('t1', 'rt_o1')).toStrictEqual({ order: o, payment: p });
      expect(await read.payments.get('t1', 'rt_p1')).toStrictEqual(p);
      expect(await read.payments.listAfter('t1', null, 10)).toStrictEqual([p]);
      expect(await read.payments.getByOutTradeNo('rt_p1_1')).toStrictEqual(p);
      expect(await read.refunds.get('t1', 'rt_rf1')).toStrictEqual(refund);
      expect(await read.refunds.listByPayment('t1', 'rt_p1')).toStrictEqual([refund]);
      expect(await read.topUps.listAfter('t1', 'rt_tu0', 10)).toStrictEqual([plain, direct]);
      expect(await read.recharges.get('t1', 'rt_rc1')).toStrictEqual(recharge);
      expect(await read.recharges.getByAttemptKey('rtrc1A1')).toStrictEqual(recharge);
      expect(await read.audit.list('t1', 'order', 'rt_o1')).toStrictEqual([
        { id: 1, shard: auditShard('order', 'rt_o1', DEFAULT_AUDIT_SHARDS), seq: 1, ...audit },
      ]);
      const expectedJob: JobRecord = {
        id: 'rt_j1',
        tenantId: 't1',
        kind: 'k',
        resourceId: 'rt_o1',
        payload: { a: [1] },
        priority: 0,
        runAt: 7,
        attempts: 0,
        maxAttempts: 8,
        status: 'queued',
        leaseOwner: null,
        leaseUntil: null,
        lastError: null,
        createdAt: 7,
        updatedAt: 7,
        traceparent: null,
      };
      expect(enqueued).toStrictEqual(expectedJob);
      expect(await read.jobs.get('rt_j1')).toStrictEqual(expectedJob);
      // Claimed through the query builder (RETURNING); advanced, then read back as stored.
      const leased = {
        ...expectedJob,
        status: 'running' as const,
        leaseOwner: 'w1',
        leaseUntil: 100,
        attempts: 1,
        updatedAt: 8,
      };
      expect(await uow.run((r) => r.jobs.claimById('rt_j1', 'w1', 8, 100))).toStrictEqual(leased);
      const after = { ...leased, kind: 'k2', priority: 3, runAt: 9, leaseUntil: 200, updatedAt: 9 };
      expect(
        await uow.run((r) => r.jobs.advance(leased, 'w1', 9, { kind: 'k2', priority: 3, leaseUntil: 200 })),
      ).toStrictEqual(after);
      expect(await read.jobs.get('rt_j1')).toStrictEqual(after);
    },
  );
  it(
    'identity: tenants and principals insert first; keys found by id, revoked once, live per role; ' +
      'a refresh token spent once and its family revoked',
    async () => {
      const t = { id: 't1', name: 'T', createdAt: 1 };
      expect(await uow.run((r) => r.identity.ensureTenant(t))).toBe(true);
      expect(await uow.run((r) => r.identity.ensureTenant(t))).toBe(false);
      const person = {
        tenantId: 't1',
        id: 'alice',
        kind: 'person' as const,
        role: 'user' as const,
        actsFor: null,
        displayName: 'Alice',
        passwordHash: null,
        createdAt: 1,
        disabledAt: null,
      };
      expect(await uow.run((r) => r.identity.insertPrincipal(person))).toBe(true);
      expect(await uow.run((r) => r.identity.insertPrincipal({ ...person, role: 'admin' }))).toBe(false);
      expect(await uow.read.identity.getPrincipal('t1', 'alice')).toEqual(person);
      expect(await uow.read.identity.getPrincipal('t2', 'alice')).toBeUndefined();
      expect(await uow.run((r) => r.identity.setPassword('t1', 'alice', 'h'))).toBe(true);
      const key = {
        id: 'k1',
        tenantId: 't1',
        principalId: 'alice',
        secretHash: 'hash',
        createdBy: 'admin:root',
        createdAt: 2,
        expiresAt: null,
        revokedAt: null,
      };
      await uow.run((r) => r.identity.insertKey(key));
      expect(await uow.read.identity.getKey('k1')).toEqual(key);
      // What authentication reads: the key and its principal in one go (the password set above included).
      expect(await uow.read.identity.getKeyWithPrincipal('k1')).toEqual({
        key,
        principal: { ...person, passwordHash: 'h' },
      });
      expect(await uow.read.identity.getKeyWithPrincipal('k9')).toBeUndefined();
      // A key whose principal is gone: the key, and no principal (the join's columns all null).
      const orphan = { ...key, id: 'k8', tenantId: 'tz', principalId: 'ghost', secretHash: 'h8' };
      await uow.run((r) => r.identity.insertKey(orphan));
      expect(await uow.read.identity.getKeyWithPrincipal('k8')).toEqual({ key: orphan, principal: undefined });
      expect(await uow.run((r) => r.identity.hasLiveKeyForRole('t1', 'user', 10))).toBe(true);
      expect(await uow.run((r) => r.identity.hasLiveKeyForRole('t1', 'admin', 10))).toBe(false);
      expect(await uow.run((r) => r.identity.revokeKey('t2', 'k1', 5))).toBe(false);
      expect(await uow.run((r) => r.identity.revokeKey('t1', 'k1', 5))).toBe(true);
      expect(await uow.run((r) => r.identity.revokeKey('t1', 'k1', 6))).toBe(false);
      expect(await uow.run((r) => r.identity.hasLiveKeyForRole('t1', 'user', 10))).toBe(false);
      expect((await uow.read.identity.listKeys('t1')).map((k) => [k.id, k.revokedAt])).toEqual([['k1', 5]]);

      const token = (id: string) => refreshToken(id, 't1', 'alice', 'f1');
      await uow.run(async (r) => {
        await r.identity.insertRefreshToken(token('r1'));
        await r.identity.insertRefreshToken(token('r2'));
      });
      const other = engine.sharedByInstances ? (await open()).unitOfWork : uow;
      const spent = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          (i % 2 === 0 ? uow : other).run((r) => r.identity.useRefreshToken('r1', 7)),
        ),
      );
      expect(spent.filter(Boolean)).toHaveLength(1);
      // Spent is not revoked: the login goes on (its access tokens with it) until the family is revoked.
      expect(await uow.read.identity.refreshFamilyRevoked('f1')).toBe(false);
      expect(await uow.run((r) => r.identity.revokeRefreshFamily('f1', 8))).toBe(2);
      expect(await uow.read.identity.refreshFamilyRevoked('f1')).toBe(true);
      expect(await uow.read.identity.refreshFamilyRevoked('f2')).toBe(false);
      expect(await uow.run((r) => r.identity.useRefreshToken('r2', 9))).toBe(false);
      expect(await uow.read.identity.getRefreshToken('r2')).toMatchObject({ revokedAt: 8, usedAt: null });

      const secrets = await Promise.all(
        ['a', 'b', 'c', 'd'].map((v, i) => (i % 2 === 0 ? uow : other).run((r) => r.identity.secret('jwt', v, 1))),
      );
      expect(new Set(secrets).size).toBe(1);
    },
  );
  it(
    'identity, people: listed by id with last login and live keys; role and access changed; admins counted; ' +
      'a person’s keys (and their agents’) and refresh tokens revoked, nobody else’s',
    async () => {
      const p = (tenantId: string, id: string, role: Role, actsFor: string | null = null) => ({
        tenantId,
        id,
        kind: role === 'agent' ? ('agent' as const) : ('person' as const),
        role,
        actsFor,
        displayName: null,
        passwordHash: null,
        createdAt: 1,
        disabledAt: null,
      });
      const k = (id: string, tenantId: string, principalId: string, expiresAt: number | null = null) => ({
        id,
        tenantId,
        principalId,
        secretHash: 'h',
        createdBy: 'admin:root',
        createdAt: 1,
        expiresAt,
        revokedAt: null,
      });
      const rt = (id: string, principalId: string) => refreshToken(id, 'pt', principalId, `fam-${id}`);
      await uow.run(async (r) => {
        for (const x of [
          p('pt', 'cy', 'user'),
          p('pt', 'ann', 'admin'),
          p('pt', 'bo', 'admin'),
          p('pt', 'cy-bot', 'agent', 'cy'),
          p('pu', 'ann', 'admin'),
        ])
          await r.identity.insertPrincipal(x);
        for (const x of [
          k('kc1', 'pt', 'cy'),
          k('kc2', 'pt', 'cy', 5),
          k('kb1', 'pt', 'cy-bot'),
          k('ka1', 'pt', 'ann'),
        ])
          await r.identity.insertKey(x);
        await r.identity.insertKey(k('ku1', 'pu', 'ann'));
        for (const x of [rt('t1', 'cy'), rt('t2', 'cy'), rt('t3', 'ann')]) await r.identity.insertRefreshToken(x);
        await r.identity.recordLogin('pt', 'cy', 42);
      });
      const listed = await uow.read.identity.listPeople('pt', { limit: 10, now: 10 });
      // People only (no agent), by id; cy's key that expired at 5 is not live at 10.
      expect(listed.map((x) => [x.principal.id, x.lastLoginAt, x.liveKeys])).toEqual([
        ['ann', null, 1],
        ['bo', null, 0],
        ['cy', 42, 1],
      ]);
      expect(
        (await uow.read.identity.listPeople('pt', { after: 'ann', limit: 1, now: 10 })).map((x) => x.principal.id),
      ).toEqual(['bo']);
      expect((await uow.read.identity.listPeople('pt', { only: 'cy', limit: 1, now: 10 }))[0]?.principal.id).toBe('cy');
      expect(await uow.run((r) => r.identity.countActiveAdmins('pt'))).toBe(2);
      expect(await uow.run((r) => r.identity.changePrincipal('pt', 'bo', { role: 'user' }))).toBe(true);
      expect(await uow.run((r) => r.identity.changePrincipal('pt', 'ann', { disabledAt: 7 }))).toBe(true);
      expect(await uow.run((r) => r.identity.countActiveAdmins('pt'))).toBe(0);
      expect(await uow.run((r) => r.identity.countActiveAdmins('pu'))).toBe(1);
      expect(await uow.run((r) => r.identity.changePrincipal('pt', 'nobody', { role: 'user' }))).toBe(false);
      expect(await uow.read.identity.getPrincipal('pt', 'ann')).toMatchObject({ role: 'admin', disabledAt: 7 });
      expect(await uow.run((r) => r.identity.changePrincipal('pt', 'ann', { disabledAt: null }))).toBe(true);
      expect(await uow.run((r) => r.identity.countActiveAdmins('pt'))).toBe(1);

      await uow.run((r) => r.identity.lockPeople('pt'));
      expect(await uow.run((r) => r.identity.revokeKeysOfPerson('pt', 'cy', 8))).toEqual(['kb1', 'kc1', 'kc2']);
      expect(await uow.run((r) => r.identity.revokeKeysOfPerson('pt', 'cy', 9))).toEqual([]);
      expect((await uow.read.identity.getKey('ka1'))?.revokedAt).toBeNull();
      expect((await uow.read.identity.getKey('ku1'))?.revokedAt).toBeNull();
      expect(await uow.run((r) => r.identity.revokeRefreshTokensOf('pt', 'cy', 8))).toBe(2);
      expect(await uow.read.identity.refreshFamilyRevoked('fam-t1')).toBe(true);
      expect(await uow.read.identity.refreshFamilyRevoked('fam-t3')).toBe(false);
    },
  );
});

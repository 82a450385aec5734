import { DefaultQueryCompiler } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Storage } from '../src/adapters/storage/storage.js';
import type { Repositories } from '../src/ports/repositories.js';
import { StaleVersionError } from '../src/ports/write-outcomes.js';
import { fellShort } from './support/fell-short.js';
import { storageEngines } from './support/storage-engines.js';
import { orderFixture, paymentFixture } from './support/records.js';

/**
 * What an auto-paid order and an authenticated read ask of storage on every request, run again
 * and again: Kysely compiles none of it after the first time (src/adapters/storage/kysely/hot-query.ts),
 * on either engine, and every answer is still that request's own.
 */

/** An auto-paid order's writes and reads, as the use cases make them (placed, paid, fulfilled). */
async function placeAndPay(r: Repositories, tenantId: string, id: string): Promise<void> {
  const o = orderFixture(id, { tenantId });
  const p = paymentFixture(`pay_${id}`, id, { tenantId });
  await r.orders.insert(o);
  await r.payments.insert(p);
  const job = await r.jobs.enqueue({
    id: `job_${tenantId}_${id}`,
    now: 1000,
    tenantId,
    kind: 'pay',
    resourceId: id,
    runAt: 1000,
    leaseTo: { owner: 'w1', until: 60_000 },
  });
  await r.audit.append({
    tenantId,
    at: 1000,
    actor: 'user:u1',
    action: 'order.created',
    resourceType: 'order',
    resourceId: id,
    before: null,
    after: { id },
    requestId: null,
  });
  expect(await r.orders.getWithPayment(tenantId, id)).toEqual({ order: o, payment: p });
  expect(await r.payments.update({ ...p, status: 'PAID', attempt: 1, version: 2 }, 1)).toBe(true);
  expect(await r.orders.update({ ...o, status: 'PAID', version: 2 }, 1)).toBe(true);
  await r.ledger.append([
    {
      id: `j_${tenantId}_${id}`,
      tenantId,
      kind: 'payment.captured',
      resourceType: 'payment',
      resourceId: p.id,
      currency: 'CNY',
      at: 1000,
      actor: 'system:worker',
      postings: [
        { account: 'gateway:sim', amount: 3200 },
        { account: 'revenue', amount: -3200 },
      ],
    },
  ]);
  expect(await r.jobs.advance(job, 'w1', 1001, { kind: 'fulfil', priority: 0, leaseUntil: 60_000 })).toBeDefined();
  expect(await r.jobs.complete(job.id, 'w1', 1002)).toBe(true);
  expect(await r.jobs.claimDue('w2', 1003, 60_000, 10)).toEqual([]);
}

const { engines, drop } = await storageEngines('hot_queries');

describe.each(engines)('hot queries on %s', (_name, open) => {
  let s: Storage;
  beforeAll(async () => {
    s = await open();
    for (const t of ['t1', 't2'])
      await s.unitOfWork.run((r) => r.identity.ensureTenant({ id: t, name: t, createdAt: 1 }));
    await s.unitOfWork.run(async (r) => {
      await r.identity.insertPrincipal({
        tenantId: 't1',
        id: 'alice',
        kind: 'person',
        role: 'user',
        actsFor: null,
        displayName: 'Alice',
        passwordHash: null,
        createdAt: 1,
        disabledAt: null,
      });
      for (const id of ['k1', 'k2'])
        await r.identity.insertKey({
          id,
          tenantId: 't1',
          principalId: 'alice',
          secretHash: `hash_${id}`,
          createdBy: 'admin:root',
          createdAt: 2,
          expiresAt: null,
          revokedAt: null,
        });
    });
  });
  afterEach(() => vi.restoreAllMocks());
  afterAll(async () => {
    await s.close();
    await drop();
  });

  it('compiles nothing an order or a read runs after the first time, and each answer is its own', async () => {
    // The first of each: compiled here (once a database).
    await s.unitOfWork.run((r) => placeAndPay(r, 't1', 't1_o0'));
    expect(await s.unitOfWork.read.identity.getKeyWithPrincipal('k1')).toBeDefined();
    expect(await s.unitOfWork.read.orders.getWithPayment('t1', 't1_o0')).toBeDefined();
    expect(await s.unitOfWork.read.payments.get('t1', 'pay_t1_o0')).toBeDefined();

    const compile = vi.spyOn(DefaultQueryCompiler.prototype, 'compileQuery');
    for (let i = 1; i <= 3; i++) {
      for (const t of ['t1', 't2']) await s.unitOfWork.run((r) => placeAndPay(r, t, `${t}_o${i}`));
      const key = await s.unitOfWork.read.identity.getKeyWithPrincipal(i % 2 === 0 ? 'k1' : 'k2');
      expect(key?.key.secretHash).toBe(i % 2 === 0 ? 'hash_k1' : 'hash_k2');
      expect(key?.principal?.displayName).toBe('Alice');
      expect(await s.unitOfWork.read.identity.getKeyWithPrincipal('k9')).toBeUndefined();
      const read = await s.unitOfWork.read.orders.getWithPayment('t2', `t2_o${i}`);
      expect(read?.order).toMatchObject({ tenantId: 't2', id: `t2_o${i}`, status: 'PAID', version: 2 });
      expect(read?.payment).toMatchObject({ tenantId: 't2', orderId: `t2_o${i}`, status: 'PAID' });
      expect(await s.unitOfWork.read.orders.getWithPaymentIfAny('t2', `t2_o${i}`)).toEqual(read);
      expect(await s.unitOfWork.read.payments.get('t2', `pay_t2_o${i}`)).toMatchObject({ tenantId: 't2' });
    }
    expect(compile.mock.calls.map(([node]) => node.kind)).toEqual([]);

    // Tenant scoping holds: an order id of one tenant is not found under another.
    expect(await s.unitOfWork.read.orders.get('t1', 't2_o1')).toBeUndefined();
    expect(await s.unitOfWork.read.orders.getWithPayment('t1', 't2_o1')).toBeUndefined();
    expect(await s.unitOfWork.read.orders.getWithPaymentIfAny('t1', 't2_o1')).toBeUndefined();
    expect(await s.unitOfWork.read.payments.get('t1', 'pay_t2_o1')).toBeUndefined();
    // A version check still checks: a stale update touches nothing.
    await fellShort(
      s.unitOfWork.run((r) => r.orders.update(orderFixture('t1_o1', { status: 'FAILED', version: 3 }), 1)),
      StaleVersionError,
    );
    expect(await s.unitOfWork.read.orders.get('t1', 't1_o1')).toMatchObject({ status: 'PAID', version: 2 });
    expect(await s.unitOfWork.read.ledger.balances('t2')).toEqual([
      { account: 'gateway:sim', currency: 'CNY', balance: 9600 },
      { account: 'revenue', currency: 'CNY', balance: -9600 },
    ]);
  });
});

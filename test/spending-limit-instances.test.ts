import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Caller } from '../src/application/kernel/caller.js';
import type { App } from '../src/composition/create-app.js';
import { SimulatedCarriers } from '../src/simulator/simulated-carriers.js';
import { createTestDatabase, postgresWanted, type TestDatabase } from './support/pg-db.js';
import { quick, rechargeConfig, simulatedChannels } from './support/recharge-harness.js';
import { ADMIN, startTestApp } from './support/test-app.js';

/**
 * The daily limit is a read (today's sum) followed by a write (the new order). Two instances
 * deciding for the same person at the same moment must not both slip under it: on PostgreSQL
 * the decision takes a per-user lock inside its transaction.
 */
const wanted = await postgresWanted();

describe.runIf(wanted)('daily spending limit and wallet balance across instances on PostgreSQL', () => {
  let db: TestDatabase;
  const apps: App[] = [];
  beforeAll(async () => {
    db = await createTestDatabase('limit');
  });
  afterAll(async () => {
    for (const a of apps) await a.close();
    await db.drop();
  });

  it('holds exactly: concurrent orders from two instances for one person never exceed it', async () => {
    const price = 3200; // a medium latte
    const allowed = 7;
    // Orders wait for confirmation: the limit counts them, and no payment is involved.
    const overrides = {
      database: { url: db.url, pool_size: 8 },
      auto_confirm_order: false,
      trusted_actions: [],
      daily_limit_per_user: allowed * price,
      log: { level: 'silent' },
    };
    for (let i = 0; i < 2; i++) apps.push((await startTestApp(overrides, { workerId: `limit-${i}` })).app);
    const caller: Caller = {
      tenantId: 'default',
      userId: 'spender',
      actor: 'user:spender',
      requestId: null,
      role: 'user',
    };
    const attempts = Array.from({ length: 24 }, (_, i) =>
      apps[i % 2]!.services.orders.place(caller, { drink: 'latte', size: 'medium', quantity: 1, options: {} }),
    );
    const results = await Promise.all(attempts);
    const accepted = results.filter((r) => r.ok);
    const refused = results.filter((r) => !r.ok);
    expect(accepted).toHaveLength(allowed);
    expect(refused.every((r) => !r.ok && r.error.code === 'DAILY_LIMIT_EXCEEDED')).toBe(true);
    const page = await apps[0]!.services.orders.list(ADMIN, { userId: 'spender', limit: 100 });
    expect(page.data.reduce((sum, o) => sum + o.amount, 0)).toBe(allowed * price);
  });

  it(
    'a wallet never goes below zero: ' +
      'concurrent recharges from two instances for one person take exactly what it holds',
    async () => {
      const carriers = new SimulatedCarriers();
      const wallets: App[] = [];
      for (let i = 0; i < 2; i++) {
        const overrides = {
          ...rechargeConfig(['sim-a']),
          database: { url: db.url, pool_size: 8 },
          log: { level: 'silent' },
        };
        const app = (
          await startTestApp(overrides, {
            workerId: `wallet-${i}`,
            carriers,
            rechargeChannels: simulatedChannels(carriers, { 'sim-a': quick }),
          })
        ).app;
        apps.push(app);
        wallets.push(app);
      }
      const caller: Caller = {
        tenantId: 'default',
        userId: 'saver',
        actor: 'user:saver',
        requestId: null,
        role: 'user',
      };
      const topUp = await wallets[0]!.services.wallet.topUp(caller, 10_000);
      expect(topUp.ok && topUp.value.kind === 'top_up' && topUp.value.topUp.status).toBe('SUCCEEDED');
      // ¥100 on the wallet, 12 recharges of ¥30 sent to two instances at once: three fit.
      const attempts = Array.from({ length: 12 }, (_, i) =>
        wallets[i % 2]!.services.recharge.request(caller, {
          phone: `1380000${String(i).padStart(4, '0')}`,
          amount: 3000,
        }),
      );
      const results = await Promise.all(attempts);
      expect(results.filter((r) => r.ok)).toHaveLength(3);
      expect(results.filter((r) => !r.ok).every((r) => !r.ok && r.error.code === 'INSUFFICIENT_BALANCE')).toBe(true);
      const wallet = await wallets[1]!.services.wallet.balance(caller);
      expect(wallet.ok && wallet.value.balance).toBe(1000);
      expect(carriers.groundTruth.length).toBeLessThanOrEqual(3);
    },
  );
});

import type { LightMyRequestResponse } from 'fastify';
import SqliteDatabase from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../src/composition/create-app.js';
import { journalIds } from '../src/domain/keys.js';
import { SimulatedCarriers } from '../src/simulator/simulated-carriers.js';
import { quick, simulatedChannels } from './support/recharge-harness.js';
import { startTestApp, tempDbPath } from './support/test-app.js';

/**
 * The ledger check reports completeness as well as balance: every captured payment, refund,
 * top-up and recharge has exactly the journals its state requires. A journal that went missing
 * leaves the books balanced — and is still found.
 */
let app: App | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

const post = (a: App, url: string, payload: Record<string, unknown>, user = 'alice'): Promise<LightMyRequestResponse> =>
  a.http.inject({ method: 'POST', url, headers: { 'content-type': 'application/json', 'x-user-id': user }, payload });

describe('GET /api/v1/ledger/check', () => {
  it(
    'finds every journal present after orders, refunds, top-ups and recharges; ' +
      'a deleted capture is reported missing though the books still balance',
    async () => {
      const db = tempDbPath();
      const carriers = new SimulatedCarriers();
      app = (
        await startTestApp(
          { recharge: { channels: { 'sim-a': { type: 'simulator', operators: ['CHINA_MOBILE'] } } } },
          { carriers, rechargeChannels: simulatedChannels(carriers, { 'sim-a': quick }) },
          db,
        )
      ).app;
      const a = app;
      a.start();
      const placed = await post(a, '/api/v1/order', { drink: 'latte', size: 'medium' });
      expect(placed.statusCode).toBe(201);
      const o = placed.json<{ order: { id: string; payment: { id: string } } }>().order;
      expect((await post(a, `/api/v1/orders/${o.id}/refund`, { amount: 500 })).statusCode).toBe(201);
      expect((await post(a, '/api/v1/wallet/top-ups', { amount: 20_000 })).statusCode).toBe(201);
      expect((await post(a, '/api/v1/recharges', { phone: '13800138000', amount: 5000 })).statusCode).toBe(201);
      expect(
        (await post(a, '/api/v1/recharges', { phone: '13800138001', amount: 5000, pay: 'direct' })).statusCode,
      ).toBe(201);

      const ok = (await a.http.inject({ method: 'GET', url: '/api/v1/ledger/check' })).json<{
        balanced: boolean;
        complete: boolean;
        checked: number;
      }>();
      expect(ok).toMatchObject({ balanced: true, complete: true, incomplete: [] });
      expect(ok.checked).toBeGreaterThanOrEqual(6);

      // A capture whose journal is lost: both postings gone, so every remaining journal still balances.
      const raw = new SqliteDatabase(db);
      // Postings cannot be deleted (migration 0035): only someone who first drops the guard can.
      raw.exec('drop trigger ledger_postings_append_only_delete');
      raw.prepare('delete from ledger_postings where journal_id = ?').run(journalIds.paymentCaptured(o.payment.id));
      raw.close();
      const broken = (await a.http.inject({ method: 'GET', url: '/api/v1/ledger/check' })).json<{
        balanced: boolean;
        complete: boolean;
        incomplete: Array<{ resource_type: string; resource_id: string; missing: string[]; unexpected: string[] }>;
      }>();
      expect(broken.balanced).toBe(true);
      expect(broken.complete).toBe(false);
      expect(broken.incomplete).toEqual([
        {
          resource_type: 'payment',
          resource_id: o.payment.id,
          status: 'PARTIALLY_REFUNDED',
          missing: [journalIds.paymentCaptured(o.payment.id)],
          unexpected: [],
        },
      ]);
    },
  );
});

import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../src/composition/create-app.js';
import { SimulatedCarriers } from '../src/simulator/simulated-carriers.js';
import { SimulatedGateway } from '../src/simulator/simulated-gateway.js';
import {
  accountBalance,
  jsonHeaders,
  ledgerBalances,
  quick,
  rechargeConfig,
  simulatedChannels,
  walletBalance,
} from './support/recharge-harness.js';
import { startTestApp } from './support/test-app.js';

interface Recharge {
  id: string;
  status: string;
  paid_by: string;
  top_up_id: string | null;
  failure_reason: string | null;
}
interface TopUp {
  id: string;
  status: string;
  out_trade_no: string;
  recharge_id: string | null;
  refund_status: string | null;
}

const apps: App[] = [];
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close().catch(() => undefined);
});

async function start(
  profiles: Parameters<typeof simulatedChannels>[1],
  gateway = new SimulatedGateway(),
): Promise<{ app: App; carriers: SimulatedCarriers; gateway: SimulatedGateway }> {
  const carriers = new SimulatedCarriers();
  const { app } = await startTestApp(
    { ...rechargeConfig(Object.keys(profiles), { max_attempts: 1 }) },
    { carriers, gateway, rechargeChannels: simulatedChannels(carriers, profiles) },
  );
  apps.push(app);
  app.start();
  return { app, carriers, gateway };
}

const rechargeDirect = (app: App, user: string, phone: string, amount: number, key: string) =>
  app.http.inject({
    method: 'POST',
    url: '/api/v1/recharges',
    headers: jsonHeaders(user, key),
    payload: { phone, amount, pay: 'direct' },
  });

async function topUpOf(app: App, user: string, id: string): Promise<TopUp> {
  return (
    await app.http.inject({ method: 'GET', url: `/api/v1/wallet/top-ups/${id}`, headers: { 'x-user-id': user } })
  ).json<{ top_up: TopUp }>().top_up;
}

describe('a recharge paid by a payment of its own', () => {
  it('charges the payer once, tops the phone up, and never touches the wallet', async () => {
    const { app, carriers, gateway } = await start({ 'sim-a': quick });
    const res = await rechargeDirect(app, 'ned', '13800138000', 5000, 'd-1');
    expect(res.statusCode, res.body).toBe(201);
    const rec = res.json<{ recharge: Recharge }>().recharge;
    expect(rec).toMatchObject({ status: 'SUCCEEDED', paid_by: 'direct' });
    expect(rec.top_up_id).toMatch(/^wtu_/);
    const topUp = await topUpOf(app, 'ned', rec.top_up_id ?? '');
    expect(topUp).toMatchObject({ status: 'SUCCEEDED', recharge_id: rec.id, refund_status: null });
    expect(gateway.capturesFor(topUp.out_trade_no)).toBe(1);
    expect(carriers.groundTruth.map((t) => [t.phone, t.amount.amount])).toEqual([['13800138000', 5000]]);
    expect(await walletBalance(app, 'ned')).toBe(0);
    const l = await ledgerBalances(app);
    expect(l.balanced).toBe(true);
    expect(accountBalance(l, 'recharge_clearing:default')).toBe(0);
    expect(accountBalance(l, 'wallet:ned')).toBe(0);
    // The same key answers the same recharge: one payment, one top-up.
    const again = await rechargeDirect(app, 'ned', '13800138000', 5000, 'd-1');
    expect(again.json<{ recharge: Recharge }>().recharge.id).toBe(rec.id);
    expect(gateway.capturesFor(topUp.out_trade_no)).toBe(1);
    expect(carriers.groundTruth).toHaveLength(1);
  });

  it('when the recharge fails, the payment is refunded to the payer — not kept on the wallet', async () => {
    const { app, carriers, gateway } = await start({
      'sim-bad': { chaos: { latencyMs: { min: 1, max: 2 }, failureRate: 1 } },
    });
    const res = await rechargeDirect(app, 'ora', '13800138001', 3000, 'd-2');
    expect(res.statusCode, res.body).toBe(422);
    const rec = res.json<{ recharge: Recharge }>().recharge;
    expect(rec).toMatchObject({ status: 'FAILED', paid_by: 'direct' });
    let topUp = await topUpOf(app, 'ora', rec.top_up_id ?? '');
    for (let i = 0; i < 100 && topUp.refund_status !== 'SUCCEEDED'; i++) {
      await new Promise((r) => setTimeout(r, 20));
      topUp = await topUpOf(app, 'ora', rec.top_up_id ?? '');
    }
    expect(topUp.refund_status).toBe('SUCCEEDED');
    const trade = gateway.trade(topUp.out_trade_no);
    expect(trade?.refunded).toBe(3000);
    expect(trade?.refunds.size).toBe(1);
    expect(carriers.groundTruth).toHaveLength(0);
    expect(await walletBalance(app, 'ora')).toBe(0);
    const l = await ledgerBalances(app);
    expect(l.balanced).toBe(true);
    expect(accountBalance(l, 'recharge_clearing:default')).toBe(0);
    expect(accountBalance(l, 'refunds_due:default')).toBe(0);
    expect(accountBalance(l, 'gateway:secure-pay-v3')).toBe(0);
  });

  it('when the payment is declined, no channel is asked and nothing moves', async () => {
    const { app, carriers } = await start({ 'sim-a': quick }, new SimulatedGateway({ startingBalance: 1000 }));
    const res = await rechargeDirect(app, 'pat', '13800138002', 5000, 'd-3');
    expect(res.statusCode, res.body).toBe(422);
    const rec = res.json<{ recharge: Recharge }>().recharge;
    expect(rec).toMatchObject({ status: 'FAILED', failure_reason: 'PAYMENT_DECLINED' });
    expect((await topUpOf(app, 'pat', rec.top_up_id ?? '')).status).toBe('FAILED');
    expect(carriers.groundTruth).toHaveLength(0);
    const l = await ledgerBalances(app);
    expect(l.balanced).toBe(true);
    expect(l.data.filter((d) => d.balance !== 0)).toEqual([]);
  });
});

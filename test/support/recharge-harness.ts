import { afterEach, expect } from 'vitest';
import { DEFAULT_OPERATOR_SETTINGS } from '../../src/domain/recharge/operator-settings.js';
import type { App } from '../../src/composition/create-app.js';
import type { SimulatedCarriers } from '../../src/simulator/simulated-carriers.js';
import { shortLease, startTestApp } from './test-app.js';
import { type ChannelProfile, SimulatedRechargeChannel } from '../../src/simulator/simulated-recharge-channel.js';

export const ALL_OPERATORS = ['CHINA_MOBILE', 'CHINA_UNICOM', 'CHINA_TELECOM', 'CHINA_BROADNET', 'VIRTUAL'];
/** The channels' side of the client timeout the config sets for China Mobile. */
export const FAST_MOBILE = {
  ...DEFAULT_OPERATOR_SETTINGS,
  CHINA_MOBILE: { ...DEFAULT_OPERATOR_SETTINGS.CHINA_MOBILE, timeoutMs: 150 },
};
export const quick: ChannelProfile = { chaos: { latencyMs: { min: 1, max: 3 } } };

/** Config for a recharge section with these channels (all operators), fast polls, round-robin in key order. */
export function rechargeConfig(
  channels: readonly string[],
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const lease = shortLease(300) as { recharge: { operators: Record<string, unknown> } };
  return {
    ...lease,
    worker: { poll_interval_ms: 20, lease_ms: 300, retry_base_ms: 10, retry_max_ms: 50 },
    server: { port: 0, wait_for_completion_ms: 3000 },
    recharge: {
      poll_interval_ms: 10,
      processing_deadline_ms: 1000,
      operators: { ...lease.recharge.operators, CHINA_MOBILE: { timeout_ms: 150 } },
      routing: { strategy: 'round_robin' },
      channels: Object.fromEntries(channels.map((n) => [n, { type: 'simulator', operators: ALL_OPERATORS }])),
      ...extra,
    },
  };
}

/** In-process simulated channels sharing one ground truth. */
export function simulatedChannels(
  carriers: SimulatedCarriers,
  profiles: Record<string, ChannelProfile>,
): Map<string, SimulatedRechargeChannel> {
  return new Map(
    Object.entries(profiles).map(([name, profile], i) => [
      name,
      new SimulatedRechargeChannel({ name, carriers, profile, seed: 7 + i, operatorSettings: FAST_MOBILE }),
    ]),
  );
}

export const jsonHeaders = (user: string, key?: string): Record<string, string> => ({
  'content-type': 'application/json',
  'x-user-id': user,
  ...(key === undefined ? {} : { 'idempotency-key': key }),
});

export async function topUpWallet(app: App, user: string, amount: number): Promise<void> {
  const res = await app.http.inject({
    method: 'POST',
    url: '/api/v1/wallet/top-ups',
    headers: jsonHeaders(user, `tu-${user}-${amount}`),
    payload: { amount },
  });
  expect(res.statusCode, res.body).toBe(201);
}

export async function walletBalance(app: App, user: string): Promise<number> {
  const res = await app.http.inject({ method: 'GET', url: '/api/v1/wallet', headers: { 'x-user-id': user } });
  return res.json<{ wallet: { balance: number } }>().wallet.balance;
}

export async function ledgerBalances(
  app: App,
): Promise<{ balanced: boolean; data: Array<{ account: string; balance: number }> }> {
  const res = await app.http.inject({ method: 'GET', url: '/api/v1/ledger/balances' });
  return res.json();
}

export const accountBalance = (l: { data: Array<{ account: string; balance: number }> }, account: string): number =>
  l.data.find((d) => d.account === account)?.balance ?? 0;

/** How many times each number was topped up, by the channels' own account. */
export function toppedUpPerPhone(carriers: SimulatedCarriers): Map<string, number> {
  const perPhone = new Map<string, number>();
  for (const t of carriers.groundTruth) perPhone.set(t.phone, (perPhone.get(t.phone) ?? 0) + 1);
  return perPhone;
}

/** A `start(overrides, options?, db?)` for one test file: every app it starts is closed after each test. */
export function appStarter(): (
  overrides: Record<string, unknown>,
  options?: Parameters<typeof startTestApp>[1],
  db?: string,
) => Promise<App> {
  const apps: App[] = [];
  afterEach(async () => {
    for (const a of apps.splice(0)) await a.close().catch(() => undefined);
  });
  return async (overrides, options = {}, db) => {
    const { app } = await startTestApp(overrides, options, db);
    apps.push(app);
    return app;
  };
}

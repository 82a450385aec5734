import type { LightMyRequestResponse } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { describeOutcome } from '../src/application/agent/agent-api.js';
import type { App } from '../src/composition/create-app.js';
import { SimulatedCarriers } from '../src/simulator/simulated-carriers.js';
import { type Cluster, ENGINES, startCluster } from './support/cluster.js';
import { runCliCaptured } from './support/cli-run.js';
import { quick, rechargeConfig, simulatedChannels } from './support/recharge-harness.js';
import { adminKeyOf, startTestApp } from './support/test-app.js';
import { until } from './support/webhook-receiver.js';

/**
 * Issue 17: a wallet top-up and a directly paid recharge paid by QR hand the payer what they
 * need — qr_code, pay_url, expires_at — on the HTTP answer, on a GET later, in the CLI (with the
 * terminal QR) and in an agent's reply; the payer pays on the embedded simulator's page.
 */

interface Payer {
  qr_code: string | null;
  pay_url: string | null;
  expires_at: string | null;
}
type TopUp = Payer & { id: string; status: string };
type Recharge = Payer & { id: string; status: string; top_up_id: string | null };

let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

const alice = { 'content-type': 'application/json', 'x-user-id': 'alice' };
const pagePath = (payUrl: string): string => new URL(payUrl).pathname;
const PAY_PAGE = /\/_sim\/pay\/sim_\d+\.[A-Za-z0-9_-]{22}$/;

describe.each(ENGINES)('top-ups and direct recharges paid by QR, on %s', (engine) => {
  it('the answers carry qr_code, pay_url, expires_at until the payer pays on the page', async () => {
    const carriers = new SimulatedCarriers();
    cluster = await startCluster(
      engine,
      {
        ...rechargeConfig(['sim-a']),
        log: { level: 'silent' },
        orders: { payment_method: 'sim_qr' },
        worker: { poll_interval_ms: 20, lease_ms: 300, retry_base_ms: 200, retry_max_ms: 400 },
        server: { port: 0, wait_for_completion_ms: 500 },
      },
      () => ({ carriers, rechargeChannels: simulatedChannels(carriers, { 'sim-a': quick }) }),
      1,
    );
    const a = cluster.apps[0] as App;
    a.start();
    const inject = (
      method: 'GET' | 'POST',
      url: string,
      payload?: Record<string, unknown>,
    ): Promise<LightMyRequestResponse> =>
      a.http.inject({ method, url, headers: alice, ...(payload === undefined ? {} : { payload }) });

    const made = await inject('POST', '/api/v1/wallet/top-ups', { amount: 5_000 });
    expect(made.statusCode, made.body).toBe(202);
    const topUp = made.json<{ top_up: TopUp }>().top_up;
    expect(topUp.status).toBe('PENDING');
    expect(topUp.qr_code).toMatch(PAY_PAGE);
    expect(topUp.pay_url).toBe(topUp.qr_code);
    expect(Date.parse(topUp.expires_at ?? '') - Date.now()).toBeGreaterThan(60_000);
    const again = (await inject('GET', `/api/v1/wallet/top-ups/${topUp.id}`)).json<{ top_up: TopUp }>().top_up;
    expect(again).toMatchObject({ qr_code: topUp.qr_code, pay_url: topUp.pay_url, expires_at: topUp.expires_at });

    const paid = await a.http.inject({ method: 'POST', url: pagePath(topUp.pay_url ?? '') });
    expect(paid.statusCode).toBe(200);
    const done = await until(
      async () => (await inject('GET', `/api/v1/wallet/top-ups/${topUp.id}`)).json<{ top_up: TopUp }>().top_up,
      (t) => t.status === 'SUCCEEDED',
    );
    expect(done).toMatchObject({ status: 'SUCCEEDED', qr_code: null, pay_url: null, expires_at: null });
    expect((await inject('GET', '/api/v1/wallet')).json()).toMatchObject({ wallet: { balance: 5_000 } });

    // A recharge paid by a payment of its own: the same three fields, on the recharge itself.
    const direct = await inject('POST', '/api/v1/recharges', { phone: '13800138000', amount: 3_000, pay: 'direct' });
    expect(direct.statusCode, direct.body).toBe(202);
    const recharge = direct.json<{ recharge: Recharge }>().recharge;
    expect(recharge.qr_code).toMatch(PAY_PAGE);
    expect(recharge.pay_url).toBe(recharge.qr_code);
    expect(recharge.expires_at).not.toBeNull();
    const paidRecharge = await a.http.inject({ method: 'POST', url: pagePath(recharge.pay_url ?? '') });
    expect(paidRecharge.statusCode).toBe(200);
    const delivered = await until(
      async () => (await inject('GET', `/api/v1/recharges/${recharge.id}`)).json<{ recharge: Recharge }>().recharge,
      (r) => r.status === 'SUCCEEDED',
    );
    expect(delivered).toMatchObject({ status: 'SUCCEEDED', qr_code: null, pay_url: null });
    expect(carriers.groundTruth).toHaveLength(1);
  }, 60_000);
});

describe('a QR top-up from the autoglm CLI and in an agent’s reply', () => {
  it('autoglm wallet top-up draws the QR and names its page; an agent is told where to pay', async () => {
    const { app } = await startTestApp({
      log: { level: 'silent' },
      orders: { payment_method: 'sim_qr' },
      server: { port: 0, wait_for_completion_ms: 500 },
    });
    const url = await app.listen();
    const cli = (...args: string[]) => runCliCaptured(args, { defaultUrl: url, apiKey: adminKeyOf(app) });
    try {
      const topUp = await cli('wallet', 'top-up', '50');
      expect(topUp.code, topUp.err.join('\n')).toBe(0);
      const text = topUp.out.join('\n');
      const payUrl = /open (http:\/\/\S+\/_sim\/pay\/sim_\d+\.\S+)/.exec(text)?.[1];
      expect(payUrl).toBeDefined();
      expect(text).toMatch(/before \d{4}-\d\d-\d\dT/);
      expect(text).toMatch(/[▄▀█]{5}/);
      expect((await fetch(payUrl ?? '', { method: 'POST' })).status).toBe(200);
      const balance = await until(
        () => cli('wallet', 'balance'),
        (r) => /50\.00/.test(r.out.join('\n')),
      );
      expect(balance.out.join('\n')).toMatch(/50\.00 CNY/);
    } finally {
      await app.close();
    }
    const reply = describeOutcome({
      kind: 'done',
      action: 'top_up_wallet',
      result: {
        top_up: {
          id: 'wtu_1',
          qr_code: 'https://pay.example/p/1',
          pay_url: 'https://pay.example/p/1',
          expires_at: 'T',
        },
      },
    });
    expect(reply).toContain('to pay, open https://pay.example/p/1 (or scan its QR code) before T');
  });
});

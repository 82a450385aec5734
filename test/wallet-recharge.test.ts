import { describe, expect, it } from 'vitest';
import type { App } from '../src/composition/create-app.js';
import {
  type RechargeChannel,
  type RechargeChannelResult,
  type RechargeSubmitRequest,
} from '../src/ports/recharge-channel.js';
import { SimulatedCarriers } from '../src/simulator/simulated-carriers.js';
import type { SimulatedRechargeChannel } from '../src/simulator/simulated-recharge-channel.js';
import { SimulatedGateway } from '../src/simulator/simulated-gateway.js';
import { SimulatedMerchant } from '../src/simulator/simulated-merchant.js';
import {
  accountBalance,
  appStarter,
  jsonHeaders as json,
  ledgerBalances as ledger,
  quick,
  rechargeConfig as config,
  simulatedChannels as sims,
  topUpWallet as topUp,
  walletBalance as balance,
} from './support/recharge-harness.js';
import { ADMIN, auditOf, tempDbPath } from './support/test-app.js';

const PHONE = '13800138000'; // China Mobile
function recharge(app: App, user: string, body: Record<string, unknown>, key?: string) {
  return app.http.inject({ method: 'POST', url: '/api/v1/recharges', headers: json(user, key), payload: body });
}

interface RechargeBody {
  recharge: {
    id: string;
    status: string;
    channel: string;
    attempts: Array<{ channel: string; order_id: string; failure: string | null }>;
    phone: string;
    failure_reason: string | null;
  };
}

const start = appStarter();

describe('wallet and phone recharge over HTTP', () => {
  it(
    'tops the wallet up through the gateway, recharges once, answers a replay from the first answer, ' +
      'and the ledger balances',
    async () => {
      const carriers = new SimulatedCarriers();
      const gateway = new SimulatedGateway();
      const app = await start(config(['sim-a']), {
        carriers,
        gateway,
        rechargeChannels: sims(carriers, { 'sim-a': quick }),
      });
      await topUp(app, 'alice', 10_000);
      expect(gateway.groundTruth.filter((e) => e.type === 'capture')).toHaveLength(1);
      expect(await balance(app, 'alice')).toBe(10_000);

      const res = await recharge(app, 'alice', { phone: '+86 138-0013-8000', amount: 5000 }, 'r-1');
      expect(res.statusCode, res.body).toBe(201);
      const body = res.json<RechargeBody>();
      expect(body.recharge.status).toBe('SUCCEEDED');
      expect(body.recharge.phone).not.toContain('00138000'); // masked in answers
      const again = await recharge(app, 'alice', { phone: '+86 138-0013-8000', amount: 5000 }, 'r-1');
      expect(again.statusCode).toBe(201);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.json<RechargeBody>().recharge.id).toBe(body.recharge.id);

      expect(carriers.groundTruth).toHaveLength(1);
      expect(carriers.balanceOf(PHONE)).toBe(5000);
      expect(await balance(app, 'alice')).toBe(5000);
      const got = await app.http.inject({
        method: 'GET',
        url: `/api/v1/recharges/${body.recharge.id}`,
        headers: { 'x-user-id': 'alice' },
      });
      expect(got.json<RechargeBody>().recharge.status).toBe('SUCCEEDED');

      const l = await ledger(app);
      expect(l.balanced).toBe(true);
      expect(accountBalance(l, 'wallet:alice')).toBe(-5000);
      expect(accountBalance(l, 'recharge_clearing:default')).toBe(0);
      expect(accountBalance(l, 'carrier:sim-a')).toBe(-5000);
      const trail = await auditOf(app, 'recharge', body.recharge.id);
      expect(trail.map((a) => a.action)).toEqual(['recharge.created', 'recharge.submitting', 'recharge.succeeded']);

      const channels = await app.http.inject({ method: 'GET', url: '/api/v1/channels' });
      const health = channels.json<{
        data: Array<{ channel: string; breaker: { state: string }; window: { successes: number } }>;
      }>().data;
      expect(health.map((h) => [h.channel, h.breaker.state, h.window.successes])).toEqual([['sim-a', 'closed', 1]]);
    },
  );

  it('never overdraws: 12 concurrent recharges of 30 yuan against 100 yuan, exactly 3 go through', async () => {
    const carriers = new SimulatedCarriers();
    const app = await start(config(['sim-a']), { carriers, rechargeChannels: sims(carriers, { 'sim-a': quick }) });
    await topUp(app, 'bob', 10_000);
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) => recharge(app, 'bob', { phone: PHONE, amount: 3000 }, `c-${i}`)),
    );
    const codes = answers.map((a) => a.statusCode).sort();
    expect(codes.filter((c) => c === 201)).toHaveLength(3);
    expect(codes.filter((c) => c === 402)).toHaveLength(9);
    expect(answers.find((a) => a.statusCode === 402)?.json<{ code: string }>().code).toBe('INSUFFICIENT_BALANCE');
    expect(await balance(app, 'bob')).toBe(1000);
    expect(carriers.balanceOf(PHONE)).toBe(9000);
    expect((await ledger(app)).balanced).toBe(true);
  });

  it(
    'fails over to another channel on a definite failure, ' + 'and gives the money back when every channel refused',
    async () => {
      const carriers = new SimulatedCarriers();
      const channels = sims(carriers, {
        'sim-bad': { chaos: { latencyMs: { min: 1, max: 2 }, failureRate: 1 } },
        'sim-good': quick,
      });
      const app = await start(config(['sim-bad', 'sim-good'], { max_attempts: 2 }), {
        carriers,
        rechargeChannels: channels,
      });
      await topUp(app, 'carol', 20_000);
      const res = await recharge(app, 'carol', { phone: PHONE, amount: 10_000 });
      expect(res.statusCode, res.body).toBe(201);
      const r = res.json<RechargeBody>().recharge;
      expect(r.attempts.map((a) => [a.channel, a.failure])).toEqual([
        ['sim-bad', 'CHANNEL_REJECTED'],
        ['sim-good', null],
      ]);
      expect(carriers.groundTruth).toEqual([
        expect.objectContaining({ channel: 'sim-good', orderId: r.attempts[1]?.order_id }),
      ]);

      // Both channels refuse now: the recharge fails and the reservation returns to the wallet.
      channels.get('sim-good')?.setProfile({ chaos: { failureRate: 1 } });
      const failed = await recharge(app, 'carol', { phone: PHONE, amount: 10_000 });
      expect(failed.statusCode, failed.body).toBe(422);
      expect(failed.json<{ code: string; recharge: { status: string } }>()).toMatchObject({
        code: 'RECHARGE_FAILED',
        recharge: { status: 'FAILED' },
      });
      expect(await balance(app, 'carol')).toBe(10_000);
      const l = await ledger(app);
      expect(l.balanced).toBe(true);
      expect(accountBalance(l, 'recharge_clearing:default')).toBe(0);
      expect(carriers.groundTruth).toHaveLength(1);
    },
  );

  it(
    'a submit whose answer is lost is UNKNOWN and is resolved by asking that channel, ' + 'never sent elsewhere',
    async () => {
      const carriers = new SimulatedCarriers();
      const channels = sims(carriers, {
        'sim-lossy': { chaos: { latencyMs: { min: 1, max: 2 }, timeoutRate: 1 } },
        'sim-good': quick,
      });
      const app = await start(config(['sim-lossy', 'sim-good']), { carriers, rechargeChannels: channels });
      await topUp(app, 'dan', 10_000);
      const res = await recharge(app, 'dan', { phone: PHONE, amount: 5000 });
      expect(res.statusCode, res.body).toBe(201);
      const r = res.json<RechargeBody>().recharge;
      expect(r.attempts.map((a) => a.channel)).toEqual(['sim-lossy']);
      expect(channels.get('sim-lossy')?.calls.query).toBeGreaterThanOrEqual(1);
      expect(channels.get('sim-good')?.calls.submit).toBe(0);
      expect(carriers.groundTruth).toHaveLength(1);
      const trail = await auditOf(app, 'recharge', r.id);
      expect(trail.map((a) => a.action)).toContain('recharge.unknown');
    },
  );

  it(
    'builds the channels named in the configuration, the Juhe aggregator among them, ' + 'and shows their health',
    async () => {
      const app = await start({
        recharge: {
          channels: {
            juhe: {
              type: 'juhe',
              operators: ['CHINA_UNICOM'],
              api_key: 'k',
              openid_secret: 'o',
              base_url: 'http://127.0.0.1:9/ofpay/mobile/',
            },
            'sim-x': { type: 'simulator', operators: ['CHINA_MOBILE'] },
          },
        },
      });
      const res = await app.http.inject({ method: 'GET', url: '/api/v1/channels' });
      const data = res.json<{
        data: Array<{ channel: string; operators: string[]; breaker: { state: string }; window: { samples: number } }>;
      }>().data;
      expect(data.map((c) => [c.channel, c.operators, c.breaker.state, c.window.samples])).toEqual([
        ['juhe', ['CHINA_UNICOM'], 'closed', 0],
        ['sim-x', ['CHINA_MOBILE'], 'closed', 0],
      ]);
      // No channel serves Telecom: the recharge fails at once and the money goes back.
      await topUp(app, 'gus', 1000);
      const r = await recharge(app, 'gus', { phone: '18912345678', amount: 1000 });
      expect([r.statusCode, r.json<{ recharge: { failure_reason: string } }>().recharge.failure_reason]).toEqual([
        422,
        'NO_CHANNEL_AVAILABLE',
      ]);
      expect(await balance(app, 'gus')).toBe(1000);
    },
  );

  it('refuses bad input with stable codes and reserves nothing', async () => {
    const carriers = new SimulatedCarriers();
    const app = await start(config(['sim-a']), { carriers, rechargeChannels: sims(carriers, { 'sim-a': quick }) });
    await topUp(app, 'erin', 5000);
    const cases: Array<[Record<string, unknown>, number, string]> = [
      [{ phone: '12345678901', amount: 1000 }, 400, 'PHONE_UNKNOWN_SEGMENT'],
      [{ phone: '1380013800', amount: 1000 }, 400, 'PHONE_INVALID_LENGTH'],
      [{ phone: 'abc', amount: 1000 }, 400, 'PHONE_INVALID_FORMAT'],
      [{ phone: PHONE, amount: 1234 }, 400, 'FACE_VALUE_NOT_OFFERED'],
      [{ phone: PHONE, amount: 10.5 }, 400, 'INVALID_AMOUNT'],
      [{ phone: PHONE }, 400, 'VALIDATION_FAILED'],
      [{ phone: PHONE, amount: 10_000 }, 402, 'INSUFFICIENT_BALANCE'],
    ];
    for (const [body, status, code] of cases) {
      const res = await recharge(app, 'erin', body);
      expect([res.statusCode, res.json<{ code: string }>().code], JSON.stringify(body)).toEqual([status, code]);
    }
    const top = await app.http.inject({
      method: 'POST',
      url: '/api/v1/wallet/top-ups',
      headers: json('erin'),
      payload: { amount: -5 },
    });
    expect(top.json<{ code: string }>().code).toBe('INVALID_AMOUNT');
    const missing = await app.http.inject({
      method: 'GET',
      url: '/api/v1/recharges/rch_nope',
      headers: { 'x-user-id': 'erin' },
    });
    expect([missing.statusCode, missing.json<{ code: string }>().code]).toEqual([404, 'RECHARGE_NOT_FOUND']);
    expect(await balance(app, 'erin')).toBe(5000);
    expect(carriers.groundTruth).toHaveLength(0);
  });
});

/** A channel whose submits reach the carrier and then never answer: the process dies waiting. */
class HangingAfterSubmit implements RechargeChannel {
  readonly name: string;
  submitted = 0;
  constructor(private readonly inner: SimulatedRechargeChannel) {
    this.name = inner.name;
  }
  async submit(req: RechargeSubmitRequest): Promise<RechargeChannelResult> {
    await this.inner.submit(req);
    this.submitted += 1;
    return new Promise<RechargeChannelResult>(() => undefined);
  }
  query = (...a: Parameters<RechargeChannel['query']>) => this.inner.query(...a);
  check = (...a: Parameters<RechargeChannel['check']>) => this.inner.check(...a);
  balance = () => this.inner.balance();
  parseCallback = (...a: Parameters<RechargeChannel['parseCallback']>) => this.inner.parseCallback(...a);
}

describe('recharge crash and resume', () => {
  it(
    'dies after the channel topped the phone up but before it answered: ' +
      'the new process asks and never recharges twice',
    async () => {
      const db = tempDbPath();
      const carriers = new SimulatedCarriers();
      const gateway = new SimulatedGateway();
      const merchant = new SimulatedMerchant();
      const channels = sims(carriers, { 'sim-a': quick, 'sim-b': quick });
      const hanging = new HangingAfterSubmit(channels.get('sim-a') as SimulatedRechargeChannel);
      const cfg = config(['sim-a', 'sim-b'], {});
      const first = await start(
        { ...cfg, server: { port: 0, wait_for_completion_ms: 300 } },
        {
          carriers,
          gateway,
          merchant,
          workerId: 'w1',
          rechargeChannels: new Map([
            ['sim-a', hanging],
            ['sim-b', channels.get('sim-b') as RechargeChannel],
          ]),
        },
        db,
      );
      await topUp(first, 'fay', 10_000);
      const res = await recharge(first, 'fay', { phone: PHONE, amount: 5000 }, 'k-crash');
      expect(res.statusCode, res.body).toBe(202);
      const id = res.json<RechargeBody>().recharge.id;
      expect(res.json<RechargeBody>().recharge.status).toBe('SUBMITTING');
      expect(carriers.groundTruth).toHaveLength(1); // the phone got the money; we never heard
      // The crash: no clean-up, the job's lease stays behind.
      void first.runner.stop(0);
      await first.http.close();
      await first.storage.close();

      const second = await start(cfg, { carriers, gateway, merchant, workerId: 'w2', rechargeChannels: channels }, db);
      second.start();
      let status = '';
      for (let i = 0; i < 200 && status !== 'SUCCEEDED'; i++) {
        const r = await second.services.recharge.get(ADMIN, id);
        status = r.ok ? r.value.status : '';
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      expect(status).toBe('SUCCEEDED');
      expect(carriers.groundTruth).toHaveLength(1);
      expect(channels.get('sim-a')?.calls.query).toBeGreaterThanOrEqual(1);
      expect(channels.get('sim-b')?.calls.submit).toBe(0);
      // The retried request answers from the recovery point: the same recharge, now done.
      const replay = await recharge(second, 'fay', { phone: PHONE, amount: 5000 }, 'k-crash');
      expect(replay.json<RechargeBody>().recharge.id).toBe(id);
      const l = await ledger(second);
      expect(l.balanced).toBe(true);
      expect(accountBalance(l, 'carrier:sim-a')).toBe(-5000);
      expect(await balance(second, 'fay')).toBe(5000);
    },
  );
});

describe('batch recharge', () => {
  it(
    'checks rows up front with line numbers, runs the good ones through the worker, ' +
      'each phone recharged once, ledger balanced',
    async () => {
      const carriers = new SimulatedCarriers();
      const channels = sims(carriers, {
        'sim-a': { chaos: { latencyMs: { min: 1, max: 3 }, failureRate: 0.2 } },
        'sim-b': quick,
      });
      const app = await start(
        {
          ...config(['sim-a', 'sim-b']),
          worker: { poll_interval_ms: 20, retry_base_ms: 10, retry_max_ms: 50, concurrency: 4 },
        },
        { carriers, rechargeChannels: channels },
      );
      app.start();
      await topUp(app, 'hal', 50_000);
      const phones = Array.from({ length: 40 }, (_, i) => `1380000${String(i).padStart(4, '0')}`);
      const csv = [
        'phone,amount',
        ...phones.map((p) => `${p},1000`),
        '12345678901,1000',
        '13800001111,1234',
        'not,a,row',
      ].join('\n');
      const res = await app.http.inject({
        method: 'POST',
        url: '/api/v1/recharges/batch',
        headers: { 'content-type': 'text/csv', 'x-user-id': 'hal', 'idempotency-key': 'b-1' },
        payload: csv,
      });
      expect(res.statusCode, res.body).toBe(202);
      const batch = res.json<{
        batch: { id: string; rows: number; valid: number; rejected: Array<{ line: number; code: string }> };
      }>().batch;
      expect(batch.rows).toBe(43);
      expect(batch.valid).toBe(40);
      expect(batch.rejected.map((r) => [r.line, r.code])).toEqual([
        [42, 'PHONE_UNKNOWN_SEGMENT'],
        [43, 'FACE_VALUE_NOT_OFFERED'],
        [44, 'VALIDATION_FAILED'],
      ]);
      let view = { done: false, counts: {} as Record<string, number> };
      for (let i = 0; i < 200 && !view.done; i++) {
        await new Promise((r) => setTimeout(r, 50));
        view = (
          await app.http.inject({ method: 'GET', url: `/api/v1/batches/${batch.id}`, headers: { 'x-user-id': 'hal' } })
        ).json<{ batch: typeof view }>().batch;
      }
      expect(view.done).toBe(true);
      expect((view.counts.SUCCEEDED ?? 0) + (view.counts.FAILED ?? 0)).toBe(40);
      const byPhone = new Map<string, number>();
      for (const t of carriers.groundTruth) byPhone.set(t.phone, (byPhone.get(t.phone) ?? 0) + 1);
      expect([...byPhone.values()].every((n) => n === 1)).toBe(true);
      expect(carriers.groundTruth).toHaveLength(view.counts.SUCCEEDED ?? 0);
      expect(await balance(app, 'hal')).toBe(50_000 - 1000 * (view.counts.SUCCEEDED ?? 0));
      const l = await ledger(app);
      expect(l.balanced).toBe(true);
      expect(accountBalance(l, 'recharge_clearing:default')).toBe(0);
      // The same key answers with the same batch, creating nothing more.
      const again = await app.http.inject({
        method: 'POST',
        url: '/api/v1/recharges/batch',
        headers: { 'content-type': 'text/csv', 'x-user-id': 'hal', 'idempotency-key': 'b-1' },
        payload: csv,
      });
      expect(again.json<{ batch: { id: string } }>().batch.id).toBe(batch.id);
      expect(carriers.groundTruth).toHaveLength(view.counts.SUCCEEDED ?? 0);
    },
  );
});

describe('batch recharge across a crash', () => {
  it('killed halfway through a batch: the restarted process finishes every row, no phone recharged twice', async () => {
    const db = tempDbPath();
    const carriers = new SimulatedCarriers();
    const gateway = new SimulatedGateway();
    const merchant = new SimulatedMerchant();
    const channels = sims(carriers, {
      'sim-a': { chaos: { latencyMs: { min: 20, max: 40 }, failureRate: 0.1 } },
      'sim-b': { chaos: { latencyMs: { min: 20, max: 40 } } },
    });
    const cfg = {
      ...config(['sim-a', 'sim-b']),
      worker: { poll_interval_ms: 20, lease_ms: 300, retry_base_ms: 10, retry_max_ms: 50, concurrency: 3 },
    };
    const first = await start(cfg, { carriers, gateway, merchant, workerId: 'w1', rechargeChannels: channels }, db);
    first.start();
    await topUp(first, 'ivy', 50_000);
    const phones = Array.from({ length: 30 }, (_, i) => `1390000${String(i).padStart(4, '0')}`);
    const lines = phones.map((p) => JSON.stringify({ phone: p, amount: 1000 })).join('\n');
    const res = await first.http.inject({
      method: 'POST',
      url: '/api/v1/recharges/batch',
      headers: { 'content-type': 'application/x-ndjson', 'x-user-id': 'ivy' },
      payload: lines,
    });
    expect(res.statusCode, res.body).toBe(202);
    const id = res.json<{ batch: { id: string } }>().batch.id;
    for (let i = 0; i < 200 && carriers.groundTruth.length < 5; i++) await new Promise((r) => setTimeout(r, 10));
    void first.runner.stop(0);
    await first.http.close();
    await first.storage.close();
    const atCrash = carriers.groundTruth.length;
    expect(atCrash).toBeLessThan(30); // there is work left to resume

    const second = await start(cfg, { carriers, gateway, merchant, workerId: 'w2', rechargeChannels: channels }, db);
    second.start();
    let view = { done: false, finished: 0, counts: {} as Record<string, number> };
    for (let i = 0; i < 300 && !view.done; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const r = await second.services.batch.get(ADMIN, id);
      if (r.ok) view = r.value;
    }
    expect(view.done).toBe(true);
    expect(view.finished).toBe(30);
    const perPhone = new Map<string, number>();
    for (const t of carriers.groundTruth) perPhone.set(t.phone, (perPhone.get(t.phone) ?? 0) + 1);
    expect([...perPhone.values()].filter((n) => n > 1)).toEqual([]);
    expect(carriers.groundTruth).toHaveLength(view.counts.SUCCEEDED ?? 0);
    const l = await ledger(second);
    expect(l.balanced).toBe(true);
    expect(accountBalance(l, 'recharge_clearing:default')).toBe(0);
    expect(await balance(second, 'ivy')).toBe(50_000 - 1000 * (view.counts.SUCCEEDED ?? 0));
  });
});

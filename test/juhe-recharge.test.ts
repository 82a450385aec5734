import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { JuheRechargeChannel } from '../src/adapters/recharge/juhe/juhe-channel.js';
import { ChannelRouter, DEFAULT_ROUTER_SETTINGS } from '../src/application/recharge/recharge-api.js';
import { dispatchRecharge } from '../src/application/recharge/recharge-api.js';
import type { OperatorId } from '../src/domain/recharge/number-segments.js';
import { DEFAULT_OPERATOR_SETTINGS, type OperatorSettings } from '../src/domain/recharge/operator-settings.js';
import type { RechargeState } from '../src/domain/recharge/recharge.js';
import { type RechargeCallback, RechargeUnknownOutcomeError } from '../src/ports/recharge-channel.js';
import { JuheSimulator, type JuheSimulatorOptions } from '../src/simulator/juhe-simulator.js';
import { seededRandom } from '../src/simulator/random.js';
import { SimulatedCarriers } from '../src/simulator/simulated-carriers.js';

const KEY = 'test-app-key-0123456789abcdef';
const OPENID = 'JHtestopenid0123456789';
const SETTINGS: Record<OperatorId, OperatorSettings> = {
  ...DEFAULT_OPERATOR_SETTINGS,
  CHINA_MOBILE: { timeoutMs: 400, retries: 2, encoding: 'utf-8' },
  CHINA_UNICOM: { timeoutMs: 400, retries: 3, encoding: 'gbk' },
};
const cny = (yuan: number) => ({ amount: yuan * 100, currency: 'CNY' as const });
const clock = { now: () => Date.now() };

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function world(options: Partial<JuheSimulatorOptions> = {}, adapter: { timeoutMs?: number } = {}) {
  const carriers = new SimulatedCarriers();
  const sim = new JuheSimulator({ appKey: KEY, openId: OPENID, carriers, ...options });
  const baseUrl = await sim.start();
  const settings =
    adapter.timeoutMs === undefined
      ? SETTINGS
      : Object.fromEntries(Object.entries(SETTINGS).map(([k, v]) => [k, { ...v, timeoutMs: adapter.timeoutMs }]));
  const juhe = new JuheRechargeChannel({
    name: 'juhe',
    baseUrl,
    apiKey: KEY,
    openId: OPENID,
    operatorSettings: settings as Record<OperatorId, OperatorSettings>,
    clock,
  });
  cleanup.push(
    () => sim.stop(),
    () => juhe.close(),
  );
  return { carriers, sim, juhe, baseUrl };
}

/** A tiny HTTP receiver for callbacks that verifies them with the adapter, as the API will. */
async function callbackReceiver(
  verify: (params: Record<string, string>) => ReturnType<JuheRechargeChannel['parseCallback']>,
) {
  const received: RechargeCallback[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const r = verify(Object.fromEntries(new URLSearchParams(body)));
      if (!r.ok) {
        res.writeHead(401).end(r.error.code);
        return;
      }
      received.push(r.value);
      res.writeHead(r.value.reply.status, { 'content-type': r.value.reply.contentType }).end(r.value.reply.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/callbacks/juhe`, received };
}

async function until<T>(f: () => Promise<T>, done: (t: T) => boolean): Promise<T> {
  for (let i = 0; i < 100; i += 1) {
    const v = await f();
    if (done(v)) return v;
    await new Promise((r) => setTimeout(r, 30));
  }
  throw new Error('condition not reached');
}

describe('Juhe adapter against the Juhe simulator over real HTTP', () => {
  it(
    'submits a signed order (game_state 0), and query sees it succeed; ' + 'the carrier credits the phone once',
    async () => {
      const { juhe, carriers } = await world({ processingMs: { min: 50, max: 50 } });
      const sub = await juhe.submit({
        orderId: 'rchTESTA1',
        phone: '13800138000',
        amount: cny(100),
        operator: 'CHINA_MOBILE',
      });
      expect(sub).toMatchObject({ status: 'processing', orderId: 'rchTESTA1', cost: cny(100) });
      expect(sub.channelOrderId).toMatch(/^J\d+$/);
      const done = await until(
        () => juhe.query({ orderId: 'rchTESTA1', operator: 'CHINA_MOBILE' }),
        (r) => r.status !== 'processing',
      );
      expect(done).toMatchObject({ status: 'succeeded', channelOrderId: sub.channelOrderId });
      expect(carriers.groundTruth).toEqual([
        expect.objectContaining({ orderId: 'rchTESTA1', phone: '13800138000', amount: cny(100), channel: 'juhe' }),
      ]);
    },
  );

  it('the same order id twice tops up once: the duplicate refusal is checked against ordersta', async () => {
    const { juhe, carriers, sim } = await world();
    const req = { orderId: 'rchDUPA1', phone: '13800138000', amount: cny(50), operator: 'CHINA_MOBILE' as const };
    await juhe.submit(req);
    const again = await juhe.submit(req);
    expect(again.status).toBe('succeeded');
    expect(sim.calls.onlineorder).toBe(2);
    expect(carriers.groundTruth).toHaveLength(1);
  });

  it(
    'a refused order ends failed (game_state 9), ' + 'a refused request fails with the reason decoded from GBK',
    async () => {
      const { juhe } = await world({ chaos: { failureRate: 1 } });
      await juhe.submit({ orderId: 'rchREFA1', phone: '13800138000', amount: cny(100), operator: 'CHINA_MOBILE' });
      const q = await juhe.query({ orderId: 'rchREFA1', operator: 'CHINA_MOBILE' });
      expect(q).toMatchObject({ status: 'failed', failureCode: 'JUHE_GAME_STATE_9', final: false });
      // 15 yuan is not a face value the aggregator sells: a definite refusal, with Unicom's GBK reason.
      const r = await juhe.submit({
        orderId: 'rchFACEA1',
        phone: '18600001111',
        amount: cny(15),
        operator: 'CHINA_UNICOM',
      });
      expect(r).toMatchObject({ status: 'failed', failureCode: 'JUHE_208502', failureMessage: '暂不支持该面值' });
    },
  );

  it.each([true, false])('decodes GBK answers (charset declared: %s) for Unicom numbers', async (declareCharset) => {
    const { juhe } = await world({ declareCharset });
    const r = await juhe.check({ phone: '18600001111', amount: cny(15), operator: 'CHINA_UNICOM' });
    expect(r).toEqual({ rechargeable: false, code: 'JUHE_208502', message: '暂不支持该面值' });
    expect(await juhe.check({ phone: '18600001111', amount: cny(100), operator: 'CHINA_UNICOM' })).toEqual({
      rechargeable: true,
    });
  });

  it('balance (yue, signed with a timestamp) in fen', async () => {
    const { juhe } = await world({ balanceFen: 123_456 });
    expect(await juhe.balance()).toEqual({ amount: 123_456, currency: 'CNY' });
  });

  it('a wrong key is a definite refusal', async () => {
    const { baseUrl } = await world();
    const other = new JuheRechargeChannel({
      name: 'j2',
      baseUrl,
      apiKey: 'wrong',
      openId: OPENID,
      operatorSettings: SETTINGS,
      clock,
    });
    cleanup.push(() => other.close());
    const r = await other.submit({
      orderId: 'rchKEYA1',
      phone: '13800138000',
      amount: cny(10),
      operator: 'CHINA_MOBILE',
    });
    expect(r).toMatchObject({ status: 'failed', failureCode: 'JUHE_10001' });
  });

  it('timeout → unknown outcome → query resolves it (the order was taken)', async () => {
    const { juhe, carriers } = await world({ chaos: { timeoutRate: 1, hangMs: 1500 } });
    const req = { orderId: 'rchHANGA1', phone: '13800138000', amount: cny(30), operator: 'CHINA_MOBILE' as const };
    const started = Date.now();
    await expect(juhe.submit(req)).rejects.toBeInstanceOf(RechargeUnknownOutcomeError);
    expect(Date.now() - started).toBeLessThan(1200); // the operator's 400 ms timeout, not the 1.5 s hang
    expect(await juhe.query(req)).toMatchObject({ status: 'succeeded' });
    expect(carriers.groundTruth).toHaveLength(1);
  });

  it('a 503 is an unknown outcome; query says the order never arrived', async () => {
    const { juhe } = await world({ chaos: { errorRate: 1 } });
    const req = { orderId: 'rch503A1', phone: '13800138000', amount: cny(30), operator: 'CHINA_MOBILE' as const };
    await expect(juhe.submit(req)).rejects.toBeInstanceOf(RechargeUnknownOutcomeError);
    expect(await juhe.query(req)).toEqual({ status: 'not_found', orderId: 'rch503A1' });
  });

  it('dispatch over Juhe: a lost answer is resolved by query on Juhe, under the same order id', async () => {
    const { juhe, carriers, sim } = await world({ chaos: { timeoutRate: 1, hangMs: 1000 } });
    const router = new ChannelRouter(
      [{ name: 'juhe', operators: ['CHINA_MOBILE'], capacity: 10 }],
      DEFAULT_ROUTER_SETTINGS,
      { clock, random: seededRandom(1) },
    );
    const seen: string[] = [];
    const out = await dispatchRecharge(
      {
        router,
        channels: new Map([['juhe', juhe]]),
        clock,
        sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
        operatorSettings: SETTINGS,
        pollIntervalMs: 50,
        processingDeadlineMs: 5000,
        onTransition: (s: RechargeState) => void seen.push(s.status),
      },
      { id: 'rch_JUHEDISPATCH1', phone: '13800138000', amount: cny(100), operator: 'CHINA_MOBILE', maxAttempts: 3 },
    );
    expect(out.state.status).toBe('SUCCEEDED');
    expect(seen).toEqual(['SUBMITTING', 'UNKNOWN', 'SUCCEEDED']);
    expect(sim.calls.onlineorder).toBe(1);
    expect(carriers.groundTruth).toHaveLength(1);
  });

  it('sends signed callbacks the adapter verifies; forged or tampered ones are refused', async () => {
    // Verifying a callback needs only the key: the receiver has its own adapter instance.
    const verifier = new JuheRechargeChannel({
      name: 'v',
      baseUrl: 'http://127.0.0.1:9/',
      apiKey: KEY,
      openId: OPENID,
      operatorSettings: SETTINGS,
      clock,
    });
    const receiver = await callbackReceiver((p) => verifier.parseCallback({ params: p }));
    const w = await world({ callbackUrl: receiver.url, processingMs: { min: 20, max: 20 } });
    const { juhe } = w;
    await juhe.submit({ orderId: 'rchCALLBACKA1', phone: '13800138000', amount: cny(20), operator: 'CHINA_MOBILE' });
    await w.sim.idle();
    expect(receiver.received).toEqual([
      expect.objectContaining({
        orderId: 'rchCALLBACKA1',
        status: 'succeeded',
        channelOrderId: expect.stringMatching(/^J/) as unknown,
      }),
    ]);
    expect(w.sim.callbacks.at(-1)?.reply).toBe('success');

    const genuine = w.sim.callbacks[0]!.params;
    expect(juhe.parseCallback({ params: genuine }).ok).toBe(true);
    const refused = (params: Record<string, string>) => {
      const r = juhe.parseCallback({ params });
      return r.ok ? 'accepted' : r.error.code;
    };
    expect(refused({ ...genuine, sign: '0'.repeat(32) })).toBe('CALLBACK_SIGNATURE_INVALID');
    expect(refused({ ...genuine, orderid: 'rchOTHERA1' })).toBe('CALLBACK_SIGNATURE_INVALID');
    expect(refused({ ...genuine, sign: genuine.sign!.toUpperCase() })).toBe('accepted');
    expect(refused({ ...genuine, sign: 'not-hex' })).toBe('CALLBACK_SIGNATURE_INVALID');
    expect(refused({ ...genuine, sta: '5' })).toBe('CALLBACK_INVALID');
    const { sign: _omit, ...unsigned } = genuine;
    expect(refused(unsigned)).toBe('CALLBACK_INVALID');
  });

  it('keeps connections alive across calls', async () => {
    const { juhe, sim } = await world();
    let connections = 0;
    // Count TCP connections the simulator accepts from here on.
    (sim as unknown as { server: http.Server }).server.on('connection', () => (connections += 1));
    for (let i = 0; i < 5; i += 1)
      await juhe.check({ phone: '13800138000', amount: cny(100), operator: 'CHINA_MOBILE' });
    expect(connections).toBe(1);
  });
});

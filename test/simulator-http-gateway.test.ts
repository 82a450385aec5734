import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SimulatorHttpGateway } from '../src/adapters/gateways/simulator-http/simulator-http-gateway.js';
import { GatewayRateLimitedError, GatewayUnknownOutcomeError } from '../src/ports/payment-gateway.js';
import { gatewayContract } from './contracts/payment-gateway-contract.js';
import { type RunningSimulator, startTestSimulator, TEST_SECRET } from './support/simulator-server.js';

const gatewayFor = (sim: RunningSimulator, timeoutMs = 2000): SimulatorHttpGateway =>
  new SimulatorHttpGateway({ name: 'sim-http', baseUrl: sim.url, secret: TEST_SECRET, timeoutMs });

async function contractSubject(method: string) {
  const sim = await startTestSimulator({ bank: { payerActionMethods: ['sim_qr'] } });
  const gateway = gatewayFor(sim);
  return {
    gateway,
    bank: sim.bank,
    method,
    notificationFor: (e: Parameters<typeof sim.bank.notificationFor>[0]) =>
      sim.bank.notificationFor(e, Math.floor(Date.now() / 1000)),
    close: async () => {
      await gateway.shutdown();
      await sim.close();
    },
  };
}

// The native JSON face over real HTTP: charging at once, and waiting for the payer (QR).
gatewayContract('simulator-http (native JSON over HTTP), wallet', () => contractSubject('wallet'));
gatewayContract('simulator-http (native JSON over HTTP), QR paid by the simulated payer', () =>
  contractSubject('sim_qr'),
);

const pay = (outTradeNo: string, amount = 1000) => ({
  outTradeNo,
  amount: { amount, currency: 'CNY' as const },
  subject: 'latte',
  method: 'wallet',
  payer: 'p1',
});
const captures = (sim: RunningSimulator, outTradeNo: string): number =>
  sim.bank.groundTruth.filter((e) => e.type === 'capture' && e.outTradeNo === outTradeNo).length;

describe('simulator-http under HTTP chaos', () => {
  let sim: RunningSimulator;
  // A fresh client per test: a client remembers the rate budget the server announced.
  let gw: SimulatorHttpGateway;
  beforeAll(async () => {
    sim = await startTestSimulator();
  });
  beforeEach(async () => {
    gw = gatewayFor(sim, 300);
    await sim.chaos({});
  });
  afterEach(async () => {
    await gw.shutdown();
  });
  afterAll(async () => {
    await sim.close();
  });

  it('a 5xx is an unknown outcome, and nothing was charged', async () => {
    await sim.chaos({ error_rate: 1 });
    await expect(gw.create(pay('c5xx'))).rejects.toBeInstanceOf(GatewayUnknownOutcomeError);
    await sim.chaos({});
    expect(captures(sim, 'c5xx')).toBe(0);
    expect((await gw.query('c5xx')).status).toBe('not_found');
  });

  it(
    'a 429 is GatewayRateLimitedError with Retry-After in ms (seconds and HTTP-date forms), ' + 'nothing done',
    async () => {
      await sim.chaos({ rate_limit_rate: 1, retry_after_s: 7 });
      const e = await gw.create(pay('c429')).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(GatewayRateLimitedError);
      expect((e as GatewayRateLimitedError).retryAfterMs).toBe(7000);
      await sim.chaos({ rate_limit_rate: 1, retry_after_s: 3, retry_after_format: 'http-date' });
      // The first 429 said X-RateLimit-Remaining: 0 for 7 s: this client now holds back by itself.
      const held = (await gw.create(pay('c429')).catch((x: unknown) => x)) as GatewayRateLimitedError;
      expect(held.retryAfterMs).toBeGreaterThan(5000);
      const other = gatewayFor(sim, 300);
      const d = (await other.create(pay('c429')).catch((x: unknown) => x)) as GatewayRateLimitedError;
      await other.shutdown();
      expect(d).toBeInstanceOf(GatewayRateLimitedError);
      expect(d.retryAfterMs).toBeGreaterThanOrEqual(2000);
      expect(d.retryAfterMs).toBeLessThanOrEqual(4000);
      await sim.chaos({});
      expect(captures(sim, 'c429')).toBe(0);
    },
  );

  it('honours X-RateLimit-Remaining: at zero the next call fails fast without being sent', async () => {
    await sim.chaos({ rate_limit: { limit: 2, window_ms: 60_000 } });
    await gw.query('rl-1');
    expect(gw.rateLimit.remaining).toBe(1);
    await gw.query('rl-2');
    expect(gw.rateLimit.remaining).toBe(0);
    const before = sim.server.stats().requests.total;
    const e = (await gw.create(pay('crl')).catch((x: unknown) => x)) as GatewayRateLimitedError;
    expect(e).toBeInstanceOf(GatewayRateLimitedError);
    expect(e.retryAfterMs).toBeGreaterThan(50_000);
    expect(sim.server.stats().requests.total).toBe(before); // never sent
    await sim.chaos({});
    expect(captures(sim, 'crl')).toBe(0);
  });

  it('accept-then-hang: the call times out (unknown), the charge happened, a later query finds it', async () => {
    await sim.chaos({ hang_rate: 1, hang_ms: 5000 });
    const started = Date.now();
    await expect(gw.create(pay('chang', 1234))).rejects.toBeInstanceOf(GatewayUnknownOutcomeError);
    expect(Date.now() - started).toBeLessThan(2000);
    await sim.chaos({});
    expect(captures(sim, 'chang')).toBe(1);
    expect(await gw.query('chang')).toMatchObject({ status: 'succeeded', amount: { amount: 1234, currency: 'CNY' } });
  });

  it('honours the latency distribution', async () => {
    await sim.chaos({ latency: { type: 'fixed', ms: 60 } });
    let t = Date.now();
    await gw.query('lat-1');
    expect(Date.now() - t).toBeGreaterThanOrEqual(55);
    await sim.chaos({ latency: { type: 'uniform', min_ms: 20, max_ms: 40 }, seed: 3 });
    for (let i = 0; i < 5; i++) {
      t = Date.now();
      await gw.query(`lat-u${i}`);
      const took = Date.now() - t;
      expect(took).toBeGreaterThanOrEqual(18);
      expect(took).toBeLessThan(200);
    }
    await sim.chaos({});
  });

  it('chaos is limited to the listed paths', async () => {
    await sim.chaos({ error_rate: 1, paths: ['/native/v1/refunds'] });
    expect((await gw.create(pay('cpath'))).status).toBe('succeeded');
    await expect(
      gw.refund({ outTradeNo: 'cpath', outRefundNo: 'cpath-r', amount: { amount: 10, currency: 'CNY' }, reason: 'x' }),
    ).rejects.toBeInstanceOf(GatewayUnknownOutcomeError);
    await sim.chaos({});
  });

  it('reuses kept-alive connections: 50 sequential calls, at most 2 sockets', async () => {
    // undici hands a connection back to its pool a tick after the answer ends, so the call right
    // after the first may open a second socket; from then on the two are reused, never more.
    const before = sim.server.stats().connections.total;
    for (let i = 0; i < 50; i++) await gw.query(`ka-${i}`);
    expect(sim.server.stats().connections.total - before).toBeLessThanOrEqual(2);
  });
});

describe('native protocol authentication', () => {
  let sim: RunningSimulator;
  beforeAll(async () => {
    sim = await startTestSimulator();
  });
  afterAll(async () => {
    await sim.close();
  });

  it('refuses a wrong secret (the adapter throws, nothing charged) and unsigned requests', async () => {
    const wrong = new SimulatorHttpGateway({ name: 'x', baseUrl: sim.url, secret: 'not-the-secret', timeoutMs: 2000 });
    // The answer is signed with the real secret, so the adapter cannot believe it either way.
    await expect(wrong.create(pay('auth-1'))).rejects.toThrow();
    await wrong.shutdown();
    expect(captures(sim, 'auth-1')).toBe(0);
    const res = await fetch(`${sim.url}/native/v1/payments/x`);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: 'AUTH_MISSING' });
  });

  it('refuses a replayed nonce and a stale timestamp', async () => {
    const fixedNonce = new SimulatorHttpGateway({
      name: 'x',
      baseUrl: sim.url,
      secret: TEST_SECRET,
      timeoutMs: 2000,
      nonce: () => 'samenonce123',
    });
    expect((await fixedNonce.query('n1')).status).toBe('not_found');
    await expect(fixedNonce.query('n1')).rejects.toThrow(/NONCE_REUSED/);
    await fixedNonce.shutdown();
    const stale = new SimulatorHttpGateway({
      name: 'x',
      baseUrl: sim.url,
      secret: TEST_SECRET,
      timeoutMs: 2000,
      now: () => Date.now() - 3_600_000,
    });
    await expect(stale.query('n2')).rejects.toThrow(/TIMESTAMP_OUT_OF_WINDOW/);
    await stale.shutdown();
  });
});

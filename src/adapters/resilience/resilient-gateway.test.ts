import { describe, expect, it } from 'vitest';
import {
  GatewayRateLimitedError,
  GatewayUnavailableError,
  GatewayUnknownOutcomeError,
  type PaymentGateway,
} from '../../ports/payment-gateway.js';
import { SimulatedGateway } from '../../simulator/simulated-gateway.js';
import { ResilientGateway } from './resilient-gateway.js';

const req = (n: string) => ({
  outTradeNo: n,
  amount: { amount: 100, currency: 'CNY' as const },
  subject: 's',
  method: 'wallet',
  payer: 'p',
});

/** A gateway whose next answers are scripted: 'ok', 'unknown' (5xx/timeout), 'limited' (429), 'hang'. */
function scripted(
  script: Array<'ok' | 'unknown' | 'limited' | 'hang'>,
  retryAfterMs = 30,
): PaymentGateway & { calls: string[] } {
  const bank = new SimulatedGateway();
  const calls: string[] = [];
  const step = async <T>(op: string, real: () => Promise<T>): Promise<T> => {
    calls.push(op);
    const next = script.shift() ?? 'ok';
    if (next === 'unknown') throw new GatewayUnknownOutcomeError('503');
    if (next === 'limited') throw new GatewayRateLimitedError('429', retryAfterMs);
    if (next === 'hang') await new Promise((r) => setTimeout(r, 1_000));
    return real();
  };
  return {
    name: 'scripted',
    methods: ['wallet'],
    calls,
    create: (r) => step('create', () => bank.create(r)),
    query: (n) => step('query', () => bank.query(n)),
    refund: (r) => step('refund', () => bank.refund(r)),
    queryRefund: (a, b) => step('queryRefund', () => bank.queryRefund(a, b)),
    close: (n) => step('close', () => bank.close(n)),
    verifyNotification: (i) => bank.verifyNotification(i),
    acknowledge: (a) => bank.acknowledge(a),
  };
}

const fast = { backoffInitialMs: 1, backoffMaxMs: 5, timeoutMs: 200 };

describe('ResilientGateway', () => {
  it('retries a query through transport failures (safe: it moves no money)', async () => {
    const inner = scripted(['unknown', 'unknown', 'ok']);
    const g = new ResilientGateway(inner, { ...fast, maxAttempts: 3 });
    expect((await g.query('x')).status).toBe('not_found');
    expect(inner.calls).toEqual(['query', 'query', 'query']);
  });

  it('never retries a create whose outcome is unknown: the caller must query', async () => {
    const inner = scripted(['unknown']);
    const g = new ResilientGateway(inner, { ...fast, maxAttempts: 5 });
    await expect(g.create(req('a'))).rejects.toBeInstanceOf(GatewayUnknownOutcomeError);
    expect(inner.calls).toEqual(['create']);
  });

  it('retries a create refused with 429 (nothing was done), waiting the Retry-After', async () => {
    const inner = scripted(['limited'], 60);
    const g = new ResilientGateway(inner, { ...fast, maxAttempts: 3 });
    const t0 = Date.now();
    expect((await g.create(req('b'))).status).toBe('succeeded');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(55);
    expect(inner.calls).toEqual(['create', 'create']);
  });

  it('turns a hung call into an unknown outcome at the timeout', async () => {
    const inner = scripted(['hang']);
    const g = new ResilientGateway(inner, { ...fast, timeoutMs: 50, maxAttempts: 1 });
    await expect(g.create(req('c'))).rejects.toBeInstanceOf(GatewayUnknownOutcomeError);
  });

  it(
    'opens the breaker at the configured failure ratio, fails fast while open, ' +
      'and closes after a good half-open probe',
    async () => {
      const script = Array.from({ length: 6 }, () => 'unknown' as const);
      const inner = scripted(script);
      const g = new ResilientGateway(inner, {
        ...fast,
        maxAttempts: 1,
        breakerThreshold: 0.5,
        breakerWindowMs: 1_000,
        breakerMinimumRps: 1,
        halfOpenAfterMs: 150,
      });
      for (let i = 0; i < 6 && g.health().breaker === 'closed'; i++) await g.query('x').catch(() => undefined);
      expect(g.health()).toMatchObject({ breaker: 'open', available: false });
      const sent = inner.calls.length;
      await expect(g.query('x')).rejects.toBeInstanceOf(GatewayUnavailableError);
      await expect(g.create(req('d'))).rejects.toBeInstanceOf(GatewayUnavailableError);
      expect(inner.calls.length).toBe(sent); // nothing reached the gateway while open
      await new Promise((r) => setTimeout(r, 200));
      expect(g.health().breaker).toBe('half-open');
      script.length = 0; // the gateway has recovered
      expect((await g.query('x')).status).toBe('not_found'); // the half-open probe succeeds
      expect(g.health()).toMatchObject({ breaker: 'closed', available: true });
    },
  );

  it('re-opens when the half-open probe fails', async () => {
    const inner = scripted(Array.from({ length: 20 }, () => 'unknown' as const));
    const g = new ResilientGateway(inner, {
      ...fast,
      maxAttempts: 1,
      breakerThreshold: 0.5,
      breakerWindowMs: 1_000,
      breakerMinimumRps: 1,
      halfOpenAfterMs: 100,
    });
    for (let i = 0; i < 6 && g.health().breaker === 'closed'; i++) await g.query('x').catch(() => undefined);
    expect(g.health().breaker).toBe('open');
    await new Promise((r) => setTimeout(r, 130));
    await expect(g.query('x')).rejects.toBeInstanceOf(GatewayUnknownOutcomeError);
    expect(g.health().breaker).toBe('open');
  });

  it('does not count a definite decline as a failure', async () => {
    const bank = new SimulatedGateway({ chaos: { failureRate: 1 } });
    const g = new ResilientGateway(bank, {
      ...fast,
      maxAttempts: 1,
      breakerThreshold: 0.5,
      breakerWindowMs: 1_000,
      breakerMinimumRps: 1,
    });
    for (let i = 0; i < 10; i++) expect((await g.create(req(`dec${i}`))).status).toBe('failed');
    expect(g.health().breaker).toBe('closed');
  });
});

import { describe, expect, it } from 'vitest';
import { seededRandom } from '../random.js';
import { HttpChaos, httpChaosSchema, type LatencyDistribution, sampleLatency } from './http-chaos.js';

const samples = (d: LatencyDistribution, n = 4000): number[] => {
  const r = seededRandom(5);
  return Array.from({ length: n }, () => sampleLatency(d, r)).sort((a, b) => a - b);
};
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const quantile = (xs: number[], q: number): number => xs[Math.floor(q * (xs.length - 1))] ?? NaN;

describe('latency distributions', () => {
  it('fixed and none are exact', () => {
    expect(samples({ type: 'fixed', ms: 12 }, 10)).toEqual(Array(10).fill(12));
    expect(samples({ type: 'none' }, 3)).toEqual([0, 0, 0]);
  });
  it('uniform stays in its bounds and fills them', () => {
    const xs = samples({ type: 'uniform', min_ms: 10, max_ms: 30 });
    expect(xs[0]).toBeGreaterThanOrEqual(10);
    expect(xs.at(-1)).toBeLessThanOrEqual(30);
    expect(mean(xs)).toBeCloseTo(20, 0);
  });
  it('normal has the asked mean and spread, never negative', () => {
    const xs = samples({ type: 'normal', mean_ms: 50, stddev_ms: 10 });
    expect(mean(xs)).toBeGreaterThan(49);
    expect(mean(xs)).toBeLessThan(51);
    expect(quantile(xs, 0.8413) - quantile(xs, 0.5)).toBeGreaterThan(9);
    expect(quantile(xs, 0.8413) - quantile(xs, 0.5)).toBeLessThan(11);
    expect(samples({ type: 'normal', mean_ms: 1, stddev_ms: 50 })[0]).toBe(0);
  });
  it('lognormal has the asked median and a long tail', () => {
    const xs = samples({ type: 'lognormal', median_ms: 20, sigma: 1 });
    expect(quantile(xs, 0.5)).toBeGreaterThan(18);
    expect(quantile(xs, 0.5)).toBeLessThan(22);
    // p99 of a lognormal with sigma 1 is median · e^2.326 ≈ 10× the median
    expect(quantile(xs, 0.99)).toBeGreaterThan(150);
  });
});

describe('HttpChaos', () => {
  const chaos = (doc: unknown, now = () => 1_000_000): HttpChaos => {
    const c = new HttpChaos(1, now);
    c.set(httpChaosSchema.parse(doc));
    return c;
  };

  it('draws errors, 429s and hangs at their rates, the same way for the same seed', () => {
    const doc = { seed: 11, error_rate: 0.2, rate_limit_rate: 0.1, hang_rate: 0.05 };
    const kinds = (c: HttpChaos) =>
      Array.from({ length: 5000 }, () => {
        const v = c.decide();
        return v.kind === 'pass' && v.hangMs > 0 ? 'hang' : v.kind;
      });
    const a = kinds(chaos(doc));
    expect(kinds(chaos(doc))).toEqual(a);
    const share = (k: string) => a.filter((x) => x === k).length / a.length;
    expect(share('error')).toBeCloseTo(0.2, 1);
    expect(share('rate_limited')).toBeCloseTo(0.1, 1);
    expect(share('hang')).toBeCloseTo(0.05, 1);
  });

  it('a fixed window announces the budget, then 429s until the window turns', () => {
    let now = 1_000_000;
    const c = chaos({ rate_limit: { limit: 2, window_ms: 10_000 } }, () => now);
    const first = c.decide();
    expect(first.kind === 'pass' && first.rateHeaders).toEqual({
      'x-ratelimit-limit': '2',
      'x-ratelimit-remaining': '1',
      'x-ratelimit-reset': '10',
    });
    c.decide();
    now += 4000;
    const limited = c.decide();
    expect(limited.kind).toBe('rate_limited');
    expect(limited.kind === 'rate_limited' && limited.headers).toMatchObject({
      'retry-after': '6',
      'x-ratelimit-remaining': '0',
    });
    now += 6000;
    expect(c.decide().kind).toBe('pass');
  });

  it('Retry-After as an HTTP date never sends the client back early', () => {
    const now = Date.parse('2026-11-24T08:00:00.400Z');
    const v = chaos({ rate_limit_rate: 1, retry_after_s: 5, retry_after_format: 'http-date' }, () => now).decide();
    const at = v.kind === 'rate_limited' ? Date.parse(v.headers['retry-after'] ?? '') : NaN;
    expect(at - now).toBeGreaterThanOrEqual(5000);
    expect(at - now).toBeLessThanOrEqual(6000);
  });

  it('applies to the listed path prefixes only', () => {
    const c = chaos({ paths: ['/native/v1/payments'] });
    expect(c.applies('/native/v1/payments/x')).toBe(true);
    expect(c.applies('/native/v1/refunds')).toBe(false);
    expect(chaos({}).applies('/anything')).toBe(true);
  });

  it('refuses nonsense with the path of each problem', () => {
    const r = httpChaosSchema.safeParse({
      error_rate: 1.5,
      latency: { type: 'uniform', min_ms: 9, max_ms: 1 },
      bogus: 1,
    });
    expect(r.success).toBe(false);
    const paths = r.success ? [] : r.error.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['error_rate', 'latency']));
  });
});

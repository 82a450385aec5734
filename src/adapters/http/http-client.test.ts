import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayRateLimitedError, GatewayUnknownOutcomeError } from '../../ports/payment-gateway.js';
import { HttpClient } from './http-client.js';
import { parseRateLimitReset, parseRemaining, parseRetryAfter } from './rate-limit-headers.js';

describe('rate-limit headers', () => {
  const now = Date.parse('2026-11-24T08:00:00Z');
  it.each([
    ['120', 120_000],
    ['0', 0],
    [' 5 ', 5000],
    ['Tue, 24 Nov 2026 08:00:30 GMT', 30_000],
    ['Tue, 24 Nov 2026 07:59:00 GMT', 0], // in the past: go now
    ['-1', undefined],
    ['1.5', undefined],
    ['soon', undefined],
    ['', undefined],
    [undefined, undefined],
  ])('Retry-After %j → %j ms', (v, ms) => {
    expect(parseRetryAfter(v, now)).toBe(ms);
  });
  it('X-RateLimit-Reset as seconds to go or as a Unix time', () => {
    expect(parseRateLimitReset('30', now)).toBe(30_000);
    expect(parseRateLimitReset(String(now / 1000 + 45), now)).toBe(45_000);
    expect(parseRateLimitReset('x', now)).toBeUndefined();
    expect(parseRemaining('0')).toBe(0);
    expect(parseRemaining('-3')).toBeUndefined();
  });
});

describe('HttpClient', () => {
  let server: Server;
  let base: string;
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_q, s) => s.end('ok');
  let connections = 0;
  beforeAll(async () => {
    server = createServer((q, s) => handler(q, s));
    server.on('connection', () => (connections += 1));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('returns 2xx and 4xx answers with lower-case headers', async () => {
    const c = new HttpClient({ baseUrl: `${base}/prefix/`, timeoutMs: 1000 });
    handler = (q, s) => s.writeHead(q.url === '/prefix/x' ? 404 : 200, { 'X-Thing': 'a' }).end(`{"path":"${q.url}"}`);
    const r = await c.request({ method: 'GET', path: '/x' });
    expect(r).toMatchObject({ status: 404, body: '{"path":"/prefix/x"}' });
    expect(r.headers['x-thing']).toBe('a');
    await c.close();
  });

  it('5xx, a timeout and a reset are unknown outcomes', async () => {
    const c = new HttpClient({ baseUrl: base, timeoutMs: 150 });
    handler = (_q, s) => s.writeHead(502).end();
    await expect(c.request({ method: 'POST', path: '/', body: '{}' })).rejects.toBeInstanceOf(
      GatewayUnknownOutcomeError,
    );
    handler = () => undefined; // never answers
    const t = Date.now();
    await expect(c.request({ method: 'POST', path: '/', body: '{}' })).rejects.toThrow(/no answer within 150 ms/);
    expect(Date.now() - t).toBeLessThan(1000);
    handler = (q) => q.socket.destroy();
    await expect(c.request({ method: 'GET', path: '/' })).rejects.toBeInstanceOf(GatewayUnknownOutcomeError);
    await c.close();
    const refused = new HttpClient({ baseUrl: 'http://127.0.0.1:9', timeoutMs: 500 });
    await expect(refused.request({ method: 'GET', path: '/' })).rejects.toBeInstanceOf(GatewayUnknownOutcomeError);
    await refused.close();
  });

  it('429 is GatewayRateLimitedError with Retry-After, falling back to X-RateLimit-Reset', async () => {
    const c = new HttpClient({ baseUrl: base, timeoutMs: 1000 });
    handler = (_q, s) => s.writeHead(429, { 'retry-after': '3' }).end();
    const a = (await c.request({ method: 'GET', path: '/' }).catch((e: unknown) => e)) as GatewayRateLimitedError;
    expect(a).toBeInstanceOf(GatewayRateLimitedError);
    expect(a.retryAfterMs).toBe(3000);
    handler = (_q, s) => s.writeHead(429, { 'x-ratelimit-reset': '2' }).end();
    expect(
      ((await c.request({ method: 'GET', path: '/' }).catch((e: unknown) => e)) as GatewayRateLimitedError)
        .retryAfterMs,
    ).toBe(2000);
    handler = (_q, s) => s.writeHead(429).end();
    expect(
      ((await c.request({ method: 'GET', path: '/' }).catch((e: unknown) => e)) as GatewayRateLimitedError)
        .retryAfterMs,
    ).toBeUndefined();
    await c.close();
  });

  it('X-RateLimit-Remaining: 0 holds the next calls back until the reset, without sending them', async () => {
    let clock = 1_000_000;
    const c = new HttpClient({ baseUrl: base, timeoutMs: 1000, now: () => clock });
    let hits = 0;
    handler = (_q, s) => {
      hits += 1;
      s.writeHead(200, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '10' }).end();
    };
    await c.request({ method: 'GET', path: '/' });
    expect(c.rateLimit).toEqual({ remaining: 0, resetAt: clock + 10_000 });
    clock += 4000;
    const e = (await c.request({ method: 'GET', path: '/' }).catch((x: unknown) => x)) as GatewayRateLimitedError;
    expect(e).toBeInstanceOf(GatewayRateLimitedError);
    expect(e.retryAfterMs).toBe(6000);
    expect(hits).toBe(1);
    clock += 6000;
    await c.request({ method: 'GET', path: '/' });
    expect(hits).toBe(2);
    await c.close();
  });

  it('keeps connections alive across calls', async () => {
    const c = new HttpClient({ baseUrl: base, timeoutMs: 1000, connections: 1 });
    handler = (_q, s) => s.end('ok');
    const before = connections;
    for (let i = 0; i < 30; i++) await c.request({ method: 'GET', path: '/' });
    expect(connections - before).toBe(1);
    await c.close();
  });
});

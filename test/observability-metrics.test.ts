import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../src/composition/create-app.js';
import { SimulatedGateway } from '../src/simulator/simulated-gateway.js';
import { sample } from './support/metric-sample.js';
import { startTestApp } from './support/test-app.js';

const apps: App[] = [];
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close().catch(() => undefined);
});

const scrape = async (app: App): Promise<string> => (await app.http.inject({ method: 'GET', url: '/metrics' })).body;

describe('RED metrics and outcomes', () => {
  it('counts an order and its payment once, however often the request is replayed', async () => {
    const gateway = new SimulatedGateway();
    const { app } = await startTestApp({}, { gateway });
    apps.push(app);
    const headers = { 'content-type': 'application/json', 'idempotency-key': 'obs-1' };
    for (let i = 0; i < 3; i++) {
      const res = await app.http.inject({
        method: 'POST',
        url: '/api/v1/order',
        headers,
        payload: { drink: 'latte', size: 'medium' },
      });
      expect(res.statusCode, res.body).toBe(201);
      if (i > 0) expect(res.headers['idempotent-replayed']).toBe('true');
    }
    expect(gateway.groundTruth).toHaveLength(1);
    const text = await scrape(app);
    expect(sample(text, 'autoglm_orders_total', { outcome: 'created' })).toBe(1);
    expect(sample(text, 'autoglm_orders_total', { outcome: 'paid' })).toBe(1);
    expect(sample(text, 'autoglm_payments_total', { gateway: 'secure-pay-v3', outcome: 'succeeded' })).toBe(1);
    // Each gateway's series start at zero (so a first failure shows in rate()); none failed here.
    expect(sample(text, 'autoglm_payments_total', { gateway: 'secure-pay-v3', outcome: 'failed' })).toBe(0);
    // Three requests answered (two of them replays), by the route's template.
    expect(sample(text, 'autoglm_http_requests_total', { method: 'POST', route: '/api/v1/order', status: '201' })).toBe(
      3,
    );
    expect(
      sample(text, 'autoglm_http_request_duration_seconds_count', {
        method: 'POST',
        route: '/api/v1/order',
        status_class: '2xx',
      }),
    ).toBe(3);
  });

  it('labels by route template, never the URL, and counts errors by status class and code', async () => {
    const { app } = await startTestApp();
    apps.push(app);
    const missing = await app.http.inject({ method: 'GET', url: '/api/v1/orders/ord_13800138000' });
    expect(missing.statusCode).toBe(404);
    const bad = await app.http.inject({
      method: 'POST',
      url: '/api/v1/order',
      headers: { 'content-type': 'application/json' },
      payload: '{"drink":',
    });
    expect(bad.statusCode).toBe(400);
    // Under /api (elsewhere a GET is the console's page): a path no route has, a phone number in it.
    const nowhere = await app.http.inject({ method: 'GET', url: '/api/v1/no/such/13900139000' });
    expect(nowhere.statusCode).toBe(404);
    const text = await scrape(app);
    expect(text).not.toContain('13800138000');
    expect(text).not.toContain('13900139000');
    const code = JSON.parse(missing.body) as { code: string };
    expect(
      sample(text, 'autoglm_http_errors_total', {
        method: 'GET',
        route: '/api/v1/orders/:id',
        status_class: '4xx',
        code: code.code,
      }),
    ).toBe(1);
    expect(
      sample(text, 'autoglm_http_errors_total', {
        method: 'POST',
        route: '/api/v1/order',
        status_class: '4xx',
        code: 'MALFORMED_JSON',
      }),
    ).toBe(1);
    expect(
      sample(text, 'autoglm_http_errors_total', {
        method: 'GET',
        route: 'unmatched',
        status_class: '4xx',
        code: 'NOT_FOUND',
      }),
    ).toBe(1);
  });
});

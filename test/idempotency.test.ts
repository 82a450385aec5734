import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../src/composition/create-app.js';
import { SimulatedGateway } from '../src/simulator/simulated-gateway.js';
import { SimulatedMerchant } from '../src/simulator/simulated-merchant.js';
import { fetchFor, startTestApp } from './support/test-app.js';

let app: App | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

const headers = (key: string): Record<string, string> => ({
  'content-type': 'application/json',
  'idempotency-key': key,
});

describe('Idempotency-Key (ACP / Stripe semantics)', () => {
  it('same key + same body replays the first response with Idempotent-Replayed and no second effect', async () => {
    const gateway = new SimulatedGateway();
    app = (await startTestApp({}, { gateway })).app;
    const first = await app.http.inject({
      method: 'POST',
      url: '/api/v1/order',
      headers: headers('k-1'),
      payload: { drink: 'latte', size: 'medium' },
    });
    expect(first.statusCode).toBe(201);
    // Key order in the body does not matter.
    const again = await app.http.inject({
      method: 'POST',
      url: '/api/v1/order',
      headers: headers('k-1'),
      payload: { size: 'medium', drink: 'latte' },
    });
    expect(again.statusCode).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json()).toEqual(first.json());
    expect(gateway.groundTruth).toHaveLength(1);
    const list = await app.http.inject({ method: 'GET', url: '/api/v1/orders' });
    expect(list.json<{ data: unknown[] }>().data).toHaveLength(1);
  });

  it('same key + different body → 422 idempotency conflict and nothing happens', async () => {
    const gateway = new SimulatedGateway();
    app = (await startTestApp({}, { gateway })).app;
    await app.http.inject({
      method: 'POST',
      url: '/api/v1/order',
      headers: headers('k-2'),
      payload: { drink: 'latte', size: 'medium' },
    });
    const other = await app.http.inject({
      method: 'POST',
      url: '/api/v1/order',
      headers: headers('k-2'),
      payload: { drink: 'latte', size: 'large' },
    });
    expect(other.statusCode).toBe(422);
    expect(other.json<{ code: string }>().code).toBe('IDEMPOTENCY_CONFLICT');
    expect(gateway.groundTruth).toHaveLength(1);
  });

  it('validation failures are not stored: the same key can be used again with a fixed body', async () => {
    app = (await startTestApp()).app;
    const bad = await app.http.inject({
      method: 'POST',
      url: '/api/v1/order',
      headers: headers('k-3'),
      payload: { drink: 'tea', size: 'medium' },
    });
    expect(bad.statusCode).toBe(400);
    const good = await app.http.inject({
      method: 'POST',
      url: '/api/v1/order',
      headers: headers('k-3'),
      payload: { drink: 'latte', size: 'medium' },
    });
    expect(good.statusCode).toBe(201);
    expect(good.headers['idempotent-replayed']).toBeUndefined();
  });

  it('keys are scoped per caller: two users with the same key get two orders', async () => {
    const gateway = new SimulatedGateway();
    app = (await startTestApp({}, { gateway })).app;
    const a = await app.http.inject({
      method: 'POST',
      url: '/api/v1/order',
      headers: { ...headers('shared'), 'x-user-id': 'a' },
      payload: { drink: 'latte', size: 'medium' },
    });
    const b = await app.http.inject({
      method: 'POST',
      url: '/api/v1/order',
      headers: { ...headers('shared'), 'x-user-id': 'b' },
      payload: { drink: 'latte', size: 'medium' },
    });
    expect(a.statusCode).toBe(201);
    expect(b.statusCode).toBe(201);
    expect(b.headers['idempotent-replayed']).toBeUndefined();
    expect(gateway.groundTruth).toHaveLength(2);
  });

  it('100 concurrent identical POSTs with one key over a real server → exactly one order and one charge', async () => {
    const gateway = new SimulatedGateway();
    const merchant = new SimulatedMerchant();
    app = (await startTestApp({}, { gateway, merchant })).app;
    gateway.chaos.set({ latencyMs: { min: 20, max: 20 } });
    const url = await app.listen();
    const fetch = fetchFor(app);
    const responses = await Promise.all(
      Array.from({ length: 100 }, () =>
        fetch(`${url}/api/v1/order`, {
          method: 'POST',
          headers: headers('burst-1'),
          body: JSON.stringify({ drink: 'latte', size: 'medium' }),
        }),
      ),
    );
    const statuses = responses.map((r) => r.status);
    for (const s of statuses) expect([201, 409]).toContain(s);
    expect(statuses.filter((s) => s === 201).length).toBeGreaterThanOrEqual(1);
    for (const r of responses.filter((x) => x.status === 409)) {
      expect(r.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(((await r.json()) as { code: string }).code).toBe('IDEMPOTENCY_IN_FLIGHT');
    }
    expect(gateway.groundTruth.filter((e) => e.type === 'capture')).toHaveLength(1);
    expect(merchant.groundTruth).toHaveLength(1);
    const list = await fetch(`${url}/api/v1/orders`);
    expect(((await list.json()) as { data: unknown[] }).data).toHaveLength(1);
    // After the first finished, a retry replays it.
    const replay = await fetch(`${url}/api/v1/order`, {
      method: 'POST',
      headers: headers('burst-1'),
      body: JSON.stringify({ drink: 'latte', size: 'medium' }),
    });
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
  });
});

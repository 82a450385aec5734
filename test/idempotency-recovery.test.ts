import { describe, expect, it } from 'vitest';
import { ManualClock } from '../src/adapters/system/system-clock.js';
import { SimulatedGateway } from '../src/simulator/simulated-gateway.js';
import { SimulatedMerchant } from '../src/simulator/simulated-merchant.js';
import { startTestApp, tempDbPath } from './support/test-app.js';

describe('Idempotency-Key after a crash', () => {
  it('a retry after the first attempt died mid-request answers with the order it created, not a new one', async () => {
    const db = tempDbPath();
    const gateway = new SimulatedGateway();
    const merchant = new SimulatedMerchant();
    const clock = new ManualClock(Date.now());
    const body = { drink: 'latte', size: 'medium' };
    const scope = 'user:anonymous POST /api/v1/order';

    // First process: claims the key, places (and pays) the order, then dies before storing the answer.
    const { app: first } = await startTestApp({}, { gateway, merchant, clock }, db);
    const start = await first.services.idempotency.begin('default', scope, 'retry-me', body);
    expect(start.kind).toBe('proceed');
    if (start.kind !== 'proceed') return;
    const placed = await first.services.orders.place(
      { tenantId: 'default', userId: 'anonymous', actor: 'user:anonymous', requestId: null, role: 'user' },
      { ...body, quantity: 1, options: {} },
      start.ref,
    );
    expect(placed.ok).toBe(true);
    await first.close();

    // While the first attempt's lock holds, a retry is told to wait.
    const { app: second } = await startTestApp({}, { gateway, merchant, clock }, db);
    const early = await second.http.inject({
      method: 'POST',
      url: '/api/v1/order',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'retry-me', 'x-user-id': 'anonymous' },
      payload: body,
    });
    expect(early.statusCode).toBe(409);
    expect(early.json<{ code: string }>().code).toBe('IDEMPOTENCY_IN_FLIGHT');

    // After the lock expires the retry takes over from the recovery point.
    clock.advance(5 * 60_000);
    const retry = await second.http.inject({
      method: 'POST',
      url: '/api/v1/order',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'retry-me', 'x-user-id': 'anonymous' },
      payload: body,
    });
    expect(retry.statusCode).toBe(201);
    expect(retry.json<{ order: { id: string } }>().order.id).toBe(placed.ok ? placed.value.order.id : 'missing');
    expect(gateway.groundTruth).toHaveLength(1);
    const list = await second.http.inject({
      method: 'GET',
      url: '/api/v1/orders',
      headers: { 'x-user-id': 'anonymous' },
    });
    expect(list.json<{ data: unknown[] }>().data).toHaveLength(1);
    // And from now on it is an ordinary replay.
    const replay = await second.http.inject({
      method: 'POST',
      url: '/api/v1/order',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'retry-me', 'x-user-id': 'anonymous' },
      payload: body,
    });
    expect(replay.headers['idempotent-replayed']).toBe('true');
    await second.close();
  });
});

import { describe, expect, it } from 'vitest';
import { SimulatedGateway } from '../src/simulator/simulated-gateway.js';
import { ADMIN, fetchFor, startTestApp, tempDbPath } from './support/test-app.js';

describe('graceful shutdown', () => {
  it('reports not ready while draining, waits for in-flight work up to the deadline, then closes', async () => {
    const db = tempDbPath();
    const gateway = new SimulatedGateway();
    const { app } = await startTestApp({ server: { port: 0, wait_for_completion_ms: 50 } }, { gateway }, db);
    const url = await app.listen();
    const fetch = fetchFor(app);
    gateway.chaos.set({ latencyMs: { min: 300, max: 300 } });
    const res = await fetch(`${url}/api/v1/order`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ drink: 'latte', size: 'small' }),
    });
    expect(res.status).toBe(202); // answered before payment finished; the job is still running
    const id = ((await res.json()) as { order: { id: string } }).order.id;
    expect(app.runner.inFlightCount).toBeGreaterThan(0);

    const closing = app.close(5_000);
    // The in-flight job finishes during the drain: its charge is recorded, not abandoned.
    await closing;
    expect(gateway.groundTruth).toHaveLength(1);
    expect(app.runner.isRunning).toBe(false);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();

    // The next process finds the order finished, not half-done.
    const { app: next } = await startTestApp({}, {}, db);
    const order = await next.services.orders.get(ADMIN, id);
    expect(order.ok && order.value.status).toBe('COMPLETED');
    await next.close();
  });

  it('answers /readyz 503 once draining has begun', async () => {
    const { app } = await startTestApp();
    await app.http.ready();
    app.start();
    const ready = await app.http.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    app.runner.stop(0).catch(() => undefined);
    const draining = await app.http.inject({ method: 'GET', url: '/readyz' });
    expect(draining.statusCode).toBe(503);
    expect(draining.json<{ checks: Record<string, boolean> }>().checks.worker).toBe(false);
    await app.close();
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, startCluster } from './support/cluster.js';
import { WebhookReceiver } from './support/webhook-receiver.js';

/**
 * The dispatcher on every instance at once: each turns the same audit rows into deliveries, and
 * each event still reaches the endpoint exactly once (the cursor moves by compare-and-set,
 * deliveries are UNIQUE per endpoint and event), each order's events in commit order. SQLite
 * (one process) and two instances on one PostgreSQL database.
 */
let receiver: WebhookReceiver;
let base: string;
beforeAll(async () => {
  receiver = new WebhookReceiver();
  base = await receiver.start();
});
afterAll(async () => {
  await receiver.close();
});

describe.each(ENGINES)('webhooks on %s', (engine) => {
  it('two dispatchers, many orders: every event delivered once, each order in commit order', async () => {
    receiver.received.length = 0;
    const cluster = await startCluster(engine, {
      webhooks: { poll_interval_ms: 10, retry_base_ms: 10, retry_max_ms: 40 },
      worker: { poll_interval_ms: 10 },
    });
    try {
      for (const a of cluster.apps) a.start();
      const created = await cluster.apps[0]!.http.inject({
        method: 'POST',
        url: '/api/v1/webhooks',
        payload: { url: `${base}/${engine}`, events: ['order.*'] },
      });
      expect(created.statusCode, created.body).toBe(201);
      const orders = await Promise.all(
        Array.from({ length: 30 }, async (_, i) => {
          const res = await cluster.at(i).http.inject({
            method: 'POST',
            url: '/api/v1/order',
            headers: { 'x-user-id': `u${i % 3}` },
            payload: { drink: 'latte', size: 'small' },
          });
          expect(res.statusCode, res.body).toBe(201);
          return res.json<{ order: { id: string } }>().order.id;
        }),
      );
      // Also drive rounds by hand on both instances at once, beside their own loops.
      await Promise.all(cluster.apps.flatMap((a) => Array.from({ length: 5 }, () => a.services.webhooks.dispatch())));
      const read = cluster.apps[0]!.deps.uow.read.audit;
      const expected = new Map<string, string[]>();
      for (const id of orders)
        expected.set(
          id,
          (await read.list('default', 'order', id)).map((a) => a.action).filter((a) => a.startsWith('order.')),
        );
      const total = [...expected.values()].reduce((n, e) => n + e.length, 0);
      const end = Date.now() + 20_000;
      while (receiver.received.length < total && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      // A moment longer: a double would arrive now.
      await new Promise((r) => setTimeout(r, 300));
      const ids = receiver.received.map((r) => String(r.headers['webhook-id']));
      expect(ids.length).toBe(total);
      expect(new Set(ids).size).toBe(total);
      for (const id of orders)
        expect(
          receiver
            .delivered()
            .filter((e) => e.data.id === id)
            .map((e) => e.type),
          id,
        ).toEqual(expected.get(id));
    } finally {
      await cluster.close();
    }
  }, 60_000);
});

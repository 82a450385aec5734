import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { App } from '../src/composition/create-app.js';
import { ENGINES, startCluster } from './support/cluster.js';
import { WebhookReceiver } from './support/webhook-receiver.js';

/**
 * What the webhook dispatcher reads, so that more instances do not mean more reading per order
 * (issue #16): the audit rows' content only when an endpoint is enabled, and on PostgreSQL only
 * one instance's loop reads at all — the others would read the same rows to lose the cursor.
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

const order = async (app: App, i: number): Promise<string> => {
  const res = await app.http.inject({
    method: 'POST',
    url: '/api/v1/order',
    headers: { 'x-user-id': `u${i % 3}` },
    payload: { drink: 'latte', size: 'small' },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ order: { id: string } }>().order.id;
};

const until = async (done: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!(await done()) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
};

describe.each(ENGINES)('webhook dispatcher reads on %s', (engine) => {
  it('with no endpoint enabled, a round moves the cursor past the rows without reading their content', async () => {
    const cluster = await startCluster(engine, {});
    try {
      const app = cluster.apps[0]!;
      const read = app.deps.uow.read.webhooks;
      const whole = vi.spyOn(read, 'auditAfter');
      const keys = vi.spyOn(read, 'auditKeysAfter');
      const id = await order(app, 0);
      const rows = await app.deps.uow.read.audit.list('default', 'order', id);
      expect(rows.length).toBeGreaterThan(0);
      while ((await app.services.webhooks.dispatch()) > 0);
      expect(whole).not.toHaveBeenCalled();
      expect(keys).toHaveBeenCalled();
      expect(await read.cursor()).toBeGreaterThanOrEqual(Math.max(...rows.map((a) => a.id)));
    } finally {
      await cluster.close();
    }
  }, 60_000);
});

describe.runIf(ENGINES.some(([e]) => e === 'postgres'))('webhook dispatcher on three PostgreSQL instances', () => {
  it('one instance reads the audit log, events of every instance arrive, another leads when it drains', async () => {
    receiver.received.length = 0;
    const cluster = await startCluster(
      'postgres',
      { webhooks: { poll_interval_ms: 10, retry_base_ms: 10, retry_max_ms: 40 }, worker: { poll_interval_ms: 10 } },
      () => ({}),
      3,
    );
    const open = new Set(cluster.apps);
    // Lets a held drain finish (also when an assertion failed before it was let go).
    let release: () => void = () => undefined;
    try {
      const created = await cluster.apps[0]!.http.inject({
        method: 'POST',
        url: '/api/v1/webhooks',
        payload: { url: `${base}/leader`, events: ['order.*'] },
      });
      expect(created.statusCode, created.body).toBe(201);
      const reads = cluster.apps.map((a) => vi.spyOn(a.deps.uow.read.webhooks, 'auditAfter'));
      for (const a of cluster.apps) a.start();
      const orders = await Promise.all(Array.from({ length: 9 }, (_, i) => order(cluster.at(i), i)));
      const read = (): App['deps']['uow']['read']['audit'] => [...open][0]!.deps.uow.read.audit;
      const eventsOf = async (ids: readonly string[]): Promise<number> => {
        let n = 0;
        for (const id of ids)
          n += (await read().list('default', 'order', id)).filter((a) => a.action.startsWith('order.')).length;
        return n;
      };
      const settled = async (ids: readonly string[]): Promise<number> => {
        // Orders finish in the background (fulfilment jobs): count once no more events come.
        let before = -1;
        let now = await eventsOf(ids);
        while (now !== before) {
          await new Promise((r) => setTimeout(r, 300));
          before = now;
          now = await eventsOf(ids);
        }
        return now;
      };
      const total = await settled(orders);
      await until(() => receiver.received.length >= total);
      const ids = receiver.received.map((r) => String(r.headers['webhook-id']));
      expect(ids.length).toBe(total);
      expect(new Set(ids).size).toBe(total);

      const readers = reads.map((s) => s.mock.calls.length);
      expect(
        readers.filter((n) => n > 0),
        `audit reads per instance: ${readers.join(', ')}`,
      ).toHaveLength(1);

      // The reader drains (SIGTERM) and its drain is held open, as a slow in-flight job would: it
      // gives up its role as the drain starts, and another instance's loop takes over meanwhile.
      const leader = cluster.apps[readers.findIndex((n) => n > 0)]!;
      const held = new Promise<void>((r) => (release = r));
      const stopRunner = leader.runner.stop.bind(leader.runner);
      vi.spyOn(leader.runner, 'stop').mockImplementation(async (ms) => {
        await held;
        await stopRunner(ms);
      });
      let drained = false;
      const closing = leader.close().then(() => (drained = true));
      open.delete(leader);
      const rest = [...open];
      const later = await Promise.all(rest.map((a, i) => order(a, i)));
      const more = await settled(later);
      await until(() => receiver.received.length >= total + more);
      expect(drained, 'the leader was still draining').toBe(false);
      expect(new Set(receiver.received.map((r) => String(r.headers['webhook-id']))).size).toBe(total + more);
      const after = rest.map((a) => reads[cluster.apps.indexOf(a)]!.mock.calls.length);
      expect(after.some((n) => n > 0)).toBe(true);
      release();
      await closing;
    } finally {
      release();
      await cluster.close();
    }
  }, 90_000);
});

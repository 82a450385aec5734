import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, startCluster, type Cluster } from './support/cluster.js';
import { silentConnections, until, watchStream, type Watched } from './support/event-stream-client.js';
import { keyOf } from './support/test-app.js';

/**
 * GET /api/v1/orders/events, the console's live orders list, over real sockets: a change made on
 * one instance reaches a watcher connected to the other (the feed reads the shared audit log, no
 * instance tells another anything); a person sees only their own orders, a viewer the tenant's,
 * another tenant nothing; the stream needs its Accept header and a credential. SQLite (one
 * instance) and two instances on one PostgreSQL database.
 */

interface Change {
  readonly action: string;
  readonly order: { readonly id: string; readonly status: string; readonly user_id: string };
}

const watch = (url: string, key: string): Promise<Watched<Change>> =>
  watchStream<Change>(`${url}/api/v1/orders/events`, key);

describe.each(ENGINES)('the live order feed on %s', (engine) => {
  let cluster: Cluster;
  const urls: string[] = [];
  beforeAll(async () => {
    cluster = await startCluster(engine, {
      server: { port: 0 },
      auto_confirm_order: true,
      trusted_actions: ['order_coffee', 'submit_payment'],
      worker: { poll_interval_ms: 20 },
    });
    for (const a of cluster.apps) urls.push(await a.listen());
  }, 60_000);
  afterAll(async () => {
    // The last test checks that the instances close promptly; this only cleans up.
    await cluster.close();
  }, 60_000);

  it('refuses a stream without Accept: text/event-stream (406) or without a credential (401)', async () => {
    const key = await keyOf(cluster.apps[0]!, 'alice');
    const plain = await fetch(`${urls[0]}/api/v1/orders/events`, { headers: { authorization: `Bearer ${key}` } });
    expect(plain.status).toBe(406);
    expect(((await plain.json()) as { code: string }).code).toBe('NOT_ACCEPTABLE');
    const nobody = await fetch(`${urls[0]}/api/v1/orders/events`, { headers: { accept: 'text/event-stream' } });
    expect(nobody.status).toBe(401);
    await nobody.text();
  });

  it('tells each watcher, on any instance, of the changes they may see and of no other', async () => {
    const first = cluster.apps[0]!;
    const otherTenant = await first.services.identity.bootstrap(`t-${engine}`);
    if (otherTenant === undefined) throw new Error('the second tenant existed already');
    const [alice, bob, viewer] = await Promise.all([
      keyOf(first, 'alice'),
      keyOf(first, 'bob'),
      keyOf(first, 'vivian', 'viewer'),
    ]);
    // Watching on the last instance; the orders are placed on the first.
    const watchers = {
      alice: await watch(urls.at(-1)!, alice),
      bob: await watch(urls.at(-1)!, bob),
      viewer: await watch(urls.at(-1)!, viewer),
      stranger: await watch(urls.at(-1)!, otherTenant),
    };
    expect(watchers.alice.status).toBe(200);
    try {
      const place = async (key: string): Promise<string> => {
        const res = await fetch(`${urls[0]}/api/v1/order`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ drink: 'latte', size: 'large' }),
        });
        expect(res.status).toBe(201);
        return ((await res.json()) as { order: { id: string } }).order.id;
      };
      const hers = await place(alice);
      const his = await place(bob);
      const done = (w: Watched<Change>, id: string) => () =>
        w.events.some((e) => e.data.order.id === id && e.data.order.status === 'COMPLETED');
      await until(done(watchers.alice, hers));
      await until(done(watchers.bob, his));
      await until(() => done(watchers.viewer, hers)() && done(watchers.viewer, his)());
      expect(done(watchers.alice, hers)()).toBe(true);
      expect(done(watchers.bob, his)()).toBe(true);
      expect(done(watchers.viewer, hers)() && done(watchers.viewer, his)()).toBe(true);
      // Each sees only what they may: her order never on his stream, nor his on hers.
      expect(watchers.alice.events.every((e) => e.data.order.user_id === 'alice')).toBe(true);
      expect(watchers.bob.events.every((e) => e.data.order.user_id === 'bob')).toBe(true);
      // Event ids are the audit rows' positions: increasing on each stream (what Last-Event-ID resumes).
      const ids = watchers.viewer.events.map((e) => Number(e.id));
      expect(ids).toEqual([...ids].sort((p, q) => p - q));
      // Another tenant heard nothing (checked after the others heard everything).
      expect(watchers.stranger.events).toEqual([]);
    } finally {
      for (const w of Object.values(watchers)) w.close();
    }
  }, 60_000);

  it('shuts down promptly after its watchers went away, even with connections that never sent a byte', async () => {
    // undici opens fresh pool connections when a streamed answer is aborted, and a browser
    // preconnects: connections with no request that Node's closeIdleConnections() leaves open, so
    // close() waited out headersTimeout (a minute) for them.
    const last = cluster.apps.at(-1)!;
    const key = await keyOf(last, 'carol');
    const w = await watch(urls.at(-1)!, key);
    const silent = await silentConnections(urls.at(-1)!, 4);
    w.close();
    const started = Date.now();
    for (const a of cluster.apps) await a.close();
    expect(Date.now() - started).toBeLessThan(5_000);
    for (const s of silent) s.destroy();
  }, 30_000);
});

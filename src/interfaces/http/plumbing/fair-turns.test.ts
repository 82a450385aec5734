import { Agent, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { startRequestsFairly } from './fair-turns.js';

/** Busy work standing for a request's CPU (a read's SQLite query, hooks, serialisation). */
function work(n: number): number {
  let x = 0;
  for (let i = 0; i < n; i++) x = (x + i * 7) % 1_000_003;
  return x;
}

function appWith(perTurn: number | undefined): FastifyInstance {
  const app = Fastify({ logger: false });
  if (perTurn !== undefined) startRequestsFairly(app, perTurn);
  return app;
}

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

describe('startRequestsFairly: a bounded number of requests start per turn of the event loop', () => {
  it('starts at most perTurn requests in one turn, in the order they came, and serves every one', async () => {
    app = appWith(4);
    // Turns counted by an immediate that queues itself: it runs once at the end of every turn.
    let turn = 0;
    let counting = true;
    const tick = (): void => {
      turn++;
      if (counting) setImmediate(tick);
    };
    setImmediate(tick);
    const started: Array<{ n: number; turn: number }> = [];
    app.get('/r/:n', (req) => {
      started.push({ n: Number((req.params as { n: string }).n), turn });
      return { ok: true };
    });
    await app.ready();
    const answers = await Promise.all(Array.from({ length: 18 }, (_, n) => app!.inject({ url: `/r/${n}` })));
    counting = false;
    expect(answers.every((a) => a.statusCode === 200)).toBe(true);
    // Every request started, in arrival order, never more than four in a turn.
    expect(started.map((s) => s.n)).toEqual(Array.from({ length: 18 }, (_, n) => n));
    const perTurn = new Map<number, number>();
    for (const s of started) perTurn.set(s.turn, (perTurn.get(s.turn) ?? 0) + 1);
    expect(Math.max(...perTurn.values())).toBe(4);
    expect(perTurn.size).toBeGreaterThanOrEqual(5);
  });

  it('lets a request straight through when few come (nothing waits a turn)', async () => {
    app = appWith(4);
    let turn = 0;
    app.get('/r', () => Promise.resolve(turn));
    await app.ready();
    const before = turn;
    setImmediate(() => turn++);
    const res = await app.inject({ url: '/r' });
    expect(res.json()).toBe(before);
  });

  // Node accepts one new connection per turn of its loop. A burst of connections, each asking
  // again as soon as it is answered (the load test's closed loop): without bounded turns the last
  // connection is accepted only after the ones before it have been served many times over.
  // Counted in requests served, not in time.
  async function servedBeforeLastAccepted(perTurn: number | undefined): Promise<number> {
    const connections = 120;
    app = appWith(perTurn);
    let served = 0;
    let accepted = 0;
    let servedAtLast = -1;
    app.server.on('connection', () => {
      if (++accepted === connections) servedAtLast = served;
    });
    app.get('/w', () => {
      served++;
      return { x: work(40_000) };
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as AddressInfo;
    // A closed loop: each of the connections asks again as soon as it is answered.
    const agent = new Agent({ keepAlive: true, maxSockets: connections });
    const ask = (): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/w', agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end();
      });
    const statuses = await Promise.all(
      Array.from({ length: connections }, async () => {
        const got: number[] = [];
        for (let i = 0; i < 40; i++) got.push(await ask());
        return got;
      }),
    );
    agent.destroy();
    expect(statuses.flat().every((s) => s === 200)).toBe(true);
    expect(accepted).toBe(connections);
    return servedAtLast;
  }

  it('accepts every connection of a burst after a few requests each, not after hundreds', async () => {
    const bounded = await servedBeforeLastAccepted(8);
    await app?.close();
    const unbounded = await servedBeforeLastAccepted(undefined);
    // Bounded: about one turn of eight requests per connection accepted (plus those in flight).
    expect(bounded).toBeLessThan(120 * 8 * 2);
    // Unbounded: turn k serves the k connections accepted so far — about 120²/2 in all.
    expect(unbounded).toBeGreaterThan(bounded * 2);
  }, 60_000);
});

import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryFailureCounter } from '../../src/adapters/abuse/memory-failure-counter.js';
import { RedisFailureCounter } from '../../src/adapters/abuse/redis-failure-counter.js';
import type { FailureCounter } from '../../src/ports/failure-counter.js';
import { REDIS_TEST_URL, redisWanted, unique } from '../support/redis.js';

/** One suite for every FailureCounter: in memory, and in Redis (two clients, as two instances would be). */
interface Setup {
  /** Two counters that must add up one source's failures together (one object where nothing is shared). */
  readonly counters: readonly [FailureCounter, FailureCounter];
  readonly shared: boolean;
}

const clients: Redis[] = [];
afterAll(() => {
  for (const c of clients) c.disconnect();
});

const setups: Array<[string, () => Setup]> = [
  [
    'memory',
    () => {
      const c = new MemoryFailureCounter(3, 5);
      return { counters: [c, c], shared: false };
    },
  ],
];
if (await redisWanted())
  setups.push([
    'redis',
    () => {
      const prefix = `${unique('autoglm-test')}:`;
      const make = (): RedisFailureCounter => {
        const client = new Redis(REDIS_TEST_URL);
        clients.push(client);
        return new RedisFailureCounter(client, prefix, 5);
      };
      return { counters: [make(), make()], shared: true };
    },
  ]);

describe.each(setups)('failure counter contract: %s', (_name, setup) => {
  it('counts per kind over a sliding window, this failure included', async () => {
    const [c] = setup().counters;
    expect(await c.hit('ip:a', 'authentication', 1000, 100)).toEqual({
      authentication: 1,
      forged_callback: 0,
      mandate_violation: 0,
    });
    await c.hit('ip:a', 'forged_callback', 1050, 100);
    // Another source counts apart.
    await c.hit('ip:b', 'forged_callback', 1050, 100);
    expect(await c.hit('ip:a', 'forged_callback', 1099, 100)).toEqual({
      authentication: 1,
      forged_callback: 2,
      mandate_violation: 0,
    });
    // At 1100 the failure of 1000 has left the window (now - window, now].
    expect(await c.hit('ip:a', 'mandate_violation', 1100, 100)).toEqual({
      authentication: 0,
      forged_callback: 2,
      mandate_violation: 1,
    });
    // Two at the same millisecond both count.
    const same = await Promise.all([c.hit('ip:c', 'authentication', 5, 100), c.hit('ip:c', 'authentication', 5, 100)]);
    expect(Math.max(...same.map((s) => s.authentication))).toBe(2);
  });

  it('forgets a source on reset, and keeps at most its newest failures', async () => {
    const [c] = setup().counters;
    for (let t = 1; t <= 3; t++) await c.hit('ip:r', 'authentication', t, 1000);
    await c.reset('ip:r');
    expect((await c.hit('ip:r', 'authentication', 4, 1000)).authentication).toBe(1);
    // The cap (5 here): a flood of failures cannot grow one source's record without end.
    let last = 0;
    for (let t = 10; t < 30; t++) last = (await c.hit('ip:cap', 'forged_callback', t, 1000)).forged_callback;
    expect(last).toBe(5);
  });

  it('failures counted through two instances add up when the counter is shared', async () => {
    const s = setup();
    const [a, b] = s.counters;
    const results = await Promise.all(
      Array.from({ length: 4 }, (_, i) => (i % 2 === 0 ? a : b).hit('ip:shared', 'authentication', 100 + i, 1000)),
    );
    expect(Math.max(...results.map((r) => r.authentication))).toBe(4);
    if (!s.shared) return;
    // The last one in, whichever instance, saw all four.
    expect((await b.hit('ip:shared', 'authentication', 200, 1000)).authentication).toBe(5);
  });
});

describe('memory failure counter bounds', () => {
  it('forgets the least recently failing source when it holds too many', async () => {
    const c = new MemoryFailureCounter(2, 10);
    await c.hit('ip:1', 'authentication', 1, 1000);
    await c.hit('ip:2', 'authentication', 2, 1000);
    await c.hit('ip:1', 'authentication', 3, 1000);
    await c.hit('ip:3', 'authentication', 4, 1000);
    // ip:2 went (least recently failing); ip:1 kept its two.
    expect((await c.hit('ip:2', 'authentication', 5, 1000)).authentication).toBe(1);
    expect((await c.hit('ip:3', 'authentication', 6, 1000)).authentication).toBe(2);
  });
});

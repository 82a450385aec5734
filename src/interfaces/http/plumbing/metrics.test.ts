import { describe, expect, it } from 'vitest';
import { atMostAShareOfTime } from './metrics.js';

describe('atMostAShareOfTime: a costly gauge read at most 1 % of the time', () => {
  function source(takes: number): { clock: { now: number }; reads: () => number; read: () => Promise<number> } {
    const clock = { now: 0 };
    let n = 0;
    return {
      clock,
      reads: () => n,
      // The read takes `takes` ms of the (fake) clock and answers how many reads there were.
      read: () => {
        clock.now += takes;
        return Promise.resolve(++n);
      },
    };
  }

  it('keeps an 11 ms count for 1.1 s, then reads again', async () => {
    const s = source(11);
    const gauge = atMostAShareOfTime(s.read, () => s.clock.now);
    expect(await gauge()).toBe(1);
    s.clock.now += 500;
    expect(await gauge()).toBe(1);
    s.clock.now += 500;
    expect(await gauge()).toBe(1);
    s.clock.now += 200;
    expect(await gauge()).toBe(2);
    expect(s.reads()).toBe(2);
  });

  it('reads a count that takes under 5 ms afresh on every scrape', async () => {
    const s = source(4.9);
    const gauge = atMostAShareOfTime(s.read, () => s.clock.now);
    expect(await gauge()).toBe(1);
    s.clock.now += 10;
    expect(await gauge()).toBe(2);
    s.clock.now += 10;
    expect(await gauge()).toBe(3);
  });

  it('with a floor: a quick read kept for the floor, a slow one for a hundred times its cost', async () => {
    const quick = source(1);
    const every30s = atMostAShareOfTime(quick.read, () => quick.clock.now, 30_000);
    expect(await every30s()).toBe(1);
    quick.clock.now += 29_000;
    expect(await every30s()).toBe(1);
    quick.clock.now += 1_000;
    expect(await every30s()).toBe(2);
    // The whole ledger summed in 500 ms: kept 50 s, not 30.
    const slow = source(500);
    const ledger = atMostAShareOfTime(slow.read, () => slow.clock.now, 30_000);
    expect(await ledger()).toBe(1);
    slow.clock.now += 40_000;
    expect(await ledger()).toBe(1);
    slow.clock.now += 10_000;
    expect(await ledger()).toBe(2);
  });

  it('shares one read between scrapes that overlap, and a failed read is tried again', async () => {
    let fail = true;
    let n = 0;
    const gauge = atMostAShareOfTime(() => {
      n++;
      return fail ? Promise.reject(new Error('database down')) : Promise.resolve(n);
    });
    const [a, b] = await Promise.allSettled([gauge(), gauge()]);
    expect([a.status, b.status]).toEqual(['rejected', 'rejected']);
    expect(n).toBe(1);
    fail = false;
    expect(await gauge()).toBe(2);
  });
});

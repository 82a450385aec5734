import { describe, expect, it } from 'vitest';
import { ChannelRouter, DEFAULT_ROUTER_SETTINGS, type Dispatch } from './channel-router.js';

function router(strategy: 'smart' | 'round_robin' | 'random' = 'smart') {
  let now = 0;
  const r = new ChannelRouter(
    [
      { name: 'a', operators: ['CHINA_MOBILE', 'CHINA_UNICOM'], capacity: 4 },
      { name: 'b', operators: ['CHINA_MOBILE'], capacity: 8 },
      { name: 'u', operators: ['CHINA_UNICOM'], capacity: 4 },
    ],
    { ...DEFAULT_ROUTER_SETTINGS, strategy },
    { clock: { now: () => now }, random: () => 0.5 },
  );
  return { r, advance: (ms: number) => (now += ms) };
}

function must(x: ReturnType<ChannelRouter['route']>): Dispatch {
  if (!x.ok) throw new Error(x.error.code);
  return x.value;
}

describe('channel router', () => {
  it('routes only to channels serving the operator, minus the excluded ones', () => {
    const { r } = router('round_robin');
    const picks = Array.from({ length: 4 }, () => must(r.route('CHINA_MOBILE')).channel);
    expect(picks).toEqual(['a', 'b', 'a', 'b']);
    expect(must(r.route('CHINA_MOBILE', new Set(['a']))).channel).toBe('b');
    const none = r.route('CHINA_MOBILE', new Set(['a', 'b']));
    expect(!none.ok && none.error).toMatchObject({
      code: 'NO_CHANNEL_AVAILABLE',
      details: { operator: 'CHINA_MOBILE', channels_serving: 2 },
    });
    const broadnet = r.route('CHINA_BROADNET');
    expect(!broadnet.ok && broadnet.error.details).toMatchObject({ channels_serving: 0 });
  });

  it('health shows window stats, in-flight load, breaker and per-operator scores', () => {
    const { r, advance } = router();
    const d1 = must(r.route('CHINA_MOBILE', new Set(['b'])));
    advance(100);
    r.complete(d1, 'success');
    const d2 = must(r.route('CHINA_MOBILE', new Set(['b'])));
    advance(300);
    r.complete(d2, 'failure');
    must(r.route('CHINA_MOBILE', new Set(['b']))); // still in flight
    const a = r.health().find((h) => h.channel === 'a')!;
    expect(a).toMatchObject({
      operators: ['CHINA_MOBILE', 'CHINA_UNICOM'],
      inFlight: 1,
      capacity: 4,
      routed: 3,
      breaker: { state: 'closed', consecutiveFailures: 1 },
      window: {
        samples: 2,
        successes: 1,
        failures: 1,
        successRate: 0.5,
        meanLatencyMs: 200,
        p50LatencyMs: 100,
        p99LatencyMs: 300,
      },
    });
    expect(Object.keys(a.scores).sort()).toEqual(['CHINA_MOBILE', 'CHINA_UNICOM']);
    expect(a.scores.CHINA_MOBILE).toBeGreaterThan(0);
    expect(a.scores.CHINA_MOBILE).toBeLessThan(1);
    // Outside the window (60 s) the history is gone.
    advance(61_000);
    expect(r.health().find((h) => h.channel === 'a')?.window.samples).toBe(0);
  });

  it('an open breaker takes the channel out; after the cool-down its probe goes first, alone', () => {
    const { r, advance } = router('round_robin');
    for (let i = 0; i < 5; i += 1) r.complete(must(r.route('CHINA_MOBILE', new Set(['b']))), 'timeout');
    expect(r.health().find((h) => h.channel === 'a')?.breaker.state).toBe('open');
    expect(Array.from({ length: 5 }, () => must(r.route('CHINA_MOBILE')).channel)).toEqual(['b', 'b', 'b', 'b', 'b']);
    advance(600_000);
    const probe = must(r.route('CHINA_MOBILE'));
    expect(probe).toMatchObject({ channel: 'a', probe: true });
    // While the probe is out, nothing else goes to a.
    expect(must(r.route('CHINA_MOBILE')).channel).toBe('b');
    r.complete(probe, 'success');
    expect(r.health().find((h) => h.channel === 'a')?.breaker.state).toBe('closed');
  });

  it('never has more calls in flight on a channel than its capacity: past it, the others, then a wait', () => {
    const { r } = router('round_robin');
    // a holds 4, b holds 8: the 5th to the 12th go to b alone, the 13th finds both full.
    const calls = Array.from({ length: 12 }, () => must(r.route('CHINA_MOBILE')));
    expect(calls.filter((d) => d.channel === 'a')).toHaveLength(4);
    expect(calls.filter((d) => d.channel === 'b')).toHaveLength(8);
    const full = r.route('CHINA_MOBILE');
    expect(!full.ok && full.error).toMatchObject({ code: 'NO_CHANNEL_AVAILABLE', details: { saturated: true } });
    // Saturation is no failure: both breakers stay closed; a call that ends frees its slot.
    expect(r.health().map((h) => h.breaker.state)).toEqual(['closed', 'closed', 'closed']);
    r.complete(
      calls.find((d) => d.channel === 'a')!,
      'success',
    );
    expect(must(r.route('CHINA_MOBILE')).channel).toBe('a');
  });

  it('with several instances on the channels, keeps to its share of their capacity (at least one call)', () => {
    const { r } = router('round_robin');
    r.setInstances(3);
    // a: 4 / 3 -> 1, b: 8 / 3 -> 2; the three instances together stay within 4 and 8.
    const calls = Array.from({ length: 3 }, () => must(r.route('CHINA_MOBILE')));
    expect(calls.map((d) => d.channel).sort()).toEqual(['a', 'b', 'b']);
    const full = r.route('CHINA_MOBILE');
    expect(!full.ok && full.error).toMatchObject({ code: 'NO_CHANNEL_AVAILABLE', details: { saturated: true } });
    expect(r.health().map((h) => [h.channel, h.capacity])).toEqual([
      ['a', 1],
      ['b', 2],
      ['u', 1],
    ]);
    // Alone again: the whole capacity.
    r.setInstances(1);
    expect(r.health().map((h) => h.capacity)).toEqual([4, 8, 4]);
    r.setInstances(100);
    expect(r.health().map((h) => h.capacity)).toEqual([1, 1, 1]);
  });

  it('refuses two channels with one name', () => {
    expect(
      () =>
        new ChannelRouter(
          [
            { name: 'x', operators: ['CHINA_MOBILE'], capacity: 1 },
            { name: 'x', operators: ['CHINA_UNICOM'], capacity: 1 },
          ],
          DEFAULT_ROUTER_SETTINGS,
          { clock: { now: () => 0 }, random: () => 0 },
        ),
    ).toThrow(/duplicate/);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ChannelRouter,
  DEFAULT_ROUTER_SETTINGS,
  type RouterSettings,
} from '../src/application/recharge/recharge-api.js';
import {
  dispatchRecharge,
  type DispatchRechargeDeps,
  type DispatchRechargeOutcome,
} from '../src/application/recharge/recharge-api.js';
import type { OperatorId } from '../src/domain/recharge/number-segments.js';
import { DEFAULT_OPERATOR_SETTINGS } from '../src/domain/recharge/operator-settings.js';
import type { RechargeState } from '../src/domain/recharge/recharge.js';
import type { RechargeChannel } from '../src/ports/recharge-channel.js';
import { seededRandom } from '../src/simulator/random.js';
import { SimulatedCarriers } from '../src/simulator/simulated-carriers.js';
import { type ChannelProfile, SimulatedRechargeChannel } from '../src/simulator/simulated-recharge-channel.js';
import { VirtualTime } from '../src/simulator/virtual-time.js';

const MOBILE: OperatorId = 'CHINA_MOBILE';
const good: ChannelProfile = { chaos: { latencyMs: { min: 80, max: 120 } } };

interface Setup {
  readonly vt: VirtualTime;
  readonly carriers: SimulatedCarriers;
  readonly router: ChannelRouter;
  readonly sims: Map<string, SimulatedRechargeChannel>;
  readonly deps: DispatchRechargeDeps;
  /** Recharges started so far: ids are numbered per setup, so two runs of one scenario match. */
  count: number;
}

function setup(
  channels: Array<{ name: string; profile: ChannelProfile; operators?: OperatorId[] }>,
  settings: Partial<RouterSettings> = {},
  wrap: (c: SimulatedRechargeChannel) => RechargeChannel = (c) => c,
): Setup {
  const vt = new VirtualTime(1_000_000);
  const carriers = new SimulatedCarriers();
  const sims = new Map(
    channels.map((c, i) => [
      c.name,
      new SimulatedRechargeChannel({
        name: c.name,
        carriers,
        profile: c.profile,
        seed: 11 * (i + 1),
        sleep: vt.sleep,
        now: vt.now,
      }),
    ]),
  );
  const router = new ChannelRouter(
    channels.map((c) => ({ name: c.name, operators: c.operators ?? [MOBILE], capacity: 50 })),
    { ...DEFAULT_ROUTER_SETTINGS, ...settings },
    { clock: { now: vt.now }, random: seededRandom(5) },
  );
  const deps: DispatchRechargeDeps = {
    router,
    channels: new Map([...sims].map(([n, c]) => [n, wrap(c)])),
    clock: { now: vt.now },
    sleep: vt.sleep,
    operatorSettings: DEFAULT_OPERATOR_SETTINGS,
    pollIntervalMs: 500,
    processingDeadlineMs: 30_000,
  };
  return { vt, carriers, router, sims, deps, count: 0 };
}

function recharge(
  s: Setup,
  extra: { maxAttempts?: number; onTransition?: (st: RechargeState) => void } = {},
): Promise<DispatchRechargeOutcome> {
  s.count += 1;
  const deps = extra.onTransition === undefined ? s.deps : { ...s.deps, onTransition: extra.onTransition };
  return dispatchRecharge(deps, {
    id: `rch_test${String(s.count).padStart(8, '0')}`,
    phone: '13800138000',
    amount: { amount: 10_000, currency: 'CNY' },
    operator: MOBILE,
    maxAttempts: extra.maxAttempts ?? 3,
  });
}

/** Recharges arriving every `everyMs` for `count` arrivals, all on simulated time. */
async function traffic(s: Setup, count: number, everyMs: number): Promise<DispatchRechargeOutcome[]> {
  const out: DispatchRechargeOutcome[] = [];
  await s.vt.run(
    Promise.all(
      Array.from({ length: count }, async (_, i) => {
        await s.vt.sleep(i * everyMs);
        out.push(await recharge(s));
      }),
    ),
  );
  return out;
}

/** Every recharge credited at most once, and exactly when we say it succeeded. */
function expectGroundTruth(s: Setup, outcomes: DispatchRechargeOutcome[]): void {
  for (const o of outcomes) {
    const prefix = o.state.id.replace(/[^A-Za-z0-9]/g, '');
    const credits = s.carriers.topUpsFor(`${prefix}A`);
    expect(credits.length).toBeLessThanOrEqual(1);
    if (o.state.status === 'SUCCEEDED') expect(credits).toHaveLength(1);
    if (o.state.status === 'FAILED') expect(credits).toHaveLength(0);
  }
}

describe('recharge routing and dispatch (seeded, simulated time)', () => {
  it('fails over to another channel after a definite refusal, under a new order id', async () => {
    const s = setup(
      [
        { name: 'refuses', profile: { chaos: { ...good.chaos, failureRate: 1 } } },
        { name: 'works', profile: good },
      ],
      { strategy: 'round_robin' },
    );
    const out = await s.vt.run(recharge(s));
    expect(out.state.status).toBe('SUCCEEDED');
    expect(out.failovers).toBe(1);
    expect(out.state.attempts.map((a) => [a.channel, a.failure?.code])).toEqual([
      ['refuses', 'CHANNEL_REJECTED'],
      ['works', undefined],
    ]);
    const credits = s.carriers.groundTruth;
    expect(credits).toHaveLength(1);
    expect(credits[0]).toMatchObject({ channel: 'works', orderId: out.state.attempts[1]?.key });
  });

  it('a timed-out submit is UNKNOWN and resolved by query on the same channel, never sent elsewhere', async () => {
    const s = setup(
      [
        { name: 'loses-answers', profile: { chaos: { ...good.chaos, timeoutRate: 1 } } },
        { name: 'spare', profile: good },
      ],
      { strategy: 'round_robin' },
    );
    const seen: string[] = [];
    const out = await s.vt.run(recharge(s, { onTransition: (st) => seen.push(st.status) }));
    expect(out.state.status).toBe('SUCCEEDED');
    expect(out.state.attempts).toHaveLength(1);
    expect(seen).toEqual(['SUBMITTING', 'UNKNOWN', 'SUCCEEDED']);
    expect(s.sims.get('spare')?.calls.submit).toBe(0);
    expect(s.sims.get('loses-answers')?.calls.query).toBeGreaterThan(0);
    // The client gave up after the operator's timeout (Mobile: 5 s), then asked.
    expect(out.elapsedMs).toBeGreaterThanOrEqual(5000);
    expect(s.carriers.groundTruth).toHaveLength(1);
  });

  it('a request that never arrived (503) is sent again to the same channel under the same order id', async () => {
    let first = true;
    const s = setup(
      [
        { name: 'flaky', profile: { chaos: { ...good.chaos, errorRate: 1 } } },
        { name: 'spare', profile: good },
      ],
      { strategy: 'round_robin' },
      (c) => ({
        name: c.name,
        submit: async (r) => {
          try {
            return await c.submit(r);
          } finally {
            if (first) c.chaos.set({ errorRate: 0 });
            first = false;
          }
        },
        query: (r) => c.query(r),
        check: (r) => c.check(r),
        balance: () => c.balance(),
        parseCallback: (r) => c.parseCallback(r),
      }),
    );
    const seen: string[] = [];
    const out = await s.vt.run(recharge(s, { onTransition: (st) => seen.push(st.status) }));
    expect(seen).toEqual(['SUBMITTING', 'UNKNOWN', 'SUBMITTING', 'SUCCEEDED']);
    expect(out.state.attempts).toHaveLength(1);
    expect(s.sims.get('flaky')?.calls.submit).toBe(2);
    expect(s.sims.get('spare')?.calls.submit).toBe(0);
    expect(s.carriers.groundTruth).toHaveLength(1);
  });

  it('an order still processing at the channel is followed by query until it settles', async () => {
    const s = setup([{ name: 'slow-carrier', profile: { ...good, processingMs: { min: 3000, max: 3000 } } }]);
    const out = await s.vt.run(recharge(s));
    expect(out.state.status).toBe('SUCCEEDED');
    expect(out.elapsedMs).toBeGreaterThanOrEqual(3000);
    expect(s.sims.get('slow-carrier')?.calls.query).toBeGreaterThan(0);
  });

  it('breaker: opens after repeated failures, keeps traffic away for the cool-down, probes, and closes', async () => {
    const s = setup(
      [
        { name: 'breaks', profile: { chaos: { ...good.chaos, failureRate: 1 } } },
        { name: 'steady', profile: { chaos: { latencyMs: { min: 300, max: 300 } } } },
      ],
      { strategy: 'round_robin' },
    );
    const breaks = s.sims.get('breaks')!;
    await traffic(s, 30, 1000);
    const state = (): string => s.router.health().find((h) => h.channel === 'breaks')!.breaker.state;
    expect(state()).toBe('open');
    const refusedWhileClosed = breaks.calls.submit;
    expect(refusedWhileClosed).toBe(5);
    // During the cool-down nothing goes to it.
    const during = await traffic(s, 20, 10_000);
    expect(breaks.calls.submit).toBe(refusedWhileClosed);
    expect(during.every((o) => o.state.status === 'SUCCEEDED')).toBe(true);
    // Cool-down over (10 min since opening), still broken: the probe fails and it opens again.
    await s.vt.run(s.vt.sleep(10 * 60_000));
    expect(state()).toBe('half_open');
    await traffic(s, 1, 0);
    expect(breaks.calls.submit).toBe(refusedWhileClosed + 1);
    expect(state()).toBe('open');
    // Repaired; after the next cool-down one probe succeeds and traffic returns.
    breaks.setProfile({ chaos: { failureRate: 0 } });
    await s.vt.run(s.vt.sleep(10 * 60_000));
    await traffic(s, 1, 0);
    expect(state()).toBe('closed');
    const before = breaks.calls.submit;
    await traffic(s, 10, 1000);
    expect(breaks.calls.submit - before).toBeGreaterThanOrEqual(4);
  });

  it('with every channel out, a recharge fails with NO_CHANNEL_AVAILABLE instead of waiting', async () => {
    const s = setup([{ name: 'only', profile: { chaos: { ...good.chaos, failureRate: 1 } } }]);
    const out = await traffic(s, 8, 100);
    expect(out.at(-1)?.state).toMatchObject({ status: 'FAILED', reason: 'NO_CHANNEL_AVAILABLE' });
    expectGroundTruth(s, out);
  });

  it('a degraded channel loses its traffic within the window, and smart routing beats round-robin', async () => {
    const run = async (strategy: RouterSettings['strategy']) => {
      const s = setup(
        [
          { name: 'a', profile: good },
          { name: 'b', profile: { chaos: { latencyMs: { min: 100, max: 140 } } } },
        ],
        { strategy },
      );
      const a = s.sims.get('a')!;
      await traffic(s, 300, 200); // 60 s: a is best
      const beforeShare = s.router.health().find((h) => h.channel === 'a')!.routed / 300;
      a.setProfile({ chaos: { latencyMs: { min: 1500, max: 2000 }, failureRate: 0.2 } });
      const routedAt = (): number => s.router.health().find((h) => h.channel === 'a')!.routed;
      await traffic(s, 150, 200); // first 30 s of the incident
      const mid = routedAt();
      const late = await traffic(s, 150, 200); // next 30 s
      return { beforeShare, lateShare: (routedAt() - mid) / 150, late, s };
    };
    const smart = await run('smart');
    expect(smart.beforeShare).toBeGreaterThan(0.3);
    expect(smart.lateShare).toBeLessThan(0.1);
    const rr = await run('round_robin');
    expect(rr.lateShare).toBeGreaterThan(0.4);
    const mean = (os: DispatchRechargeOutcome[]) => os.reduce((x, o) => x + o.elapsedMs, 0) / os.length;
    expect(mean(smart.late)).toBeLessThan(mean(rr.late));
    expectGroundTruth(smart.s, smart.late);
  });

  it('under mixed chaos no recharge is credited twice, and SUCCEEDED means credited exactly once', async () => {
    const chaos = { latencyMs: { min: 50, max: 2000 }, failureRate: 0.2, timeoutRate: 0.1, errorRate: 0.1 };
    const s = setup([
      { name: 'x', profile: { chaos, processingMs: { min: 0, max: 2000 } } },
      { name: 'y', profile: { chaos: { ...chaos, latencyMs: { min: 100, max: 6000 } } } },
      { name: 'z', profile: { chaos } },
    ]);
    const out = await traffic(s, 400, 50);
    const count = (status: string) => out.filter((o) => o.state.status === status).length;
    // Breakers take channels out under this much chaos, so some recharges find none left.
    expect(count('SUCCEEDED')).toBeGreaterThan(200);
    expect(count('FAILED')).toBeGreaterThan(0);
    expect(out.some((o) => o.failovers > 0)).toBe(true);
    expectGroundTruth(s, out);
  });

  it('the same seed routes the same way', async () => {
    const once = async () => {
      const s = setup([
        { name: 'p', profile: { chaos: { latencyMs: { min: 50, max: 400 }, failureRate: 0.1 } } },
        { name: 'q', profile: { chaos: { latencyMs: { min: 80, max: 300 }, failureRate: 0.05, timeoutRate: 0.02 } } },
      ]);
      const out = await traffic(s, 200, 30);
      return {
        routed: s.router.health().map((h) => h.routed),
        statuses: out.map((o) => `${o.state.id}:${o.state.status}:${o.elapsedMs}`).sort(),
      };
    };
    expect(await once()).toEqual(await once());
  });

  it(
    'property: whatever the chaos, no recharge is credited twice ' +
      'and a new channel follows only a definite failure',
    async () => {
      const rate = fc.double({ min: 0, max: 0.4, noNaN: true });
      await fc.assert(
        fc.asyncProperty(
          fc.record({
            failureRate: rate,
            timeoutRate: rate,
            errorRate: rate,
            processing: fc.integer({ min: 0, max: 3000 }),
            maxAttempts: fc.integer({ min: 1, max: 3 }),
          }),
          async ({ failureRate, timeoutRate, errorRate, processing, maxAttempts }) => {
            const chaos = { latencyMs: { min: 20, max: 7000 }, failureRate, timeoutRate, errorRate };
            const s = setup(
              ['p', 'q', 'r'].map((name) => ({ name, profile: { chaos, processingMs: { min: 0, max: processing } } })),
            );
            const out: DispatchRechargeOutcome[] = [];
            await s.vt.run(
              Promise.all(
                Array.from({ length: 40 }, async (_, i) => {
                  await s.vt.sleep(i * 100);
                  out.push(await recharge(s, { maxAttempts }));
                }),
              ),
            );
            expectGroundTruth(s, out);
            for (const o of out) {
              expect(o.state.attempts.length).toBeLessThanOrEqual(maxAttempts);
              expect(o.state.attempts.slice(0, -1).every((a) => a.failure !== undefined && !a.failure.final)).toBe(
                true,
              );
            }
          },
        ),
        { numRuns: 15, seed: 42 },
      );
    },
  );
});

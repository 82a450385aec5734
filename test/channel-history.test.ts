import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/adapters/system/system-clock.js';
import type { App } from '../src/composition/create-app.js';
import type { Money } from '../src/domain/money.js';
import { ok } from '../src/domain/result.js';
import type { RechargeChannel, RechargeChannelResult, RechargeSubmitRequest } from '../src/ports/recharge-channel.js';
import { ENGINES, startCluster, type Cluster } from './support/cluster.js';
import { jsonHeaders, topUpWallet } from './support/recharge-harness.js';

/**
 * GET /api/v1/channels/history, the channels screen's charts, through the API on an injected
 * clock: 10-second buckets, a ring of 3 hours (older buckets dropped, however long it runs), the
 * bucket in which a failing channel's breaker opened, and success rates and latency quantiles
 * equal to what the calls did. And a batch bigger than the channels' capacity: the healthy
 * channel's breaker stays closed and every row is recharged (the router never sends a channel
 * more calls at once than its capacity). SQLite and PostgreSQL (the history is the instance's
 * own memory; the recharges it counts go through each engine).
 */

interface Bucket {
  start: number;
  calls: number;
  successes: number;
  failures: number;
  timeouts: number;
  success_rate: number | null;
  p50_latency_ms: number | null;
  p99_latency_ms: number | null;
  routed: number;
  breaker: 'closed' | 'open' | 'half_open';
  breaker_opened: boolean;
}
interface History {
  bucket_ms: number;
  strategy: string;
  weights: { latency: number; success: number; load: number };
  data: Array<{ channel: string; buckets: Bucket[] }>;
}

/** A channel whose calls take exactly the time the test says, on the test's clock, and end as it says. */
class ScriptedChannel implements RechargeChannel {
  readonly latencies: number[] = [];
  private n = 0;
  constructor(
    readonly name: string,
    private readonly clock: ManualClock,
    private readonly outcome: 'succeeded' | 'failed',
  ) {}
  submit(req: RechargeSubmitRequest): Promise<RechargeChannelResult> {
    const ms = this.latencies.shift() ?? 10;
    this.clock.advance(ms);
    this.n += 1;
    return Promise.resolve(
      this.outcome === 'succeeded'
        ? { status: 'succeeded', orderId: req.orderId, channelOrderId: `${this.name}-${this.n}` }
        : { status: 'failed', orderId: req.orderId, failureCode: 'REFUSED', final: true },
    );
  }
  query(req: { orderId: string }): Promise<RechargeChannelResult> {
    return Promise.resolve({ status: 'not_found', orderId: req.orderId });
  }
  check(): Promise<{ rechargeable: true }> {
    return Promise.resolve({ rechargeable: true });
  }
  balance(): Promise<Money> {
    return Promise.resolve({ amount: 1_000_000_000, currency: 'CNY' });
  }
  parseCallback() {
    return ok({
      orderId: '',
      channelOrderId: '',
      status: 'failed' as const,
      reply: { status: 200, contentType: 'text/plain', body: '' },
    });
  }
}

const BUCKET = 10_000;
/** A bucket's start plus 1 s: every call of a step lands in one bucket. */
const T0 = Date.UTC(2026, 11, 5, 8, 0, 0) + 1_000;

describe.each(ENGINES)('the channels’ history on %s', (engine) => {
  let cluster: Cluster | undefined;
  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
  });

  async function start(clock: ManualClock, channels: Map<string, RechargeChannel>): Promise<App> {
    cluster = await startCluster(
      engine,
      {
        trusted_actions: ['recharge_phone', 'wallet_top_up'],
        // Nothing waits on a timer: each recharge runs in its request, its calls on the test's clock.
        server: { wait_for_completion_ms: 60_000 },
        rate_limit: { enabled: false },
        recharge: {
          routing: { strategy: 'round_robin' },
          channels: {
            mobile: { type: 'simulator', operators: ['CHINA_MOBILE'] },
            unicom: { type: 'simulator', operators: ['CHINA_UNICOM'] },
          },
        },
      },
      () => ({ clock, rechargeChannels: channels }),
      1,
    );
    const app = cluster.apps[0]!;
    await topUpWallet(app, 'alice', 1_000_000);
    return app;
  }

  const recharge = async (app: App, phone: string, n: number): Promise<number> => {
    const res = await app.http.inject({
      method: 'POST',
      url: '/api/v1/recharges',
      headers: jsonHeaders('alice', `rc-${phone}-${n}`),
      payload: { phone, amount: 1000 },
    });
    return res.statusCode;
  };
  const history = async (app: App, since?: number): Promise<History> => {
    const res = await app.http.inject({
      method: 'GET',
      url: `/api/v1/channels/history${since === undefined ? '' : `?since=${since}`}`,
    });
    expect(res.statusCode, res.body).toBe(200);
    return res.json<History>();
  };
  const of = (h: History, channel: string): Bucket[] => h.data.find((c) => c.channel === channel)!.buckets;

  it('buckets of 10 s whose figures are what the calls did, and the bucket where a breaker opened', async () => {
    const clock = new ManualClock(T0);
    const mobile = new ScriptedChannel('mobile', clock, 'succeeded');
    const unicom = new ScriptedChannel('unicom', clock, 'failed');
    const app = await start(
      clock,
      new Map<string, RechargeChannel>([
        ['mobile', mobile],
        ['unicom', unicom],
      ]),
    );
    // First bucket: four calls of 100, 200, 300 and 400 ms, all succeeded; unicom refuses one.
    mobile.latencies.push(100, 200, 300, 400);
    for (let i = 0; i < 4; i++) expect(await recharge(app, '13800138000', i)).toBe(201);
    expect(await recharge(app, '13012345678', 0)).toBe(422);
    // The next bucket: unicom refuses four more, five in a row, and its breaker opens; the next two find no channel.
    clock.set(T0 + BUCKET);
    for (let i = 1; i <= 6; i++) expect(await recharge(app, '13012345678', i)).toBe(422);
    clock.set(T0 + 2 * BUCKET);

    const h = await history(app);
    expect(h.bucket_ms).toBe(BUCKET);
    expect(h.strategy).toBe('round_robin');
    const m = of(h, 'mobile');
    // Contiguous 10 s buckets, aligned on 10 s, the open one last.
    expect(m.map((b) => b.start)).toEqual([T0 - 1_000, T0 - 1_000 + BUCKET, T0 - 1_000 + 2 * BUCKET]);
    expect(m[0]).toMatchObject({
      calls: 4,
      successes: 4,
      failures: 0,
      timeouts: 0,
      success_rate: 1,
      p50_latency_ms: 200,
      p99_latency_ms: 400,
      routed: 4,
      breaker: 'closed',
      breaker_opened: false,
    });
    // Quiet buckets: no calls, no rate, no latency.
    expect(m[1]).toMatchObject({ calls: 0, success_rate: null, p50_latency_ms: null, breaker_opened: false });
    const u = of(h, 'unicom');
    // One refusal in the first bucket: its breaker still closed there.
    expect(u[0]).toMatchObject({ calls: 1, failures: 1, success_rate: 0, breaker: 'closed', breaker_opened: false });
    // Four more in the second (the last two were never routed): open in that bucket, and still open after.
    expect(u[1]).toMatchObject({ calls: 4, failures: 4, success_rate: 0, routed: 4, breaker_opened: true });
    expect(u[2]).toMatchObject({ calls: 0, breaker: 'open', breaker_opened: true });
    // The healthy channel never counted the other's failures.
    expect(m.every((b) => !b.breaker_opened && b.breaker === 'closed')).toBe(true);
    // `since` keeps only the later buckets.
    expect(of(await history(app, T0), 'mobile').map((b) => b.start)).toEqual([
      T0 - 1_000 + BUCKET,
      T0 - 1_000 + 2 * BUCKET,
    ]);
  }, 60_000);

  it('keeps 3 hours of buckets however long it runs: older ones are dropped', async () => {
    const clock = new ManualClock(T0);
    const mobile = new ScriptedChannel('mobile', clock, 'succeeded');
    const app = await start(clock, new Map<string, RechargeChannel>([['mobile', mobile]]));
    expect(await recharge(app, '13800138000', 0)).toBe(201);
    // Four hours later (the history fills the quiet stretch with empty buckets, at most a ring's worth).
    clock.set(T0 + 4 * 3_600_000);
    expect(await recharge(app, '13800138000', 1)).toBe(201);
    const m = of(await history(app), 'mobile');
    // 1 080 closed buckets (3 h of 10 s) and the open one.
    expect(m).toHaveLength(1_081);
    const starts = m.map((b) => b.start);
    expect(starts.every((s, i) => i === 0 || s - starts[i - 1]! === BUCKET)).toBe(true);
    expect(starts.at(-1)! - starts[0]!).toBe(1_080 * BUCKET);
    // The first call's bucket (four hours back) is gone; the last call is in the open bucket.
    expect(starts[0]).toBeGreaterThan(T0);
    expect(m.reduce((n, b) => n + b.calls, 0)).toBe(1);
    expect(m.at(-1)).toMatchObject({ calls: 1, successes: 1 });
    // And it stays bounded: another 3 hours of calls every 10 minutes.
    for (let i = 1; i <= 18; i++) {
      clock.set(T0 + 4 * 3_600_000 + i * 600_000);
      expect(await recharge(app, '13800138000', 1 + i)).toBe(201);
    }
    const later = of(await history(app), 'mobile');
    expect(later).toHaveLength(1_081);
    // Exactly 3 h back from the open bucket: the call made at four hours is in the oldest bucket kept.
    expect(later[0]).toMatchObject({ start: m.at(-1)!.start, calls: 1 });
    expect(later.reduce((n, b) => n + b.calls, 0)).toBe(19);
  }, 60_000);
});

describe.each(ENGINES)('a batch bigger than its channels’ capacity on %s', (engine) => {
  let cluster: Cluster | undefined;
  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
  });

  // The console's operations test saw the healthy channel's breaker open under its 200-row batch:
  // 128 jobs at once, round-robin, sent 64 calls at once to each channel of capacity 50; past it a
  // channel turns calls away (CHANNEL_BUSY), five of those in a row opened its breaker, and with
  // both breakers open 150 of the 200 rows failed with NO_CHANNEL_AVAILABLE. The router now keeps
  // each channel at its capacity, and a call waits for a free slot.
  it('keeps the healthy channel’s breaker closed and recharges every row', async () => {
    cluster = await startCluster(
      engine,
      {
        trusted_actions: ['recharge_phone', 'recharge_batch', 'wallet_top_up'],
        rate_limit: { enabled: false },
        worker: { concurrency: 128 },
        recharge: {
          routing: { strategy: 'round_robin' },
          channels: {
            'sim-good': { type: 'simulator', operators: ['CHINA_MOBILE'], latency_ms: { min: 30, max: 120 } },
            'sim-bad': { type: 'simulator', operators: ['CHINA_MOBILE'], failure_rate: 1 },
          },
        },
      },
      () => ({}),
      1,
    );
    const app = cluster.apps[0]!;
    app.start();
    await topUpWallet(app, 'alice', 1_000_000);
    const csv = ['phone,amount', ...Array.from({ length: 200 }, (_, i) => `1380013${String(i).padStart(4, '0')},1000`)];
    const res = await app.http.inject({
      method: 'POST',
      url: '/api/v1/recharges/batch',
      headers: { 'content-type': 'text/csv', 'idempotency-key': 'b-200', 'x-user-id': 'alice' },
      payload: `${csv.join('\n')}\n`,
    });
    expect(res.statusCode, res.body).toBe(202);
    const id = res.json<{ batch: { id: string } }>().batch.id;
    let most = 0;
    let batch: { done: boolean; succeeded: number; failed: number } | undefined;
    for (const end = Date.now() + 60_000; Date.now() < end;) {
      const channels = (await app.http.inject({ method: 'GET', url: '/api/v1/channels' })).json<{
        data: Array<{ channel: string; in_flight: number; capacity: number }>;
      }>().data;
      for (const c of channels) most = Math.max(most, c.in_flight);
      batch = (
        await app.http.inject({ method: 'GET', url: `/api/v1/batches/${id}`, headers: { 'x-user-id': 'alice' } })
      ).json<{ batch: typeof batch }>().batch;
      if (batch?.done === true) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(batch).toMatchObject({ done: true, succeeded: 200, failed: 0 });
    expect(most).toBeLessThanOrEqual(50);
    const h = (await app.http.inject({ method: 'GET', url: '/api/v1/channels/history' })).json<History>();
    const good = h.data.find((c) => c.channel === 'sim-good')!.buckets;
    const bad = h.data.find((c) => c.channel === 'sim-bad')!.buckets;
    expect(good.some((b) => b.breaker_opened)).toBe(false);
    expect(good.reduce((n, b) => n + b.failures + b.timeouts, 0)).toBe(0);
    expect(good.reduce((n, b) => n + b.successes, 0)).toBe(200);
    expect(bad.some((b) => b.breaker_opened)).toBe(true);
  }, 120_000);
});

describe('the channels’ history of a quiet stretch', () => {
  let cluster: Cluster | undefined;
  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
  });

  // Nobody asked for the history while the channel was quiet: the buckets of that stretch are made
  // when the next call comes, and must show the state as it was then, not the state that call made.
  it('shows a breaker open through its cool-down even when nobody looked meanwhile', async () => {
    const clock = new ManualClock(T0);
    const unicom = new ScriptedChannel('unicom', clock, 'failed');
    cluster = await startCluster(
      'sqlite',
      {
        trusted_actions: ['recharge_phone', 'wallet_top_up'],
        server: { wait_for_completion_ms: 60_000 },
        rate_limit: { enabled: false },
        recharge: { channels: { unicom: { type: 'simulator', operators: ['CHINA_UNICOM'] } } },
      },
      () => ({ clock, rechargeChannels: new Map<string, RechargeChannel>([['unicom', unicom]]) }),
      1,
    );
    const app = cluster.apps[0]!;
    await topUpWallet(app, 'alice', 1_000_000);
    const recharge = (n: number) =>
      app.http.inject({
        method: 'POST',
        url: '/api/v1/recharges',
        headers: jsonHeaders('alice', `rc-q-${n}`),
        payload: { phone: '13012345678', amount: 1000 },
      });
    for (let i = 0; i < 5; i++) expect((await recharge(i)).statusCode).toBe(422);
    // Quiet for 15 minutes (the cool-down is 10), then the probe goes, and fails.
    clock.set(T0 + 15 * 60_000);
    expect((await recharge(5)).statusCode).toBe(422);
    const h = (await app.http.inject({ method: 'GET', url: '/api/v1/channels/history' })).json<History>();
    const u = h.data.find((c) => c.channel === 'unicom')!.buckets;
    const at = (t: number) => u.find((b) => b.start <= t && t < b.start + BUCKET)!;
    // Open in the bucket it opened in, and through the cool-down.
    for (const minute of [0, 1, 5, 9])
      expect(at(T0 + minute * 60_000), `minute ${minute}`).toMatchObject({ breaker: 'open', breaker_opened: true });
    // After it: half-open (a probe may go), until the probe's bucket, where it opened again.
    expect(at(T0 + 12 * 60_000)).toMatchObject({ breaker: 'half_open', breaker_opened: false });
    expect(at(T0 + 15 * 60_000)).toMatchObject({ calls: 1, breaker: 'open', breaker_opened: true });
  }, 60_000);
});

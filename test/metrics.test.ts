import SqliteDatabase from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../src/composition/create-app.js';
import { SimulatedCarriers } from '../src/simulator/simulated-carriers.js';
import { type ChannelProfile, SimulatedRechargeChannel } from '../src/simulator/simulated-recharge-channel.js';
import { sample } from './support/metric-sample.js';
import { startTestApp, tempDbPath } from './support/test-app.js';

const ALL = ['CHINA_MOBILE', 'CHINA_UNICOM', 'CHINA_TELECOM', 'CHINA_BROADNET', 'VIRTUAL'];
const quick: ChannelProfile = { chaos: { latencyMs: { min: 1, max: 3 } } };
const refusing: ChannelProfile = { chaos: { latencyMs: { min: 1, max: 2 }, failureRate: 1 } };

const apps: App[] = [];
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close().catch(() => undefined);
});

/** Two simulated channels, round-robin; the breaker opens after two failures in a row. */
async function start(profiles: Record<string, ChannelProfile>): Promise<{ app: App; carriers: SimulatedCarriers }> {
  const carriers = new SimulatedCarriers();
  const channels = new Map(
    Object.entries(profiles).map(([name, profile], i) => [
      name,
      new SimulatedRechargeChannel({ name, carriers, profile, seed: 3 + i }),
    ]),
  );
  const { app } = await startTestApp(
    {
      worker: { poll_interval_ms: 20, retry_base_ms: 10, retry_max_ms: 50 },
      server: { port: 0, wait_for_completion_ms: 5000 },
      recharge: {
        max_attempts: 2,
        poll_interval_ms: 10,
        processing_deadline_ms: 1000,
        routing: { strategy: 'round_robin', breaker: { consecutive_failures: 2 } },
        channels: Object.fromEntries(
          Object.keys(profiles).map((n) => [n, { type: 'simulator', operators: ALL, capacity: 20 }]),
        ),
      },
    },
    { carriers, rechargeChannels: channels },
  );
  apps.push(app);
  return { app, carriers };
}

async function scrape(app: App): Promise<{ status: number; type: string; text: string }> {
  // No X-User-Id: an ops route, like /healthz and /readyz.
  const res = await app.http.inject({ method: 'GET', url: '/metrics' });
  return { status: res.statusCode, type: String(res.headers['content-type']), text: res.body };
}

describe('GET /metrics', () => {
  it(
    'shows recharge outcomes, failovers, channel health from the router, gateway breakers, ' +
      'job depth and process metrics',
    async () => {
      const { app, carriers } = await start({ 'sim-bad': refusing, 'sim-good': quick });
      const user = { 'content-type': 'application/json', 'x-user-id': 'mia' };
      expect(
        (
          await app.http.inject({
            method: 'POST',
            url: '/api/v1/wallet/top-ups',
            headers: user,
            payload: { amount: 100_000 },
          })
        ).statusCode,
      ).toBe(201);
      const n = 6;
      for (let i = 0; i < n; i++) {
        const res = await app.http.inject({
          method: 'POST',
          url: '/api/v1/recharges',
          headers: user,
          payload: { phone: `1380013800${i}`, amount: 1000 },
        });
        expect(res.statusCode, res.body).toBe(201);
      }
      expect(carriers.groundTruth).toHaveLength(n);

      const m = await scrape(app);
      expect(m.status).toBe(200);
      expect(m.type).toMatch(/^text\/plain; version=0\.0\.4/);
      // Counted where the router learns each call's fate: every recharge succeeded on sim-good;
      // sim-bad refused until its breaker opened, and each refusal was failed over to sim-good.
      expect(sample(m.text, 'autoglm_recharge_attempts_total', { channel: 'sim-good', outcome: 'success' })).toBe(n);
      const refused = sample(m.text, 'autoglm_recharge_attempts_total', { channel: 'sim-bad', outcome: 'failure' });
      expect(refused).toBe(2);
      expect(
        sample(m.text, 'autoglm_recharge_attempts_total', { channel: 'sim-bad', outcome: 'success' }),
      ).toBeUndefined();
      expect(
        sample(m.text, 'autoglm_recharge_failovers_total', { channel: 'sim-good', operator: 'CHINA_MOBILE' }),
      ).toBe(refused);
      // Gauges read from the router's health on scrape.
      expect(sample(m.text, 'autoglm_recharge_channel_breaker_state', { channel: 'sim-bad' })).toBe(2);
      expect(sample(m.text, 'autoglm_recharge_channel_breaker_state', { channel: 'sim-good' })).toBe(0);
      expect(sample(m.text, 'autoglm_recharge_channel_capacity', { channel: 'sim-good' })).toBe(20);
      expect(sample(m.text, 'autoglm_recharge_channel_in_flight', { channel: 'sim-good' })).toBe(0);
      expect(sample(m.text, 'autoglm_recharge_channel_window_samples', { channel: 'sim-good' })).toBe(n);
      expect(sample(m.text, 'autoglm_recharge_channel_window_success_rate', { channel: 'sim-good' })).toBe(1);
      expect(sample(m.text, 'autoglm_recharge_channel_window_success_rate', { channel: 'sim-bad' })).toBe(0);
      expect(
        sample(m.text, 'autoglm_recharge_channel_window_p99_latency_seconds', { channel: 'sim-good' }),
      ).toBeGreaterThan(0);
      expect(
        sample(m.text, 'autoglm_recharge_channel_window_mean_latency_seconds', { channel: 'sim-good' }),
      ).toBeGreaterThan(0);
      const good = sample(m.text, 'autoglm_recharge_channel_score', { channel: 'sim-good', operator: 'CHINA_MOBILE' });
      const bad = sample(m.text, 'autoglm_recharge_channel_score', { channel: 'sim-bad', operator: 'CHINA_MOBILE' });
      // The same numbers as GET /api/v1/channels, not a copy kept elsewhere (which channel scores
      // higher depends on measured latency, so the test compares with the router, not between them).
      const health = (await app.http.inject({ method: 'GET', url: '/api/v1/channels' })).json<{
        data: Array<{ channel: string; window: { samples: number }; scores: Record<string, number> }>;
      }>().data;
      const scoreOf = (channel: string): number | undefined =>
        health.find((h) => h.channel === channel)?.scores.CHINA_MOBILE;
      expect(good).toBeCloseTo(scoreOf('sim-good') ?? -1, 6);
      expect(bad).toBeCloseTo(scoreOf('sim-bad') ?? -1, 6);
      expect(health.find((h) => h.channel === 'sim-good')?.window.samples).toBe(n);

      expect(sample(m.text, 'autoglm_payment_gateway_breaker_state', { gateway: app.config.payment_gateway })).toBe(0);
      expect(sample(m.text, 'autoglm_jobs', { status: 'queued' })).toBe(0);
      expect(sample(m.text, 'autoglm_jobs', { status: 'running' })).toBe(0);
      expect(m.text).toMatch(/^process_cpu_user_seconds_total \d/m);
      expect(m.text).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
    },
  );

  it('counts per server: a second app in the same process starts from zero, and queued jobs show', async () => {
    const first = await start({ 'sim-a': quick });
    const user = { 'content-type': 'application/json', 'x-user-id': 'noa' };
    expect(
      (
        await first.app.http.inject({
          method: 'POST',
          url: '/api/v1/wallet/top-ups',
          headers: user,
          payload: { amount: 5000 },
        })
      ).statusCode,
    ).toBe(201);
    expect(
      (
        await first.app.http.inject({
          method: 'POST',
          url: '/api/v1/recharges',
          headers: user,
          payload: { phone: '13800138000', amount: 1000 },
        })
      ).statusCode,
    ).toBe(201);
    const second = await start({ 'sim-a': quick });
    expect(
      sample((await scrape(first.app)).text, 'autoglm_recharge_attempts_total', {
        channel: 'sim-a',
        outcome: 'success',
      }),
    ).toBe(1);
    const other = (await scrape(second.app)).text;
    expect(sample(other, 'autoglm_recharge_attempts_total', { channel: 'sim-a', outcome: 'success' })).toBeUndefined();
    expect(sample(other, 'autoglm_recharge_channel_window_samples', { channel: 'sim-a' })).toBe(0);

    // A batch queued while nobody works the queue shows as depth (the worker is not started here).
    const batch = await second.app.http.inject({
      method: 'POST',
      url: '/api/v1/wallet/top-ups',
      headers: user,
      payload: { amount: 5000 },
    });
    expect(batch.statusCode).toBe(201);
    const queued = await second.app.http.inject({
      method: 'POST',
      url: '/api/v1/recharges/batch',
      headers: { 'content-type': 'text/csv', 'x-user-id': 'noa' },
      payload: '13800138001,1000\n13800138002,1000\n',
    });
    expect(queued.statusCode, queued.body).toBe(202);
    // Its rows become recharges (each with a queued job) right after the file is accepted.
    const id = queued.json<{ batch: { id: string } }>().batch.id;
    for (let i = 0; i < 100; i++) {
      const view = (
        await second.app.http.inject({ method: 'GET', url: `/api/v1/batches/${id}`, headers: { 'x-user-id': 'noa' } })
      ).json<{ batch: { accepted: number } }>();
      if (view.batch.accepted === 2) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    // A gauge may be a moment old when counting it is slow (at most a hundred times its cost).
    let depth: number | undefined;
    for (let i = 0; i < 100 && depth !== 2; i++) {
      depth = sample((await scrape(second.app)).text, 'autoglm_jobs', { status: 'queued' });
      if (depth !== 2) await new Promise((r) => setTimeout(r, 20));
    }
    expect(depth).toBe(2);
  });
});

describe('GET /metrics: what the alert rules in deploy/ page on', () => {
  it(
    'shows the age of the oldest due job (not jobs queued for later), unbalanced journals, ' +
      'open review flags and gateway calls',
    async () => {
      const db = tempDbPath();
      const first = (await startTestApp({}, {}, db)).app;
      apps.push(first);
      const placed = await first.http.inject({
        method: 'POST',
        url: '/api/v1/order',
        headers: { 'content-type': 'application/json', 'x-user-id': 'mia' },
        payload: { drink: 'latte', size: 'medium' },
      });
      expect(placed.statusCode, placed.body).toBe(201);
      const healthy = (await scrape(first)).text;
      expect(sample(healthy, 'autoglm_ledger_unbalanced_journals')).toBe(0);
      expect(sample(healthy, 'autoglm_ledger_imbalance_fen')).toBe(0);
      expect(sample(healthy, 'autoglm_review_flags_open')).toBe(0);
      const gateway = { gateway: first.config.payment_gateway };
      expect(sample(healthy, 'autoglm_payment_gateway_calls_total', gateway)).toBeGreaterThan(0);
      expect(sample(healthy, 'autoglm_payment_gateway_call_failures_total', gateway)).toBe(0);

      const tenant = first.config.tenant.default_id;
      const now = Date.now();
      const raw = new SqliteDatabase(db);
      const job = raw.prepare(
        `insert into jobs (id, tenant_id, kind, resource_id, payload_json, priority, run_at, attempts, max_attempts,
           status, created_by, created_at, updated_at)
         values (?, ?, 'notice', 'r1', '{}', 0, ?, 0, 5, 'queued', 'test', ?, ?)`,
      );
      // An expiry an hour from now is not a backlog.
      job.run('job_later', tenant, now + 3_600_000, now, now);
      expect(sample((await scrape(first)).text, 'autoglm_jobs_oldest_due_age_seconds')).toBe(0);
      job.run('job_due', tenant, now - 90_000, now, now);
      expect(sample((await scrape(first)).text, 'autoglm_jobs_oldest_due_age_seconds')).toBeGreaterThanOrEqual(90);

      // A journal with one leg, and a flag nobody resolved: read by an instance that has not read the books yet.
      raw
        .prepare(
          `insert into ledger_postings (journal_id, line, tenant_id, account, amount, currency, kind, resource_type,
             resource_id, actor, at)
           values ('jnl_bad', 1, ?, 'cash', 700, 'CNY', 'capture', 'payment', 'p1', 'test', ?)`,
        )
        .run(tenant, now);
      raw
        .prepare(
          `insert into review_flags (id, tenant_id, resource_type, resource_id, code, detail_json, created_at)
             values ('flg_1', ?, 'payment', 'p1', 'AMOUNT_MISMATCH', '{}', ?)`,
        )
        .run(tenant, now);
      raw.close();
      const second = (await startTestApp({}, {}, db)).app;
      apps.push(second);
      const broken = (await scrape(second)).text;
      expect(sample(broken, 'autoglm_ledger_unbalanced_journals')).toBe(1);
      expect(sample(broken, 'autoglm_ledger_imbalance_fen')).toBe(700);
      expect(sample(broken, 'autoglm_review_flags_open')).toBe(1);
    },
  );
});

import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/adapters/system/system-clock.js';
import { untilNext } from '../src/application/reconciliation/daily.js';
import type { App } from '../src/composition/create-app.js';
import { type Cluster, ENGINES, startCluster } from './support/cluster.js';
import { advanceBy, eventually } from './support/eventually.js';
import { adminKeyOf } from './support/test-app.js';

/**
 * The scheduled daily reconciliation: at the configured time (Asia/Shanghai) yesterday is
 * reconciled once per source that gives a statement — each embedded gateway and recharge
 * channel — and not before that time.
 */
/** Every source of the embedded default that gives a statement: its two gateways and two recharge channels. */
const SOURCES = ['secure-pay-v3', 'sim-fast', 'sim-slow', 'simulator'];
let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

interface Summary {
  source: string;
  date: string;
  status: string;
  created_by: string;
}

async function runs(a: App): Promise<Summary[]> {
  const r = await a.http.inject({
    method: 'GET',
    url: '/api/v1/reconciliations?limit=50',
    headers: { authorization: `Bearer ${adminKeyOf(a)}` },
  });
  expect(r.statusCode, r.body).toBe(200);
  return r.json<{ data: Summary[] }>().data;
}

describe('untilNext', () => {
  it('is the time until the next HH:MM of a Shanghai day, today or tomorrow', () => {
    const nineShanghai = Date.parse('2026-11-21T09:00:00+08:00');
    expect(untilNext(nineShanghai, 10 * 60 + 30, 480)).toBe(90 * 60_000);
    expect(untilNext(nineShanghai, 8 * 60, 480)).toBe(23 * 3_600_000);
  });
});

describe.each(ENGINES)('the daily reconciliation job, on %s', (engine) => {
  /** One instance with the daily run at 06:30 Shanghai, its clock at 06:00 the day after the 20th. */
  const startDaily = async (): Promise<{ clock: ManualClock; a: App }> => {
    const clock = new ManualClock(Date.parse('2026-11-21T06:00:00+08:00'));
    cluster = await startCluster(
      engine,
      { log: { level: 'silent' }, reconciliation: { schedule: { enabled: true, at: '06:30' } } },
      () => ({ clock }),
      1,
    );
    return { clock, a: cluster.apps[0]! };
  };

  it('runs yesterday for every source at the configured time, once, and not before', async () => {
    const { clock, a } = await startDaily();
    a.start();
    await advanceBy(clock, 25 * 60_000, 60_000);
    expect(await runs(a)).toEqual([]);
    const done = await eventually(
      clock,
      () => runs(a),
      (rs) => rs.length >= SOURCES.length,
      { stepMs: 60_000, maxMs: 20 * 60_000 },
    );
    expect(done.map((r) => r.source).sort()).toEqual(SOURCES);
    expect(done.every((r) => r.date === '2026-11-20' && r.status === 'done')).toBe(true);
    // A day later it is the next day's turn; the first day is not run again.
    await advanceBy(clock, 24 * 3_600_000, 3_600_000);
    const later = await eventually(
      clock,
      () => runs(a),
      (rs) => rs.length >= 2 * SOURCES.length,
      { stepMs: 60_000, maxMs: 20 * 60_000 },
    );
    expect(later.filter((r) => r.date === '2026-11-20')).toHaveLength(SOURCES.length);
    expect(later.filter((r) => r.date === '2026-11-21')).toHaveLength(SOURCES.length);
  }, 120_000);

  it('a statement not ready yet is tried again half-hourly; the early tries leave no failed run', async () => {
    const { clock, a } = await startDaily();
    // The simulator gateway's bill is not ready for its first two asks (as a real gateway's bill
    // may come late in the morning).
    const gateway = a.deps.gateways.get('simulator') as { statement: (date: string) => Promise<unknown> };
    const statement = gateway.statement.bind(gateway);
    let asked = 0;
    gateway.statement = (date) => (++asked <= 2 ? Promise.reject(new Error('bill not ready')) : statement(date));
    a.start();
    const done = await eventually(
      clock,
      () => runs(a),
      (rs) => rs.some((r) => r.source === 'simulator'),
      { stepMs: 5 * 60_000, maxMs: 3 * 3_600_000 },
    );
    expect(asked).toBe(3);
    expect(done.filter((r) => r.source === 'simulator').map((r) => r.status)).toEqual(['done']);
    expect(done.map((r) => r.status)).not.toContain('failed');
  }, 120_000);
});

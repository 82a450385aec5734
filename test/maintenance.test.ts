import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/adapters/system/system-clock.js';
import type { App } from '../src/composition/create-app.js';
import { loadConfig } from '../src/config/load-config.js';
import { advanceBy, eventually } from './support/eventually.js';
import { startTestApp } from './support/test-app.js';

let app: App | undefined;
afterEach(async () => {
  await app?.close(0);
  app = undefined;
});

const HOUR = 3_600_000;
const T0 = Date.parse('2026-12-01T08:00:00Z');

describe('maintenance sweep', () => {
  it(
    'on its timer, removes expired keys, nonces, conversations and finished jobs past retention — ' +
      'in bounded batches — and counts them in /metrics',
    async () => {
      const clock = new ManualClock(T0);
      app = (
        await startTestApp(
          {
            maintenance: {
              interval_ms: 60_000,
              done_jobs_retention_hours: 1,
              failed_jobs_retention_hours: 2,
              batch: 10,
            },
            rules: { enabled: false },
          },
          { clock, workerId: 'me' },
        )
      ).app;
      const a = app;
      await a.deps.uow.run(async (r) => {
        for (let i = 0; i < 25; i++) {
          await r.jobs.enqueue({
            id: `d${i}`,
            now: T0,
            tenantId: 't',
            kind: 'k',
            resourceId: `d${i}`,
            runAt: T0,
            leaseTo: { owner: 'me', until: T0 + 1 },
          });
          await r.jobs.complete(`d${i}`, 'me', T0);
        }
        await r.jobs.enqueue({
          id: 'f0',
          now: T0,
          tenantId: 't',
          kind: 'k',
          resourceId: 'f0',
          runAt: T0,
          leaseTo: { owner: 'me', until: T0 + 1 },
        });
        await r.jobs.fail('f0', 'me', T0, 'gave up');
        const key = (k: string, expiresAt: number) => ({
          tenantId: 't',
          scope: 's',
          key: k,
          fingerprint: 'f',
          state: 'completed' as const,
          responseStatus: 201,
          responseBody: '{}',
          responseHeaders: {},
          recoveryPoint: null,
          lockedUntil: T0,
          createdAt: T0,
          expiresAt,
        });
        for (let i = 0; i < 12; i++) await r.idempotency.tryInsert(key(`old${i}`, T0 + HOUR));
        await r.idempotency.tryInsert(key('live', T0 + 48 * HOUR));
        for (let i = 0; i < 3; i++) await r.callbacks.useNonce('g', `n${i}`, T0 + HOUR);
      });
      a.start();
      // An hour and a half later: done jobs past their hour, keys and nonces expired; the failed job still kept.
      await advanceBy(clock, 90 * 60_000, 60_000);
      const totals = await eventually(
        clock,
        () => a.services.maintenance.totals(),
        (t) => t.jobs_done === 25,
        { stepMs: 60_000 },
      );
      expect(totals).toMatchObject({ jobs_done: 25, jobs_failed: 0, idempotency_keys: 12, callback_nonces: 3 });
      expect(await a.deps.uow.read.jobs.get('f0')).toMatchObject({ status: 'failed' });
      expect(await a.deps.uow.read.idempotency.get('t', 's', 'live')).toBeDefined();
      expect(await a.deps.uow.read.idempotency.get('t', 's', 'old0')).toBeUndefined();
      // Past the failed jobs' retention too.
      const later = await eventually(
        clock,
        () => a.services.maintenance.totals(),
        (t) => t.jobs_failed === 1,
        { stepMs: 60_000, maxMs: 3 * HOUR },
      );
      expect(later.jobs_failed).toBe(1);
      const metrics = await a.http.inject({ method: 'GET', url: '/metrics' });
      expect(metrics.body).toContain('autoglm_maintenance_purged_rows_total{table="jobs_done"} 25');
      expect(metrics.body).toContain('autoglm_maintenance_purged_rows_total{table="idempotency_keys"} 12');
    },
  );

  it('refuses at load a job lease that cannot hold the longest outside call', () => {
    const refused = loadConfig({
      env: {},
      overrides: { worker: { lease_ms: 5000 }, resilience: { timeout_ms: 10_000 } },
    });
    expect(refused.ok).toBe(false);
    if (!refused.ok) {
      expect(refused.error.code).toBe('CONFIG_INVALID');
      expect(refused.error.issues.join('\n')).toMatch(
        /worker\.lease_ms: 5000 ms cannot hold the longest step a job takes \(10000 ms: resilience\.timeout_ms\)/,
      );
    }
    const fits = loadConfig({
      env: {},
      overrides: {
        worker: { lease_ms: 5000 },
        resilience: { timeout_ms: 3000 },
        recharge: {
          operators: Object.fromEntries(
            ['CHINA_MOBILE', 'CHINA_UNICOM', 'CHINA_TELECOM', 'CHINA_BROADNET', 'VIRTUAL'].map((op) => [
              op,
              { timeout_ms: 3000 },
            ]),
          ),
        },
      },
    });
    expect(fits.ok).toBe(true);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/adapters/system/system-clock.js';
import type { JobOutcome, JobRun } from '../src/application/jobs/job-runner.js';
import type { App } from '../src/composition/create-app.js';
import { advanceBy, eventually, settle } from './support/eventually.js';
import { type LogSink, startTestApp } from './support/test-app.js';

/**
 * The job runner on an injected clock: polls, retries and lease renewals happen when the clock
 * gets there, so these tests step it instead of sleeping.
 */
let app: App | undefined;
afterEach(async () => {
  await app?.close(0);
  app = undefined;
});

const LEASE = 30_000;
const T0 = Date.parse('2026-12-01T08:00:00Z');

async function started(): Promise<{ app: App; clock: ManualClock; logs: LogSink }> {
  const clock = new ManualClock(T0);
  const s = await startTestApp({ worker: { poll_interval_ms: 20, lease_ms: LEASE } }, { clock, workerId: 'me' });
  app = s.app;
  return { app: s.app, clock, logs: s.logs };
}

async function enqueue(a: App, clock: ManualClock, kind: string, id: string): Promise<void> {
  await a.deps.uow.run((r) =>
    r.jobs.enqueue({
      id,
      now: clock.now(),
      tenantId: 'default',
      kind,
      resourceId: id,
      runAt: clock.now(),
      maxAttempts: 5,
    }),
  );
}

describe('job runner on a manual clock', () => {
  it(
    'a job that outlives its lease keeps it: ' +
      'renewed while it runs, never claimed by anyone else nor by its own runner again',
    async () => {
      const { app: a, clock, logs } = await started();
      let runs = 0;
      let release: () => void = () => undefined;
      const held = new Promise<void>((r) => (release = r));
      a.runner.register({
        'test.hold': async (job): Promise<JobOutcome> => {
          runs += 1;
          await held;
          await a.deps.uow.run((r) => r.jobs.complete(job.id, 'me', clock.now()));
          return { kind: 'done' };
        },
      });
      await enqueue(a, clock, 'test.hold', 'job-hold');
      a.start();
      await eventually(
        clock,
        () => runs,
        (n) => n === 1,
      );
      // Five leases' worth of time pass while the job runs.
      await advanceBy(clock, 5 * LEASE, 1000);
      const job = await a.deps.uow.read.jobs.get('job-hold');
      expect(job).toMatchObject({ status: 'running', leaseOwner: 'me' });
      expect(job!.leaseUntil!).toBeGreaterThan(clock.now());
      expect(
        await a.deps.uow.run((r) => r.jobs.claimDue('someone-else', clock.now(), clock.now() + LEASE, 10)),
      ).toEqual([]);
      expect(runs).toBe(1);
      release();
      const done = await eventually(
        clock,
        () => a.deps.uow.read.jobs.get('job-hold'),
        (j) => j?.status === 'done',
      );
      expect(done?.status).toBe('done');
      expect(runs).toBe(1);
      expect(logs.text).not.toContain('lease lost');
    },
  );

  it('a retry waits for its delay on the clock: not before, and at once after', async () => {
    const { app: a, clock } = await started();
    let runs = 0;
    a.runner.register({
      'test.retry': async (job): Promise<JobOutcome> => {
        runs += 1;
        if (runs === 1) return { kind: 'retry', error: 'not yet', delayMs: 5000 };
        await a.deps.uow.run((r) => r.jobs.complete(job.id, 'me', clock.now()));
        return { kind: 'done' };
      },
    });
    await enqueue(a, clock, 'test.retry', 'job-retry');
    a.start();
    await eventually(
      clock,
      () => runs,
      (n) => n === 1,
    );
    await advanceBy(clock, 4900, 100);
    expect(runs).toBe(1);
    expect(await a.deps.uow.read.jobs.get('job-retry')).toMatchObject({ status: 'queued', lastError: 'not yet' });
    await eventually(
      clock,
      () => runs,
      (n) => n === 2,
      { stepMs: 50 },
    );
    expect(runs).toBe(2);
  });

  it(
    'a lease lost to another worker is noticed at the next renewal: the run is told to stop, ' + 'and it is reported',
    async () => {
      const { app: a, clock, logs } = await started();
      let signal: JobRun['signal'] | undefined;
      let release: () => void = () => undefined;
      const held = new Promise<void>((r) => (release = r));
      a.runner.register({
        'test.stolen': async (_job, run: JobRun): Promise<JobOutcome> => {
          signal = run.signal;
          await held;
          return { kind: 'done' };
        },
      });
      await enqueue(a, clock, 'test.stolen', 'job-stolen');
      a.start();
      await eventually(
        clock,
        () => signal,
        (s) => s !== undefined,
      );
      // The process stalls past its lease in one jump (no renewal in between), and a peer takes the job.
      clock.advance(3 * LEASE);
      await settle();
      const taken = await a.deps.uow.run((r) => r.jobs.claimDue('thief', clock.now(), clock.now() + LEASE, 10));
      expect(taken.map((j) => j.id)).toContain('job-stolen');
      await eventually(
        clock,
        () => signal?.aborted,
        (aborted) => aborted === true,
        { stepMs: 1000 },
      );
      expect(signal?.aborted).toBe(true);
      expect(logs.text).toContain('lease lost');
      release();
    },
  );
});

import type { Repositories, UnitOfWork, UnitOfWorkMeter } from '../../ports/repositories.js';

/**
 * Where a simulated process crash may strike: just before a unit of work's effect is kept
 * (inside the transaction, so it is rolled back) and just after it committed (before the caller
 * acts on it). Between them these are every "between two steps" of a job: each step is a
 * transaction or an outside call that ends in one. A hook throws to crash there.
 */
export type CrashPoint = 'before-commit' | 'after-commit';

/** Called at each crash point; throws to simulate the process dying there. Simulations only. */
export type CrashHook = (point: CrashPoint) => void;

/**
 * A unit of work that calls `hook` at its crash points. The deterministic simulation injects one
 * whose throw kills that app instance; the default service never builds this wrapper.
 */
export function withCrashPoints(uow: UnitOfWork, hook: CrashHook): UnitOfWork {
  return {
    read: uow.read,
    async run<T>(work: (repos: Repositories) => Promise<T>, meter?: UnitOfWorkMeter): Promise<T> {
      const value = await uow.run(async (repos) => {
        const v = await work(repos);
        hook('before-commit');
        return v;
      }, meter);
      hook('after-commit');
      return value;
    },
    // One statement, no transaction to crash inside: a crash before it is one before the claim.
    async claimDue(...args) {
      hook('before-commit');
      const claimed = await uow.claimDue(...args);
      hook('after-commit');
      return claimed;
    },
  };
}

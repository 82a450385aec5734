import { describe, expect, it } from 'vitest';
import type { ReadRepositories, Repositories, UnitOfWork } from '../../ports/repositories.js';
import { type CrashPoint, withCrashPoints } from './crash-points.js';

/** A unit of work that keeps a transaction's effect only when its work returns. */
function recordingUow(kept: string[]): UnitOfWork {
  return {
    read: {} as ReadRepositories,
    claimDue: () => Promise.resolve([]),
    async run<T>(work: (repos: Repositories) => Promise<T>): Promise<T> {
      const pending: string[] = [];
      const value = await work({ pending } as unknown as Repositories);
      kept.push(...pending);
      return value;
    },
  };
}

const write = (what: string) => (r: Repositories) => {
  (r as unknown as { pending: string[] }).pending.push(what);
  return Promise.resolve(what);
};

describe('crash points of a unit of work', () => {
  it('calls the hook inside the transaction before its effect is kept, then after the commit', async () => {
    const kept: string[] = [];
    const seen: Array<[CrashPoint, readonly string[]]> = [];
    const uow = withCrashPoints(recordingUow(kept), (p) => void seen.push([p, [...kept]]));
    await expect(uow.run(write('a'))).resolves.toBe('a');
    expect(seen).toEqual([
      ['before-commit', []],
      ['after-commit', ['a']],
    ]);
  });

  it('a crash before the commit loses the effect; one after it keeps the effect but not the answer', async () => {
    const kept: string[] = [];
    const crashAt = (point: CrashPoint) => (p: CrashPoint) => {
      if (p === point) throw new Error(`crash ${p}`);
    };
    await expect(withCrashPoints(recordingUow(kept), crashAt('before-commit')).run(write('a'))).rejects.toThrow(
      'crash before-commit',
    );
    expect(kept).toEqual([]);
    await expect(withCrashPoints(recordingUow(kept), crashAt('after-commit')).run(write('b'))).rejects.toThrow(
      'crash after-commit',
    );
    expect(kept).toEqual(['b']);
  });
});

import { describe, expect, it } from 'vitest';
import { tempDbPath } from '../../../../test/support/temp-db.js';
import { testCipher } from '../../../../test/support/test-cipher.js';
import { openSqlite } from './database.js';

const job = (id: string) => ({ id, now: 0, tenantId: 't', kind: 'k', resourceId: id, runAt: 0 });

describe('group commit on SQLite', () => {
  it('folds concurrent logical transactions into few commits; a failing one rolls back alone', async () => {
    const s = await openSqlite(tempDbPath(), { cipher: testCipher() });
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) =>
        s.unitOfWork.run(async (r) => {
          await r.jobs.enqueue(job(`j${i}`));
          if (i % 10 === 3) throw new Error(`refused ${i}`);
          return i;
        }),
      ),
    );
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(5);
    const counts = await s.unitOfWork.read.jobs.countByStatus();
    expect(counts.queued).toBe(45);
    expect(await s.unitOfWork.read.jobs.get('j3')).toBeUndefined();
    expect(await s.unitOfWork.read.jobs.get('j4')).toBeDefined();
    expect(s.unitOfWork.stats.logical).toBe(45);
    expect(s.unitOfWork.stats.commits).toBeLessThan(10);
    await s.close();
  });

  it('audit rows are written with their batch, and dropped with a logical transaction that rolls back', async () => {
    const s = await openSqlite(tempDbPath(), { cipher: testCipher() });
    const entry = (id: string) => ({
      tenantId: 't',
      at: 1,
      actor: 'a',
      action: 'x',
      resourceType: 'order',
      resourceId: id,
      before: null,
      after: { id },
      requestId: null,
    });
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        s.unitOfWork.run(async (r) => {
          await r.audit.appendMany([entry(`o${i}`), entry(`o${i}`)]);
          await r.jobs.enqueue(job(`a${i}`));
          if (i % 4 === 0) throw new Error('no');
        }),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(15);
    for (let i = 0; i < 20; i++) {
      const rows = await s.unitOfWork.read.audit.list('t', 'order', `o${i}`);
      expect(rows).toHaveLength(i % 4 === 0 ? 0 : 2);
      if (rows[0] !== undefined) expect(rows[0].after).toEqual({ id: `o${i}` });
    }
    expect(s.unitOfWork.stats.commits).toBeLessThan(5);
    await s.close();
  });

  it('a caller hears "committed" only once the data is readable from another connection', async () => {
    const s = await openSqlite(tempDbPath(), { cipher: testCipher() });
    await s.unitOfWork.run((r) => r.jobs.enqueue(job('visible')));
    // `read` is the second connection: it only ever sees committed data.
    expect(await s.unitOfWork.read.jobs.get('visible')).toBeDefined();
    await s.close();
  });

  it('a refusal that rests on an earlier logical transaction of the batch is heard once that is on disk', async () => {
    const s = await openSqlite(tempDbPath(), { cipher: testCipher() });
    const first = s.unitOfWork.run((r) => r.jobs.enqueue(job('winner')));
    const second = s.unitOfWork.run(async (r) => {
      if ((await r.jobs.get('winner')) !== undefined) throw new Error('already taken');
    });
    const seen = second.catch(async () => s.unitOfWork.read.jobs.get('winner'));
    await first;
    // When the refused caller hears it, what it was refused for is readable outside the batch.
    expect(await seen).toBeDefined();
    await s.close();
  });

  it('after the database is closed, waiting callers are rejected instead of hanging', async () => {
    const s = await openSqlite(tempDbPath(), { cipher: testCipher() });
    await s.close();
    await expect(s.unitOfWork.run((r) => r.jobs.enqueue(job('late')))).rejects.toThrow();
  });
});

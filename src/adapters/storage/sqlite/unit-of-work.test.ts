import { fdatasync, readlinkSync } from 'node:fs';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { tempDbPath } from '../../../../test/support/temp-db.js';
import { testCipher } from '../../../../test/support/test-cipher.js';
import { openSqlite } from './database.js';
import type { SyncFile } from './wal-sync.js';

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

  it("the writer's synchronous: NORMAL, flushed in the background; FULL when SQLite flushes in COMMIT", async () => {
    for (const [sync, level] of [
      ['background', 1],
      ['commit', 2],
    ] as const) {
      const s = await openSqlite(tempDbPath(), { cipher: testCipher(), sync });
      const rows = (await sql<{ synchronous: number }>`pragma synchronous`.execute(s.db)).rows;
      expect(rows[0]?.synchronous).toBe(level);
      await s.close();
    }
  });

  it("flushes the database's own write-ahead log, at least once for every commit acknowledged", async () => {
    const path = tempDbPath();
    const flushed: string[] = [];
    const syncFile: SyncFile = (fd, done) => {
      flushed.push(readlinkSync(`/proc/self/fd/${fd}`));
      fdatasync(fd, done);
    };
    const s = await openSqlite(path, { cipher: testCipher(), syncFile });
    await s.unitOfWork.run((r) => r.jobs.enqueue(job('one')));
    expect(flushed).toEqual([`${path}-wal`]);
    await Promise.all([1, 2, 3].map((i) => s.unitOfWork.run((r) => r.jobs.enqueue(job(`more${i}`)))));
    expect(flushed.length).toBeGreaterThanOrEqual(2);
    expect(new Set(flushed)).toEqual(new Set([`${path}-wal`]));
    await s.close();
  });

  it('answers a caller, and shows readers its commit, after the flush; the next batch runs meanwhile', async () => {
    const held: Array<(err: Error | null) => void> = [];
    const s = await openSqlite(tempDbPath(), { cipher: testCipher(), syncFile: (_fd, done) => held.push(done) });
    let answered = false;
    const first = s.unitOfWork.run((r) => r.jobs.enqueue(job('first'))).then(() => (answered = true));
    while (held.length === 0) await new Promise((r) => setImmediate(r));
    // Committed (the writer sees it) but not flushed: nobody hears of it, no read sees it.
    const read = s.unitOfWork.read.jobs.get('first');
    let ran = false;
    const second = s.unitOfWork.run(async (r) => {
      ran = (await r.jobs.get('first')) !== undefined;
      await r.jobs.enqueue(job('second'));
    });
    while (held.length < 1 || !ran) await new Promise((r) => setImmediate(r));
    expect(ran).toBe(true);
    expect(answered).toBe(false);
    let readDone = false;
    void read.then(() => (readDone = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(readDone).toBe(false);
    held.shift()?.(null);
    await first;
    expect(await read).toBeDefined();
    // The second batch committed while the first flush ran; the next flush covers it.
    while (held.length === 0) await new Promise((r) => setImmediate(r));
    held.shift()?.(null);
    await second;
    expect(await s.unitOfWork.read.jobs.get('second')).toBeDefined();
    await s.close();
  });

  it('a failed flush fails its callers (STORAGE_SYNC_FAILED), refuses later work and reads, is not ready', async () => {
    const fail: SyncFile = (_fd, done) => done(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    const s = await openSqlite(tempDbPath(), { cipher: testCipher(), syncFile: fail });
    expect(await s.ping()).toBe(true);
    await expect(s.unitOfWork.run((r) => r.jobs.enqueue(job('lost')))).rejects.toMatchObject({
      code: 'STORAGE_SYNC_FAILED',
    });
    await expect(s.unitOfWork.run((r) => r.jobs.enqueue(job('after')))).rejects.toMatchObject({
      code: 'STORAGE_SYNC_FAILED',
    });
    await expect(s.unitOfWork.read.jobs.get('lost')).rejects.toMatchObject({ code: 'STORAGE_SYNC_FAILED' });
    expect(await s.ping()).toBe(false);
    await s.close();
  });

  it('closing waits for the last flush before it closes the database', async () => {
    const held: Array<(err: Error | null) => void> = [];
    const s = await openSqlite(tempDbPath(), { cipher: testCipher(), syncFile: (fd, done) => held.push(done) });
    const acked = s.unitOfWork.run((r) => r.jobs.enqueue(job('last')));
    while (held.length === 0) await new Promise((r) => setImmediate(r));
    let closed = false;
    const closing = s.close().then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(closed).toBe(false);
    held.shift()?.(null);
    await acked;
    await closing;
    expect(closed).toBe(true);
  });
});

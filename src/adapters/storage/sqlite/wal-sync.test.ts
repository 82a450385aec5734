import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type SyncFile, WalSync, WalSyncError } from './wal-sync.js';

/** A flush that completes only when the test says so. */
function heldFlushes(): { sync: SyncFile; calls: number; release: (err?: Error) => void } {
  const pending: Array<(err: Error | null) => void> = [];
  const h = {
    calls: 0,
    sync: ((_fd, done) => {
      h.calls += 1;
      pending.push(done);
    }) as SyncFile,
    release: (err?: Error) => pending.shift()?.(err ?? null),
  };
  return h;
}

function walFile(): string {
  const path = join(mkdtempSync(join(tmpdir(), 'autoglm-walsync-')), 'db-wal');
  writeFileSync(path, '');
  return path;
}

const settled = async (p: Promise<unknown>): Promise<string> => {
  let state = 'pending';
  p.then(
    () => (state = 'resolved'),
    () => (state = 'rejected'),
  );
  await new Promise((r) => setImmediate(r));
  return state;
};

describe('WalSync: the write-ahead log flushed off the event loop, by group commit', () => {
  it('answers a commit after a flush that began after it; one flush covers the commits made meanwhile', async () => {
    const h = heldFlushes();
    const s = new WalSync(walFile(), h.sync);
    const first = s.durable(s.commit());
    expect(h.calls).toBe(1);
    // Three more commits while the first flush runs: they wait for the next one, all together.
    const more = [s.durable(s.commit()), s.durable(s.commit()), s.durable(s.commit())];
    expect(await settled(first)).toBe('pending');
    h.release();
    expect(await settled(first)).toBe('resolved');
    expect(await settled(Promise.all(more))).toBe('pending');
    expect(h.calls).toBe(2);
    h.release();
    expect(await settled(Promise.all(more))).toBe('resolved');
    expect(h.calls).toBe(2);
    expect(s.barrier()).toBeUndefined();
  });

  it('holds reads behind commits not yet flushed, and lets them through when everything is', async () => {
    const h = heldFlushes();
    const s = new WalSync(walFile(), h.sync);
    expect(s.barrier()).toBeUndefined();
    const c = s.durable(s.commit());
    const read = s.barrier();
    expect(read).toBeDefined();
    expect(await settled(read!)).toBe('pending');
    h.release();
    await c;
    expect(await settled(read!)).toBe('resolved');
    expect(s.barrier()).toBeUndefined();
  });

  it('a failed flush refuses every commit waiting and every one after, for good', async () => {
    const h = heldFlushes();
    const s = new WalSync(walFile(), h.sync);
    const waiting = s.durable(s.commit());
    h.release(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    await expect(waiting).rejects.toBeInstanceOf(WalSyncError);
    await expect(waiting).rejects.toMatchObject({ code: 'STORAGE_SYNC_FAILED' });
    expect(s.failed).toBeInstanceOf(WalSyncError);
    await expect(s.durable(s.commit())).rejects.toMatchObject({ code: 'STORAGE_SYNC_FAILED' });
    await expect(s.barrier()).rejects.toMatchObject({ code: 'STORAGE_SYNC_FAILED' });
    expect(h.calls).toBe(1);
  });

  it('a write-ahead log that cannot be opened is a failed flush, not a crash', async () => {
    const s = new WalSync(join(tmpdir(), 'autoglm-no-such-dir', 'db-wal'));
    await expect(s.durable(s.commit())).rejects.toMatchObject({ code: 'STORAGE_SYNC_FAILED' });
  });
});

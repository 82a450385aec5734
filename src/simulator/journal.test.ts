import type * as NodeFs from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';

const fsyncs = vi.hoisted(() => ({ count: 0 }));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof NodeFs>();
  return {
    ...fs,
    fsync: (fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => {
      fsyncs.count += 1;
      fs.fsync(fd, cb);
    },
  };
});

const { Journal } = await import('./journal.js');

describe('the simulators’ journal', () => {
  const dirs: string[] = [];
  const path = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'journal-'));
    dirs.push(d);
    return join(d, 'j.jsonl');
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('keeps every entry, in order, for the next process', async () => {
    const p = path();
    const j = new Journal(p);
    for (let i = 0; i < 50; i++) j.append({ i });
    await j.durable();
    j.close();
    expect(new Journal(p).load()).toEqual(Array.from({ length: 50 }, (_, i) => ({ i })));
  });

  it('answers many appenders with fewer flushes than entries (a group commit)', async () => {
    const j = new Journal(path());
    fsyncs.count = 0;
    const answered: number[] = [];
    await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        j.append({ i });
        await j.durable();
        answered.push(i);
      }),
    );
    expect(answered).toHaveLength(200);
    expect(fsyncs.count).toBeGreaterThan(0);
    expect(fsyncs.count).toBeLessThan(200);
    j.close();
  });

  it('resolves at once when nothing is waiting to be flushed, and answers waiters on close', async () => {
    const j = new Journal(path());
    await expect(j.durable()).resolves.toBeUndefined();
    j.append({ a: 1 });
    const waiting = j.durable();
    j.close();
    await expect(waiting).resolves.toBeUndefined();
  });
});

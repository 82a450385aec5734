import { describe, expect, it } from 'vitest';
import { NO_FAILURES } from '../../domain/abuse.js';
import type { Logger } from '../../ports/logger.js';
import type { SourceBlock } from '../../ports/source-blocks.js';
import { BlockList } from './block-list.js';

const silent: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silent,
};

function block(source: string, until = 10_000): SourceBlock {
  return {
    id: `blk_${source}`,
    source,
    kind: 'forged_callback',
    reasons: NO_FAILURES,
    createdAt: 0,
    until,
    liftedAt: null,
    liftedBy: null,
  };
}

/** A block table whose answers the test releases by hand, to interleave a reload with local changes. */
function manualTable() {
  const waiting: Array<{ resolve: (b: SourceBlock[]) => void; reject: (e: Error) => void }> = [];
  let queries = 0;
  return {
    read: {
      blocks: {
        active: () => {
          queries += 1;
          return new Promise<SourceBlock[]>((resolve, reject) => waiting.push({ resolve, reject }));
        },
        get: () => Promise.resolve(undefined),
      },
    },
    answer: (blocks: SourceBlock[]) => waiting.shift()!.resolve(blocks),
    fail: () => waiting.shift()!.reject(new Error('database away')),
    get queries() {
      return queries;
    },
  };
}

describe('BlockList: this instance’s copy of the blocks in force', () => {
  it('reloads only when the copy is older than refreshMs; concurrent checks share one query', async () => {
    let now = 1000;
    const table = manualTable();
    const list = new BlockList(table.read, { now: () => now, schedule: () => () => undefined }, 1000, silent);
    const first = [list.find(['ip:a']), list.find(['ip:b'])];
    table.answer([block('ip:a')]);
    expect(await Promise.all(first)).toEqual([block('ip:a'), undefined]);
    now += 999;
    expect(await list.find(['ip:a'])).toEqual(block('ip:a'));
    expect(table.queries).toBe(1);
    now += 1;
    const again = list.find(['ip:x', 'ip:a']);
    table.answer([]);
    expect(await again).toBeUndefined();
    expect(table.queries).toBe(2);
  });

  it('a block made or lifted here while a reload is in flight survives that reload’s older answer', async () => {
    const table = manualTable();
    const list = new BlockList(table.read, { now: () => 0, schedule: () => () => undefined }, 1000, silent);
    const reload = list.reload();
    list.noteBlocked(block('ip:new'));
    list.noteLifted(block('ip:old'));
    // The query started before both: it knows ip:old and not ip:new.
    table.answer([block('ip:old')]);
    await reload;
    expect(await list.find(['ip:new'])).toEqual(block('ip:new'));
    expect(await list.find(['ip:old'])).toBeUndefined();
  });

  it('a block ends on the clock; a failed reload keeps the copy it had', async () => {
    let now = 0;
    const table = manualTable();
    const list = new BlockList(table.read, { now: () => now, schedule: () => () => undefined }, 1000, silent);
    const first = list.find(['ip:a']);
    table.answer([block('ip:a', 5000)]);
    expect(await first).toBeDefined();
    now = 4000;
    const failing = list.find(['ip:a']);
    table.fail();
    expect(await failing).toBeDefined();
    now = 4999;
    expect(await list.find(['ip:a'])).toBeDefined();
    now = 5000;
    const expired = list.find(['ip:a']);
    table.answer([]);
    expect(await expired).toBeUndefined();
  });
});

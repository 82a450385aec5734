import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SimulatedCarriers } from './simulated-carriers.js';
import { VirtualTime } from './virtual-time.js';

describe('virtual time', () => {
  it('wakes sleepers in time order (FIFO among equals) without real waiting', async () => {
    const vt = new VirtualTime(1000);
    const log: string[] = [];
    const sleeper = async (name: string, ms: number) => {
      await vt.sleep(ms);
      log.push(`${name}@${vt.now()}`);
    };
    const started = Date.now();
    await vt.run(Promise.all([sleeper('c', 3_600_000), sleeper('a', 10), sleeper('b', 10), sleeper('z', 0)]));
    expect(log).toEqual(['z@1000', 'a@1010', 'b@1010', 'c@3601000']);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(vt.pending).toBe(0);
  });

  it('says so when the work waits on something no timer brings', async () => {
    const vt = new VirtualTime();
    await expect(vt.run(new Promise(() => undefined))).rejects.toThrow(/no timer/);
  });
});

describe('simulated carriers', () => {
  it('keep their ground truth in a journal that outlives the instance', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'carriers-')), 'truth.jsonl');
    const first = new SimulatedCarriers({ journalPath: path });
    first.topUp({
      orderId: 'rchAAAAAAA1',
      channel: 'c',
      phone: '13800138000',
      amount: { amount: 5000, currency: 'CNY' },
      at: 1,
    });
    first.closeJournal();
    const second = new SimulatedCarriers({ journalPath: path });
    expect(second.groundTruth).toHaveLength(1);
    expect(second.balanceOf('13800138000')).toBe(5000);
    expect(second.topUpsFor('rchAAAAAAA')).toHaveLength(1);
    second.closeJournal();
  });
});

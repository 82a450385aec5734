import { describe, expect, it } from 'vitest';
import { TOP_UP_STATUSES, type TopUpEvent, transitionTopUp } from './wallet.js';

describe('top-up transitions', () => {
  const events: TopUpEvent[] = [{ type: 'succeed' }, { type: 'fail', reason: 'DECLINED' }];
  const expected: Record<string, Record<string, string | null>> = {
    PENDING: { succeed: 'SUCCEEDED', fail: 'FAILED' },
    SUCCEEDED: { succeed: null, fail: null },
    FAILED: { succeed: null, fail: null },
  };
  for (const from of TOP_UP_STATUSES) {
    for (const e of events) {
      it(`${from} + ${e.type}`, () => {
        const r = transitionTopUp(from, e);
        const want = expected[from]?.[e.type];
        if (want === null) expect(r.ok ? r.value : r.error.code).toBe('ILLEGAL_TRANSITION');
        else expect(r.ok ? r.value : r.error.code).toBe(want);
      });
    }
  }
});

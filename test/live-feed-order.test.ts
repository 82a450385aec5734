import { describe, expect, it } from 'vitest';
import type { BatchView } from '../src/application/batch/batch-api.js';
import { type BatchChange, createBatchFeed } from '../src/application/batch/batch-api.js';
import { type AuditFeed, type ResourceChange, resourceFeed } from '../src/application/kernel/audit-feed.js';
import type { Caller } from '../src/application/kernel/caller.js';
import { createRechargeFeed } from '../src/application/recharge/recharge-api.js';
import { ok } from '../src/domain/result.js';
import type { AuditRecord } from '../src/ports/records.js';

/**
 * The order in which the console's live feeds tell of changes, on an audit feed the test reads
 * rows into by hand: event ids only increase on a stream, and a batch's counts never go back.
 */

const caller = { tenantId: 't', userId: 'alice', actor: 'user:alice', requestId: null, role: 'user' } as Caller;
const row = (id: number, resourceId = `r${id}`, action = 'recharge.submitted'): AuditRecord =>
  ({ id, tenantId: 't', resourceType: 'recharge', resourceId, action }) as AuditRecord;

/** An audit feed whose reads the test makes: `rows(...)` delivers them to the one subscriber. */
function handFed(): { feed: AuditFeed; rows: (rows: readonly AuditRecord[]) => Promise<void> } {
  let onRows: ((rows: readonly AuditRecord[]) => Promise<void>) | undefined;
  return {
    feed: {
      subscribe: (_tenant, f) => {
        onRows = f;
        return Promise.resolve(() => undefined);
      },
      close: () => undefined,
    },
    rows: (rows) => onRows?.(rows) ?? Promise.resolve(),
  };
}

describe('a resource feed', () => {
  it('tells each resource once per read, at its last row, in the order of those rows (ids only increase)', async () => {
    const { feed, rows: onRows } = handFed();
    const told: Array<ResourceChange<string>> = [];
    await resourceFeed(
      feed,
      (a) => a.resourceId,
      (_c, id) => Promise.resolve(ok(id)),
    ).subscribe(caller, (c) => told.push(c));
    // x changes, then y, then x again within one read: x's last row comes after y's.
    await onRows([
      row(43, 'x', 'recharge.submitted'),
      row(45, 'y', 'recharge.submitted'),
      row(47, 'x', 'recharge.succeeded'),
    ]);
    expect(told.map((c) => [c.seq, c.value, c.action])).toEqual([
      [45, 'y', 'recharge.submitted'],
      [47, 'x', 'recharge.succeeded'],
    ]);
  });
});

describe('a batch feed', () => {
  it('tells the standing first, then each change, never back, though a change is read meanwhile', async () => {
    const { feed, rows: onRows } = handFed();
    // The database: `finished` as it is when a look starts; the first look (the standing) answers late.
    let finished = 3;
    let releaseFirst!: () => void;
    let looks = 0;
    const get = async () => {
      const seen = finished;
      looks += 1;
      if (looks === 1) await new Promise<void>((r) => (releaseFirst = r));
      return ok({ id: 'rcb_1', finished: seen } as unknown as BatchView);
    };
    const told: BatchChange[] = [];
    const subscribed = createBatchFeed(feed, get).subscribe(caller, 'rcb_1', (c) => told.push(c));
    await new Promise((r) => setImmediate(r));
    // While the standing is being read, two recharges end and the feed reads their rows.
    finished = 5;
    const delivered = onRows([row(41), row(42)]);
    await new Promise((r) => setImmediate(r));
    releaseFirst();
    await subscribed;
    await delivered;
    expect(told.map((c) => [c.seq, (c.batch as unknown as { finished: number }).finished])).toEqual([
      [0, 3],
      [42, 5],
    ]);
    // Nothing new: nothing told.
    await onRows([row(43)]);
    expect(told).toHaveLength(2);
  });
});

describe('the recharge feed', () => {
  it('tells of the recharge’s own steps, never of the notice its person was sent afterwards', async () => {
    const { feed, rows: onRows } = handFed();
    const told: Array<{ id: string; action: string }> = [];
    const recharges = createRechargeFeed(feed, (_c, id) => Promise.resolve(ok({ id }) as never));
    await recharges.subscribe(caller, (c) =>
      told.push({ id: (c.value as unknown as { id: string }).id, action: c.action }),
    );
    // One read holding the success and the notice that followed it: the success is what happened.
    await onRows([row(1, 'r1', 'recharge.created'), row(2, 'r1', 'recharge.succeeded'), row(3, 'r1', 'notice.sent')]);
    // A read holding only a notice tells of nothing: the recharge did not change.
    await onRows([row(4, 'r2', 'recharge.failed')]);
    await onRows([row(5, 'r2', 'notice.sent')]);
    expect(told).toEqual([
      { id: 'r1', action: 'recharge.succeeded' },
      { id: 'r2', action: 'recharge.failed' },
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import { ok } from '../../domain/result.js';
import type { AuditRecord } from '../../ports/records.js';
import type { AuditFeed } from '../kernel/audit-feed.js';
import type { Caller } from '../kernel/caller.js';
import { createRechargeFeed } from './recharge-api.js';

const alice: Caller = { tenantId: 't', userId: 'alice', actor: 'user:alice', requestId: null, role: 'user' };

let id = 0;
const row = (resourceId: string, action: string): AuditRecord => ({
  id: ++id,
  shard: 0,
  seq: id,
  tenantId: 't',
  at: 1,
  actor: 'system:worker',
  action,
  resourceType: 'recharge',
  resourceId,
  before: null,
  after: null,
  requestId: null,
});

/** An audit feed the test reads rows into, as one read of the log would hand them over. */
function fakeFeed(): { feed: AuditFeed; read: (rows: AuditRecord[]) => Promise<void> } {
  let onRows: ((rows: readonly AuditRecord[]) => Promise<void>) | undefined;
  return {
    feed: {
      subscribe: (_tenant, f) => {
        onRows = f;
        return Promise.resolve(() => undefined);
      },
      close: () => undefined,
    },
    read: async (rows) => onRows?.(rows),
  };
}

describe('the recharge feed', () => {
  it('tells of the recharge’s own steps, never of the notice its person was sent afterwards', async () => {
    const { feed, read } = fakeFeed();
    const told: Array<{ id: string; action: string }> = [];
    const recharges = createRechargeFeed(feed, (_c, rid) => Promise.resolve(ok({ id: rid }) as never));
    await recharges.subscribe(alice, (c) =>
      told.push({ id: (c.value as unknown as { id: string }).id, action: c.action }),
    );
    // One read holding the success and the notice that followed it: the success is what happened.
    await read([row('r1', 'recharge.created'), row('r1', 'recharge.succeeded'), row('r1', 'notice.sent')]);
    // A read holding only a notice tells of nothing: the recharge did not change.
    await read([row('r2', 'recharge.failed')]);
    await read([row('r2', 'notice.sent')]);
    expect(told).toEqual([
      { id: 'r1', action: 'recharge.succeeded' },
      { id: 'r2', action: 'recharge.failed' },
    ]);
  });
});

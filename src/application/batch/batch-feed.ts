import type { Result } from '../../domain/result.js';
import type { AuditFeed } from '../kernel/audit-feed.js';
import type { Caller } from '../kernel/caller.js';
import type { BatchView } from './batch-view.js';

/** A batch's new standing, as the watcher may see it. */
export interface BatchChange {
  /** The last audit row read when it was looked up. */
  readonly seq: number;
  readonly batch: BatchView;
}

/** Live progress of one batch for whoever watches (the console's progress bar). */
export interface BatchFeed {
  /**
   * Call `onChange` with the batch as it stands whenever it changed after now, until the returned
   * function is called. Resolves once "now" is fixed.
   */
  subscribe(caller: Caller, batchId: string, onChange: (change: BatchChange) => void): Promise<() => void>;
}

/**
 * A batch's progress from the audit feed: its recharges' rows do not name it after the first,
 * so any recharge (or this batch's own) row of the tenant in a read has the batch looked up
 * again — once per read, whatever the number of rows — and told only when it changed.
 */
export function createBatchFeed(
  feed: AuditFeed,
  get: (caller: Caller, id: string) => Promise<Result<BatchView>>,
): BatchFeed {
  return {
    subscribe(caller, batchId, onChange) {
      let last: string | undefined;
      return feed.subscribe(caller.tenantId, async (rows) => {
        const touched = rows.some(
          (a) => a.resourceType === 'recharge' || (a.resourceType === 'batch' && a.resourceId === batchId),
        );
        if (!touched) return;
        const seen = await get(caller, batchId);
        if (!seen.ok) return;
        const now = JSON.stringify(seen.value);
        if (now === last) return;
        last = now;
        onChange({ seq: rows.at(-1)!.id, batch: seen.value });
      });
    },
  };
}

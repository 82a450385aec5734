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
   * Call `onChange` first with the batch as it stands, then with the batch each time it changed,
   * until the returned function is called. Resolves once "now" is fixed. Each call reports a
   * later look than the one before it, so the counts never go back, and `seq` never decreases.
   */
  subscribe(caller: Caller, batchId: string, onChange: (change: BatchChange) => void): Promise<() => void>;
}

/**
 * A batch's progress from the audit feed: its recharges' rows do not name it after the first,
 * so any recharge (or this batch's own) row of the tenant in a read has the batch looked up
 * again — once per read, whatever the number of rows — and told only when it changed. The first
 * look (the standing) and the later ones run one after another: a standing read before a change
 * but answered after it could otherwise take the bar back.
 */
export function createBatchFeed(
  feed: AuditFeed,
  get: (caller: Caller, id: string) => Promise<Result<BatchView>>,
): BatchFeed {
  return {
    async subscribe(caller, batchId, onChange) {
      let last: string | undefined;
      let seq = 0;
      let looks = Promise.resolve();
      const look = (at: number): Promise<void> => {
        const run = looks.then(async () => {
          seq = Math.max(seq, at);
          const seen = await get(caller, batchId);
          if (!seen.ok) return;
          const now = JSON.stringify(seen.value);
          if (now === last) return;
          last = now;
          onChange({ seq, batch: seen.value });
        });
        // One failed look (reported by whoever awaits it) does not stop the later ones.
        looks = run.catch(() => undefined);
        return run;
      };
      const stop = await feed.subscribe(caller.tenantId, async (rows) => {
        const touched = rows.some(
          (a) => a.resourceType === 'recharge' || (a.resourceType === 'batch' && a.resourceId === batchId),
        );
        if (touched) await look(rows.at(-1)!.id);
      });
      // After subscribing, so no change falls between the standing and the first change.
      await look(0);
      return stop;
    },
  };
}

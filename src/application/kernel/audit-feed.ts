import type { Result } from '../../domain/result.js';
import type { AuditRecord } from '../../ports/records.js';
import type { Caller } from './caller.js';
import type { Deps } from './deps.js';
import { lastSettledAuditId, settledAuditAfter } from './settled-audit.js';

/**
 * The audit log read as it grows, for whoever watches (the console's live lists and progress
 * bars). The log is written in the same transaction as every change, in the database all
 * instances share, so a change made by any instance reaches the watchers of every instance.
 * One reader per instance whatever the number of watchers, and none while nobody watches.
 */
export interface AuditFeed {
  /**
   * Call `onRows` with each read's settled audit rows of `tenantId` (in id order) after now,
   * until the returned function is called. Resolves once "now" is fixed: every row that commits
   * after that reaches `onRows`.
   */
  subscribe(tenantId: string, onRows: (rows: readonly AuditRecord[]) => Promise<void>): Promise<() => void>;
  /** Drop every subscriber and stop reading (shutdown). */
  close(): void;
}

export interface AuditFeedSettings {
  /** How often the audit log is read while anyone watches (this instance's only cost). */
  readonly pollIntervalMs: number;
  /** Audit rows per read. */
  readonly batch: number;
}

interface Subscriber {
  readonly tenantId: string;
  readonly onRows: (rows: readonly AuditRecord[]) => Promise<void>;
}

export function createAuditFeed(deps: Deps, settings: AuditFeedSettings): AuditFeed {
  const subscribers = new Set<Subscriber>();
  let position: number | undefined;
  let cancel: (() => void) | undefined;
  let reading = false;
  let starting: Promise<void> | undefined;

  /** Where reading starts: past every audit row of a transaction that has ended by now. */
  const start = (): Promise<void> => {
    if (position !== undefined) return Promise.resolve();
    starting ??= lastSettledAuditId(deps)
      .then((p) => {
        position ??= p;
      })
      .finally(() => {
        starting = undefined;
      });
    return starting;
  };

  const deliver = async (rows: readonly AuditRecord[]): Promise<void> => {
    for (const s of [...subscribers]) {
      const mine = rows.filter((a) => a.tenantId === s.tenantId);
      if (mine.length === 0 || !subscribers.has(s)) continue;
      try {
        await s.onRows(mine);
      } catch (e: unknown) {
        deps.logger.warn({ err: e }, 'a live feed watcher could not be told of a change');
      }
    }
  };

  const round = async (): Promise<number> => {
    await start();
    const rows = await settledAuditAfter(deps, position ?? 0, settings.batch);
    if (rows.length === 0) return 0;
    position = rows.at(-1)!.id;
    await deliver(rows);
    return rows.length;
  };

  const tick = (): void => {
    cancel = undefined;
    if (subscribers.size === 0) {
      reading = false;
      return;
    }
    round()
      .catch((e: unknown) => {
        deps.logger.warn({ err: e }, 'live feed read failed; trying again');
        return 0;
      })
      .then((n) => {
        if (subscribers.size === 0) {
          reading = false;
          // Nobody watches: the next watcher starts from then, not from a stale position.
          position = undefined;
          return;
        }
        cancel = deps.clock.schedule(n >= settings.batch ? 0 : settings.pollIntervalMs, tick);
      })
      .catch(() => undefined);
  };

  return {
    async subscribe(tenantId, onRows) {
      const s: Subscriber = { tenantId, onRows };
      subscribers.add(s);
      await start();
      if (!reading && subscribers.has(s)) {
        reading = true;
        cancel = deps.clock.schedule(0, tick);
      }
      return () => {
        subscribers.delete(s);
      };
    },
    close() {
      subscribers.clear();
      cancel?.();
      cancel = undefined;
      reading = false;
      position = undefined;
    },
  };
}

/** One resource that changed, as the watcher may see it now. */
export interface ResourceChange<V> {
  /**
   * The audit row that told of it (the event's id; it only increases on a stream). Nothing is
   * replayed from it: a stream opened again (`Last-Event-ID`) starts from then.
   */
  readonly seq: number;
  /** What happened, e.g. `order.fulfilled`, `recharge.succeeded`. */
  readonly action: string;
  readonly value: V;
}

/** Live changes of one kind of resource (orders, recharges) for whoever watches. */
export interface ResourceFeed<V> {
  /**
   * Call `onChange` for every change after now of a resource `caller` may see, until the
   * returned function is called; resolves once "now" is fixed.
   */
  subscribe(caller: Caller, onChange: (change: ResourceChange<V>) => void): Promise<() => void>;
}

/**
 * A feed of one kind of resource over the audit feed: `keyOf` names the resource an audit row is
 * about (or none); each change is looked up with `get` as each watcher may see it, so isolation
 * is the capability's own check. One message per resource and read: its newest state.
 */
export function resourceFeed<V>(
  feed: AuditFeed,
  keyOf: (a: AuditRecord) => string | undefined,
  get: (caller: Caller, id: string) => Promise<Result<V>>,
): ResourceFeed<V> {
  return {
    subscribe: (caller, onChange) =>
      feed.subscribe(caller.tenantId, async (rows) => {
        const latest = new Map<string, AuditRecord>();
        for (const a of rows) {
          const id = keyOf(a);
          // Moved to the end: told in the order of their last rows, so event ids only increase.
          if (id !== undefined) {
            latest.delete(id);
            latest.set(id, a);
          }
        }
        for (const [id, a] of latest) {
          const seen = await get(caller, id);
          if (seen.ok) onChange({ seq: a.id, action: a.action, value: seen.value });
        }
      }),
  };
}

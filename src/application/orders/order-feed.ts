import type { Result } from '../../domain/result.js';
import type { AuditRecord } from '../../ports/records.js';
import type { Caller } from '../kernel/caller.js';
import type { Deps } from '../kernel/deps.js';
import { lastSettledAuditId, settledAuditAfter } from '../kernel/settled-audit.js';
import type { OrderView } from './order-view.js';

/** One order that changed, as the subscriber may see it now. */
export interface OrderChange {
  /** The audit row that told of it: a subscriber resumes after it (`Last-Event-ID`). */
  readonly seq: number;
  /** What happened, e.g. `order.fulfilled`, `refund.succeed`. */
  readonly action: string;
  readonly order: OrderView;
}

/** Live order changes for whoever watches (the console's orders list). */
export interface OrderFeed {
  /**
   * Call `onChange` for every order change after now that `caller` may see (their own orders; the
   * tenant's with `tenant.read_all`), until the returned function is called. Resolves once "now"
   * is fixed: every change that commits after that reaches `onChange`.
   */
  subscribe(caller: Caller, onChange: (change: OrderChange) => void): Promise<() => void>;
  /** Drop every subscriber and stop reading (shutdown). */
  close(): void;
}

export interface OrderFeedSettings {
  /** How often the audit log is read while anyone watches (this instance's only cost). */
  readonly pollIntervalMs: number;
  /** Audit rows per read. */
  readonly batch: number;
}

interface Subscriber {
  readonly caller: Caller;
  readonly onChange: (change: OrderChange) => void;
}

/** The order an audit row is about: its own rows, and refunds' and payments' rows that name it. */
export function orderIdOf(a: AuditRecord): string | undefined {
  if (a.resourceType === 'order') return a.resourceId;
  for (const side of [a.after, a.before]) {
    if (typeof side !== 'object' || side === null) continue;
    const id = (side as { orderId?: unknown; order_id?: unknown }).orderId ?? (side as { order_id?: unknown }).order_id;
    if (typeof id === 'string') return id;
  }
  return undefined;
}

/**
 * Reads the audit log — written in the same transaction as every change, in the database all
 * instances share — so a change made by any instance reaches the watchers of every instance.
 * One reader per instance whatever the number of watchers, and none while nobody watches; each
 * change is looked up as each watcher may see it (isolation is the orders capability's own check).
 */
export function createOrderFeed(
  deps: Deps,
  get: (caller: Caller, orderId: string) => Promise<Result<OrderView>>,
  settings: OrderFeedSettings,
): OrderFeed {
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
    // The last row of each order in this read: one message per order and watcher, its newest state.
    const latest = new Map<string, AuditRecord>();
    for (const a of rows) {
      const id = orderIdOf(a);
      if (id !== undefined) latest.set(`${a.tenantId}\u0000${id}`, a);
    }
    for (const a of latest.values()) {
      const orderId = orderIdOf(a)!;
      for (const s of [...subscribers]) {
        if (s.caller.tenantId !== a.tenantId) continue;
        const seen = await get(s.caller, orderId);
        if (seen.ok && subscribers.has(s)) s.onChange({ seq: a.id, action: a.action, order: seen.value });
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
        deps.logger.warn({ err: e }, 'order feed read failed; trying again');
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
    async subscribe(caller, onChange) {
      const s: Subscriber = { caller, onChange };
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

import type { AuditRecord } from '../../ports/records.js';
import type { Deps } from './deps.js';
import { tx } from './tx.js';

/**
 * Audit rows after `from` that no earlier row can still appear before: what a reader that keeps a
 * position in the audit log (the webhook dispatcher, the live order feed) may pass over.
 *
 * Ids are handed out before commit, so on PostgreSQL a row with a smaller id may still be
 * uncommitted while a larger one is visible: a position must not pass it. Rows are taken only as
 * far as their ids run without a gap; at a gap storage is asked for the id below which every
 * transaction has ended (`settledAuditId`), and a gap below that is a rollback, gone for good.
 */
export function settledAuditAfter(deps: Deps, from: number, limit: number): Promise<AuditRecord[]> {
  const read = deps.uow.read.webhooks;
  return settledAfter(deps, from, limit, (f, l) => read.auditAfter(f, l));
}

/** `settledAuditAfter` for any reading of the rows (e.g. their keys only). */
export async function settledAfter<T extends { readonly id: number }>(
  deps: Deps,
  from: number,
  limit: number,
  readAfter: (from: number, limit: number) => Promise<T[]>,
): Promise<T[]> {
  const rows = await readAfter(from, limit);
  if (rows.every((a, i) => a.id === from + i + 1)) return rows;
  const settled = await lastSettledAuditId(deps);
  // Read again after the wait: rows that committed meanwhile fill what were gaps.
  return (await readAfter(from, limit)).filter((a) => a.id <= settled);
}

/** The highest audit id below which every transaction has ended (a reader's starting position). */
export function lastSettledAuditId(deps: Deps): Promise<number> {
  return tx(deps.uow, { actor: 'system:audit-reader', now: deps.clock.now(), requestId: null }, (r) =>
    r.webhooks.settledAuditId(),
  );
}

import { maskPhone } from '../../domain/mask.js';
import { err, ok, type Result } from '../../domain/result.js';
import type { RechargeBatchRecord } from '../../ports/records.js';
import type { Deps } from '../kernel/deps.js';

/** Refused rows shown in a batch's view; the result file has them all. */
const REJECTED_SHOWN = 100;

/** Where a batch stands: rows, refused rows, and its recharges per status. */
export interface BatchView {
  readonly id: string;
  readonly status: RechargeBatchRecord['status'];
  /** Data rows received. */
  readonly rows: number;
  /** Rows that passed the checks on arrival. */
  readonly valid: number;
  /** Rows turned into recharges so far. */
  readonly accepted: number;
  /** Valid rows not yet turned into recharges. */
  readonly pending: number;
  /** Refused rows, on arrival or (wallet no longer covering them) when their turn came. */
  readonly rejected_count: number;
  /** The first refused rows; the result file lists them all. */
  readonly rejected: RechargeBatchRecord['rejected'];
  /** The batch's recharges per status. */
  readonly counts: Readonly<Record<string, number>>;
  readonly succeeded: number;
  readonly failed: number;
  /** Accepted rows that ended (succeeded or failed). */
  readonly finished: number;
  /** Every row has its final answer. */
  readonly done: boolean;
  /** Where the result file is (CSV, one line per row). */
  readonly results: string;
  readonly created_at: string;
}

export async function batchOf(deps: Deps, tenantId: string, id: string): Promise<Result<BatchView>> {
  const read = deps.uow.read.recharges;
  const b = await read.getBatch(tenantId, id);
  if (b === undefined) return err('BATCH_NOT_FOUND', `no batch ${id}`);
  // The pending rows are kept on the batch as they are written and settled (counting them walked
  // the batch's rows on every look); the refused ones are few and counted.
  const [counts, rowCounts, firstRejected] = await Promise.all([
    read.countByBatch(tenantId, id),
    read.countBatchRows(id, ['rejected']),
    read.rejectedBatchRows(id, 0, REJECTED_SHOWN),
  ]);
  const accepted = Object.values(counts).reduce((a, n) => a + n, 0);
  const succeeded = counts.SUCCEEDED ?? 0;
  const failed = counts.FAILED ?? 0;
  const pending = b.pendingRows;
  const rejected = [
    ...b.rejected,
    ...firstRejected.map((r) => ({ line: r.line, code: r.code ?? 'UNKNOWN', message: r.message ?? '' })),
  ].slice(0, REJECTED_SHOWN);
  return ok({
    id: b.id,
    status: b.status,
    rows: b.rows,
    valid: b.validRows,
    accepted,
    pending,
    rejected_count: b.rejected.length + (rowCounts.rejected ?? 0),
    rejected,
    counts,
    succeeded,
    failed,
    finished: succeeded + failed,
    done: b.status === 'accepted' && pending === 0 && succeeded + failed === accepted,
    results: `/api/v1/batches/${b.id}/results`,
    created_at: new Date(b.createdAt).toISOString(),
  });
}

export const RESULT_HEADER = 'line,phone,amount,status,reason,recharge_id,channel';

/**
 * The result file, a line per row in file order, read a page at a time (memory stays flat).
 * Numbers are masked like every answer of the service: the line number ties a result to the
 * caller's own file (the CLI writes the full numbers back from it).
 */
export async function* batchResultLines(
  deps: Deps,
  tenantId: string,
  id: string,
  pageRows = 1000,
): AsyncGenerator<string> {
  const b = await deps.uow.read.recharges.getBatch(tenantId, id);
  if (b === undefined) return;
  yield RESULT_HEADER;
  let after = 0;
  for (;;) {
    const page = await deps.uow.read.recharges.batchResults(id, after, pageRows);
    for (const row of page) {
      const status =
        row.status === 'rejected'
          ? 'REJECTED'
          : row.status === 'pending'
            ? 'QUEUED'
            : (row.recharge?.status ?? 'QUEUED');
      const reason = row.status === 'rejected' ? (row.code ?? '') : (row.recharge?.reason ?? '');
      const phone = row.status === 'rejected' ? '' : maskPhone(row.phone);
      yield [row.line, phone, row.amount ?? '', status, reason, row.rechargeId ?? '', row.recharge?.channel ?? ''].join(
        ',',
      );
    }
    if (page.length < pageRows) return;
    after = page[page.length - 1]?.line ?? after;
  }
}

import { err, ok, type Result } from '../domain/result.js';
import type { JobRecord, RechargeBatchRecord } from '../ports/records.js';
import { asResult, type Caller, type Deps } from './context.js';
import type { RechargeRuntime } from './execute-recharge.js';
import { type CheckedRecharge, checkRecharge } from './request-recharge.js';
import { reserveAndCreate } from './request-recharge.js';
import type { IdempotencyRef } from './place-order.js';

export type BatchFormat = 'csv' | 'ndjson';

/** Rows per request at most: one transaction writes them all. */
export const MAX_BATCH_ROWS = 5000;

interface Row {
  readonly line: number;
  readonly phone: unknown;
  readonly amount: unknown;
}

type Rejected = RechargeBatchRecord['rejected'][number];

/** Read `phone,amount` CSV (optional header) or JSON lines `{"phone","amount"}`; amounts in fen. */
export function parseBatch(text: string, format: BatchFormat): { rows: Row[]; rejected: Rejected[] } {
  const rows: Row[] = [];
  const rejected: Rejected[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = i + 1;
    const t = raw.trim();
    if (t === '') return;
    if (format === 'ndjson') {
      try {
        const v = JSON.parse(t) as unknown;
        if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
        const o = v as Record<string, unknown>;
        rows.push({ line, phone: o.phone, amount: o.amount });
      } catch {
        rejected.push({ line, code: 'VALIDATION_FAILED', message: 'a line must be a JSON object {"phone", "amount"}' });
      }
      return;
    }
    const cells = t.split(',').map((c) => c.trim().replace(/^"(.*)"$/, '$1'));
    if (line === 1 && cells[0]?.toLowerCase() === 'phone') return; // the header
    if (cells.length !== 2) {
      rejected.push({ line, code: 'VALIDATION_FAILED', message: 'a row needs two cells: phone,amount (fen)' });
      return;
    }
    const amount = /^\d+$/.test(cells[1] ?? '') ? Number(cells[1]) : cells[1];
    rows.push({ line, phone: cells[0], amount });
  });
  return { rows, rejected };
}

/**
 * Accept a batch: every row is checked up front (bad rows are reported with their line number
 * and the others proceed), then ONE transaction writes the batch and, for each good row the
 * wallet still covers, a recharge with its reservation and a queued job. The job runner carries
 * them out with its bounded concurrency; each is durable on its own, so a crash resumes every
 * row where it stood and none is recharged twice.
 */
export async function requestRechargeBatch(
  deps: Deps,
  rt: RechargeRuntime,
  caller: Caller,
  input: { readonly text: string; readonly format: BatchFormat },
  idem?: IdempotencyRef,
): Promise<Result<{ batch: RechargeBatchRecord; jobs: JobRecord[] }>> {
  const parsed = parseBatch(input.text, input.format);
  const total = parsed.rows.length + parsed.rejected.length;
  if (total === 0) return err('VALIDATION_FAILED', 'the batch has no rows');
  if (total > MAX_BATCH_ROWS) return err('VALIDATION_FAILED', `a batch holds at most ${MAX_BATCH_ROWS} rows; split the file`, { rows: total });
  const rejected = [...parsed.rejected];
  const good: Array<{ line: number; checked: CheckedRecharge }> = [];
  for (const row of parsed.rows) {
    const c = checkRecharge(rt, { phone: row.phone, amount: row.amount });
    if (c.ok) good.push({ line: row.line, checked: c.value });
    else rejected.push({ line: row.line, code: c.error.code, message: c.error.message });
  }
  const now = deps.clock.now();
  const id = deps.ids.next('rcb');
  return asResult(() =>
    deps.uow.run(async (r) => {
      const jobs: JobRecord[] = [];
      for (const g of good) {
        const made = await reserveAndCreate(r, deps, rt, caller, g.checked, { now, batchId: id, leased: false });
        if (made === undefined) rejected.push({ line: g.line, code: 'INSUFFICIENT_BALANCE', message: 'the wallet no longer covers this row' });
        else jobs.push(made.job);
      }
      rejected.sort((a, b) => a.line - b.line);
      const batch: RechargeBatchRecord = { id, tenantId: caller.tenantId, userId: caller.userId, rows: total, rejected, createdBy: caller.actor, createdAt: now };
      await r.recharges.insertBatch(batch);
      if (idem !== undefined) await r.idempotency.setRecoveryPoint(caller.tenantId, idem.scope, idem.key, id);
      return { batch, jobs };
    }),
  );
}

/** Where a batch stands: rows, refused rows, and its recharges per status. */
export interface BatchView {
  readonly id: string;
  readonly rows: number;
  readonly accepted: number;
  readonly rejected: RechargeBatchRecord['rejected'];
  readonly counts: Readonly<Record<string, number>>;
  /** Accepted rows that ended (succeeded or failed). */
  readonly finished: number;
  readonly done: boolean;
  readonly created_at: string;
}

export async function batchOf(deps: Deps, tenantId: string, id: string): Promise<Result<BatchView>> {
  const b = await deps.uow.read.recharges.getBatch(tenantId, id);
  if (b === undefined) return err('BATCH_NOT_FOUND', `no batch ${id}`);
  const counts = await deps.uow.read.recharges.countByBatch(tenantId, id);
  const accepted = Object.values(counts).reduce((a, n) => a + n, 0);
  const finished = (counts.SUCCEEDED ?? 0) + (counts.FAILED ?? 0);
  return ok({ id: b.id, rows: b.rows, accepted, rejected: b.rejected, counts, finished, done: finished === accepted, created_at: new Date(b.createdAt).toISOString() });
}

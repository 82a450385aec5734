import { maskPhone } from '../domain/mask.js';
import { err, ok, type Result } from '../domain/result.js';
import type { BatchRowRecord, JobRecord, RechargeBatchRecord } from '../ports/records.js';
import { asResult, type Caller, type Deps, UseCaseError } from './context.js';
import type { RechargeRuntime } from './execute-recharge.js';
import { JOB, PRIORITY } from './job-kinds.js';
import type { IdempotencyRef } from './place-order.js';
import { checkRecharge, reserveAndCreate } from './request-recharge.js';
import { advanceJob, completeJob, enqueueLeased, type JobOutcome } from './run-jobs.js';

export type BatchFormat = 'csv' | 'ndjson';

/** One line of an uploaded file, numbered from 1 as an editor shows it. */
export interface BatchLine {
  readonly line: number;
  readonly text: string;
}

export interface BatchLimits {
  /** Data rows a batch may hold; a longer file is refused whole (`BATCH_TOO_LARGE`). */
  readonly maxRows: number;
  /** Rows written per transaction, on arrival and when turning them into recharges. */
  readonly chunkRows: number;
}

/** Refused rows shown in a batch's view; the result file has them all. */
const REJECTED_SHOWN = 100;

type ParsedLine =
  | { readonly kind: 'skip' }
  | { readonly kind: 'row'; readonly phone: unknown; readonly amount: unknown }
  | { readonly kind: 'bad'; readonly sent: string; readonly message: string };

/** Read one line: `phone,amount` CSV (optional header on line 1) or a JSON line `{"phone","amount"}`; amounts in fen. */
export function parseBatchLine(text: string, line: number, format: BatchFormat): ParsedLine {
  const t = text.trim();
  if (t === '') return { kind: 'skip' };
  if (format === 'ndjson') {
    try {
      const v = JSON.parse(t) as unknown;
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
      const o = v as Record<string, unknown>;
      return { kind: 'row', phone: o.phone, amount: o.amount };
    } catch {
      return { kind: 'bad', sent: t, message: 'a line must be a JSON object {"phone", "amount"}' };
    }
  }
  const cells = t.split(',').map((c) => c.trim().replace(/^"(.*)"$/, '$1'));
  if (line === 1 && cells[0]?.toLowerCase() === 'phone') return { kind: 'skip' }; // the header
  if (cells.length !== 2)
    return { kind: 'bad', sent: cells[0] ?? '', message: 'a row needs two cells: phone,amount (fen)' };
  const amount = /^\d+$/.test(cells[1] ?? '') ? Number(cells[1]) : cells[1];
  return { kind: 'row', phone: cells[0], amount };
}

const sentPhone = (v: unknown): string =>
  (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '').slice(0, 40);

/**
 * Receive a batch as it streams in. Each row is checked on arrival (number, face value, a number
 * already earlier in the file) and written with its line number, a chunk per transaction; no
 * money moves while the file arrives. When the last line is in, ONE transaction accepts the batch
 * and creates the job that turns its rows into recharges, so a broken-off upload leaves an
 * abandoned batch and nothing charged. Memory holds one chunk, whatever the file's length.
 */
export async function receiveRechargeBatch(
  deps: Deps,
  rt: RechargeRuntime,
  caller: Caller,
  input: { readonly lines: AsyncIterable<BatchLine>; readonly format: BatchFormat },
  idem?: IdempotencyRef,
): Promise<Result<{ batch: RechargeBatchRecord; job: JobRecord | undefined }>> {
  const limits = rt.batchLimits;
  const id = deps.ids.next('rcb');
  const start = deps.clock.now();
  const batch: RechargeBatchRecord = {
    id,
    tenantId: caller.tenantId,
    userId: caller.userId,
    status: 'receiving',
    format: input.format,
    rows: 0,
    validRows: 0,
    rejectedRows: 0,
    rejected: [],
    createdBy: caller.actor,
    createdAt: start,
    updatedAt: start,
  };
  await deps.uow.run((r) => r.recharges.insertBatch(batch));

  let rows = 0;
  let valid = 0;
  let chunk: BatchRowRecord[] = [];
  const flush = async (): Promise<void> => {
    const checked = await refuseRepeatedNumbers(deps, id, chunk);
    valid += checked.filter((r) => r.status === 'pending').length;
    await deps.uow.run((r) => r.recharges.insertBatchRows(checked));
    chunk = [];
  };
  const abandon = async (): Promise<void> => {
    await deps.uow.run(async (r) => {
      await r.recharges.updateBatch(caller.tenantId, id, 'receiving', {
        status: 'abandoned',
        rows,
        validRows: 0,
        rejectedRows: 0,
        updatedAt: deps.clock.now(),
      });
      await r.recharges.deleteBatchRows(id);
    });
  };

  try {
    for await (const { line, text } of input.lines) {
      const parsed = parseBatchLine(text, line, input.format);
      if (parsed.kind === 'skip') continue;
      rows += 1;
      if (rows > limits.maxRows) {
        await abandon();
        return err('BATCH_TOO_LARGE', `a batch holds at most ${limits.maxRows} rows; split the file`, {
          max_rows: limits.maxRows,
        });
      }
      chunk.push(checkRow(rt, id, line, parsed));
      if (chunk.length >= limits.chunkRows) await flush();
    }
    await flush();
  } catch (e) {
    // The upload broke off, failed its digest, or the database refused a write: nothing was charged.
    await abandon().catch(() => undefined);
    if (e instanceof UseCaseError) return err(e.code, e.message, e.details);
    throw e;
  }
  if (rows === 0) {
    await abandon();
    return err('VALIDATION_FAILED', 'the batch has no rows');
  }

  const now = deps.clock.now();
  return asResult(() =>
    deps.uow.run(async (r) => {
      const accepted = {
        status: 'accepted' as const,
        rows,
        validRows: valid,
        rejectedRows: rows - valid,
        updatedAt: now,
      };
      if (!(await r.recharges.updateBatch(caller.tenantId, id, 'receiving', accepted)))
        throw new UseCaseError('CONCURRENT_MODIFICATION', `batch ${id} is no longer receiving`);
      const job =
        valid === 0
          ? undefined
          : await enqueueLeased(
              r,
              deps,
              {
                tenantId: caller.tenantId,
                kind: JOB.expandRechargeBatch,
                resourceId: id,
                priority: PRIORITY.batchExpand,
              },
              now,
            );
      if (idem !== undefined) await r.idempotency.setRecoveryPoint(caller.tenantId, idem.scope, idem.key, id);
      return { batch: { ...batch, ...accepted }, job };
    }),
  );
}

function checkRow(
  rt: RechargeRuntime,
  batchId: string,
  line: number,
  parsed: Exclude<ParsedLine, { kind: 'skip' }>,
): BatchRowRecord {
  const refused = (phone: string, code: string, message: string): BatchRowRecord => ({
    batchId,
    line,
    phone,
    operator: null,
    amount: null,
    status: 'rejected',
    code,
    message,
    rechargeId: null,
  });
  if (parsed.kind === 'bad') return refused(parsed.sent.slice(0, 40), 'VALIDATION_FAILED', parsed.message);
  const c = checkRecharge(rt, { phone: parsed.phone, amount: parsed.amount });
  if (!c.ok) return refused(sentPhone(parsed.phone), c.error.code, c.error.message);
  return {
    batchId,
    line,
    phone: c.value.phone,
    operator: c.value.operator,
    amount: c.value.amount,
    status: 'pending',
    code: null,
    message: null,
    rechargeId: null,
  };
}

/** A number already on an earlier line of the same batch is refused: a repeated row is far more often a mistake than a wish. */
async function refuseRepeatedNumbers(
  deps: Deps,
  batchId: string,
  chunk: readonly BatchRowRecord[],
): Promise<BatchRowRecord[]> {
  const phones = [...new Set(chunk.filter((r) => r.status === 'pending').map((r) => r.phone))];
  const seen = await deps.uow.read.recharges.firstLinesOf(batchId, phones);
  return chunk.map((row) => {
    if (row.status !== 'pending') return row;
    const first = seen.get(row.phone);
    if (first === undefined) {
      seen.set(row.phone, row.line);
      return row;
    }
    return {
      ...row,
      status: 'rejected',
      operator: null,
      amount: null,
      code: 'DUPLICATE_NUMBER',
      message: `this number is already on line ${first} of the batch`,
    };
  });
}

/**
 * Job `recharge.batch`: turn the next chunk of an accepted batch's rows into recharges — each
 * reserved on the wallet, written and queued with its own job in the same transaction that marks
 * the row accepted (or refused, when the wallet no longer covers it) — then step to the next
 * chunk. A crash between chunks resumes at the first row still pending; no row is done twice.
 */
export async function expandRechargeBatch(job: JobRecord, deps: Deps, rt: RechargeRuntime): Promise<JobOutcome> {
  const { chunkRows } = rt.batchLimits;
  const batch = await deps.uow.read.recharges.getBatch(job.tenantId, job.resourceId);
  const rows = batch?.status === 'accepted' ? await deps.uow.read.recharges.pendingBatchRows(batch.id, chunkRows) : [];
  const now = deps.clock.now();
  if (batch === undefined || rows.length === 0) {
    await deps.uow.run((r) => completeJob(r, job, deps, now));
    return { kind: 'done' };
  }
  const caller: Caller = { tenantId: batch.tenantId, userId: batch.userId, actor: batch.createdBy, requestId: null };
  const next = await deps.uow.run(async (r) => {
    for (const row of rows) {
      if (row.operator === null || row.amount === null)
        throw new Error(`batch ${batch.id} line ${row.line} is pending without a checked number`);
      const checked = {
        phone: row.phone,
        operator: row.operator as Parameters<typeof reserveAndCreate>[4]['operator'],
        amount: row.amount,
      };
      const made = await reserveAndCreate(r, deps, rt, caller, checked, {
        now,
        batchId: batch.id,
        leased: false,
        priority: PRIORITY.batch,
      });
      const settled = await r.recharges.settleBatchRow(
        batch.id,
        row.line,
        made === undefined
          ? { status: 'rejected', code: 'INSUFFICIENT_BALANCE', message: 'the wallet no longer covers this row' }
          : { status: 'accepted', rechargeId: made.recharge.id },
      );
      if (!settled)
        throw new UseCaseError(
          'CONCURRENT_MODIFICATION',
          `batch ${batch.id} line ${row.line} was settled by someone else`,
        );
    }
    if (rows.length < chunkRows) {
      await completeJob(r, job, deps, now);
      return undefined;
    }
    return advanceJob(r, job, deps, { kind: JOB.expandRechargeBatch, priority: PRIORITY.batchExpand }, now);
  });
  // Their jobs are queued for any worker: wake this one and the others.
  deps.coordination.announce();
  return { kind: 'done', followUps: next === undefined ? [] : [{ job: next }] };
}

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
  const [counts, rowCounts, firstRejected] = await Promise.all([
    read.countByBatch(tenantId, id),
    read.countBatchRows(id),
    read.rejectedBatchRows(id, 0, REJECTED_SHOWN),
  ]);
  const accepted = Object.values(counts).reduce((a, n) => a + n, 0);
  const succeeded = counts.SUCCEEDED ?? 0;
  const failed = counts.FAILED ?? 0;
  const pending = rowCounts.pending ?? 0;
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

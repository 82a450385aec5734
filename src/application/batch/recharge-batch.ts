import { err, type Result } from '../../domain/result.js';
import type { HeldActionRecord } from '../../ports/held-actions.js';
import type { BatchRowRecord, JobRecord, RechargeBatchRecord } from '../../ports/records.js';
import type { Repositories } from '../../ports/repositories.js';
import type { ChangeSet } from '../kernel/change-set.js';
import { JOB, PRIORITY } from '../jobs/job-kinds.js';
import type { JobOutcome } from '../jobs/job-runner.js';
import { advanceJob, completeJob, enqueueLeased } from '../jobs/job-steps.js';
import { type Caller, SYSTEM } from '../kernel/caller.js';
import type { Deps } from '../kernel/deps.js';
import { type Confirmed, policyGate, takeHold } from '../kernel/holds.js';
import { type IdempotencyRef, recordRecoveryPoint } from '../kernel/idempotency.js';
import { spentToday } from '../kernel/spending.js';
import { tx } from '../kernel/tx.js';
import { asResult, UseCaseError } from '../kernel/use-case-error.js';
import {
  checkRecharge,
  type CheckedRecharge,
  type RechargeRuntime,
  reserveAndCreate,
} from '../recharge/recharge-api.js';

export type BatchFormat = 'csv' | 'ndjson';

/** One line of an uploaded file, numbered from 1 as an editor shows it. */
export interface BatchLine {
  readonly line: number;
  readonly text: string;
}

export interface BatchLimits {
  /** Data rows a batch may hold; a longer file is refused whole (`BATCH_TOO_LARGE`). */
  readonly maxRows: number;
  /** Rows written per transaction as the file arrives. */
  readonly chunkRows: number;
  /** Rows turned into recharges per transaction once the batch is accepted. */
  readonly expandRows: number;
}

type ParsedLine =
  | { readonly kind: 'skip' }
  | { readonly kind: 'row'; readonly phone: unknown; readonly amount: unknown }
  | { readonly kind: 'bad'; readonly sent: string; readonly message: string };

/**
 * Read one line: `phone,amount` CSV (optional header on line 1) or a JSON line
 * `{"phone","amount"}`; amounts in fen.
 */
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
  limits: BatchLimits,
  caller: Caller,
  input: { readonly lines: AsyncIterable<BatchLine>; readonly format: BatchFormat },
  idem?: IdempotencyRef,
): Promise<Result<ReceivedBatch>> {
  const meta = (): { actor: string; now: number; requestId: string | null } => ({
    actor: caller.actor,
    now: deps.clock.now(),
    requestId: caller.requestId,
  });
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
    pendingRows: 0,
    rejected: [],
    createdBy: caller.actor,
    createdAt: start,
    updatedAt: start,
  };
  await tx(deps.uow, meta(), (r) => r.recharges.insertBatch(batch));

  let rows = 0;
  let valid = 0;
  // Each valid row's amount: what the policy weighs once the whole file is in (bounded by maxRows).
  const amounts: number[] = [];
  const cap = deps.policy().max_order_amount;
  let chunk: BatchRowRecord[] = [];
  const flush = async (): Promise<void> => {
    const checked = await refuseRepeatedNumbers(deps, id, chunk);
    for (const row of checked) if (row.status === 'pending' && row.amount !== null) amounts.push(row.amount);
    valid += checked.filter((r) => r.status === 'pending').length;
    await tx(deps.uow, meta(), (r) => r.recharges.insertBatchRows(checked));
    chunk = [];
  };
  const abandon = async (): Promise<void> => {
    await tx(deps.uow, meta(), async (r) => {
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
      chunk.push(checkRow(rt, id, line, parsed, cap));
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
  const decided = await asResult(() =>
    tx(deps.uow, { ...meta(), now }, async (r, changes) => {
      // The one policy, on the whole batch: its total against the daily limit (a refusal), and
      // whether the person must confirm it first (held, with the count and total shown).
      const held =
        valid === 0 ? undefined : await batchGate(r, changes, deps, caller, { id, amounts, confirmed: undefined });
      const settled = {
        status: held === undefined ? ('accepted' as const) : ('held' as const),
        rows,
        validRows: valid,
        rejectedRows: rows - valid,
        updatedAt: now,
      };
      if (!(await r.recharges.updateBatch(caller.tenantId, id, 'receiving', settled)))
        throw new UseCaseError('CONCURRENT_MODIFICATION', `batch ${id} is no longer receiving`);
      changes.audit('batch', caller.tenantId, id, `batch.${settled.status}`, null, {
        status: settled.status,
        rows,
        valid_rows: valid,
        rejected_rows: rows - valid,
      });
      const job =
        valid === 0 || held !== undefined ? undefined : await enqueueExpansion(r, deps, caller.tenantId, id, now);
      await recordRecoveryPoint(r, caller.tenantId, idem, id);
      return { batch: { ...batch, ...settled }, job, held };
    }),
  );
  // Refused by the policy (or the database): the rows go, nothing was charged.
  if (!decided.ok) await abandon().catch(() => undefined);
  return decided;
}

/** What receiving a batch led to: accepted (its expansion job leased here), or held for the person. */
export interface ReceivedBatch {
  readonly batch: RechargeBatchRecord;
  readonly job: JobRecord | undefined;
  readonly held: HeldActionRecord | undefined;
}

const enqueueExpansion = (r: Repositories, deps: Deps, tenantId: string, id: string, now: number): Promise<JobRecord> =>
  enqueueLeased(
    r,
    deps,
    { tenantId, kind: JOB.expandRechargeBatch, resourceId: id, priority: PRIORITY.batchExpand },
    now,
  );

/**
 * The policy's gate for a whole batch: each row is one recharge (the cap was applied on arrival),
 * the total counts against today's limit, and a batch the person did not trust to run by itself
 * waits for them showing how many numbers and how much in all. Never under a mandate.
 */
function batchGate(
  r: Repositories,
  changes: ChangeSet,
  deps: Deps,
  caller: Caller,
  b: { readonly id: string; readonly amounts: readonly number[]; readonly confirmed: Confirmed | undefined },
): Promise<HeldActionRecord | undefined> {
  const total = b.amounts.reduce((s, a) => s + a, 0);
  return policyGate(r, changes, deps, caller, {
    action: 'recharge_phone',
    amounts: b.amounts,
    currency: 'CNY',
    confirmed: b.confirmed,
    hold: () => ({
      action: 'recharge_batch',
      params: { batch_id: b.id },
      shown: {
        what: `批量充值 batch recharge of ${b.amounts.length} numbers, ¥${(total / 100).toFixed(2)} in all (batch ${b.id})`,
        amount: total,
        currency: 'CNY',
        payee: `${b.amounts.length} phone numbers`,
        method: 'wallet',
        count: b.amounts.length,
      },
    }),
  });
}

/**
 * Run a batch the person confirmed: its hold taken, the limits checked again as they stand, and
 * its expansion job queued — in one transaction, so one "yes" accepts it once.
 */
export async function acceptConfirmedBatch(
  deps: Deps,
  limits: BatchLimits,
  caller: Caller,
  held: HeldActionRecord,
  confirmed: Confirmed,
): Promise<Result<ReceivedBatch>> {
  const id = typeof held.params.batch_id === 'string' ? held.params.batch_id : '';
  const now = deps.clock.now();
  return asResult(() =>
    tx(deps.uow, { actor: caller.actor, now, requestId: caller.requestId }, async (r, changes) => {
      const batch = await r.recharges.getBatch(caller.tenantId, id);
      if (batch === undefined || batch.userId !== held.userId || batch.status !== 'held') {
        throw new UseCaseError('CONFIRMATION_NOT_FOUND', `batch ${id} is not waiting for a confirmation`);
      }
      const rows = await r.recharges.pendingBatchRows(id, limits.maxRows);
      const amounts = rows.flatMap((row) => (row.amount === null ? [] : [row.amount]));
      await batchGate(r, changes, deps, caller, { id, amounts, confirmed });
      const accepted = { ...batch, status: 'accepted' as const, updatedAt: now };
      if (!(await r.recharges.updateBatch(caller.tenantId, id, 'held', accepted)))
        throw new UseCaseError('CONFIRMATION_NOT_FOUND', `batch ${id} was already decided`);
      changes.audit('batch', caller.tenantId, id, 'batch.accepted', { status: 'held' }, { status: 'accepted' });
      const job = await enqueueExpansion(r, deps, caller.tenantId, id, now);
      await takeHold(r, changes, caller, confirmed, id);
      return { batch: accepted, job, held: undefined };
    }),
  );
}

function checkRow(
  rt: RechargeRuntime,
  batchId: string,
  line: number,
  parsed: Exclude<ParsedLine, { kind: 'skip' }>,
  cap: number | undefined,
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
  // Each row is one recharge: the policy's per-transaction cap refuses it alone.
  if (cap !== undefined && c.value.amount > cap) {
    return refused(c.value.phone, 'POLICY_AMOUNT_CAP_EXCEEDED', `the amount exceeds the per-transaction cap of ${cap}`);
  }
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

/**
 * A number already on an earlier line of the same batch is refused: a repeated row is far more
 * often a mistake than a wish.
 */
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
export async function expandRechargeBatch(
  deps: Deps,
  rt: RechargeRuntime,
  limits: BatchLimits,
  job: JobRecord,
): Promise<JobOutcome> {
  const { expandRows } = limits;
  const batch = await deps.uow.read.recharges.getBatch(job.tenantId, job.resourceId);
  const rows = batch?.status === 'accepted' ? await deps.uow.read.recharges.pendingBatchRows(batch.id, expandRows) : [];
  const now = deps.clock.now();
  if (batch === undefined || rows.length === 0) {
    await tx(deps.uow, { actor: SYSTEM.worker, now, requestId: null }, (r) => completeJob(r, job, deps, now));
    return { kind: 'done' };
  }
  // The batch's rows run as the person who sent it.
  const caller: Caller = {
    tenantId: batch.tenantId,
    userId: batch.userId,
    actor: batch.createdBy,
    requestId: null,
    role: 'user',
  };
  const limit = deps.policy().daily_limit_per_user;
  const next = await tx(deps.uow, { actor: caller.actor, now, requestId: null }, async (r, changes) => {
    // The daily limit as it stands when each row's turn comes (other spending may have grown since).
    let spent = limit === undefined ? 0 : await spentToday(r, deps, caller, now, 'CNY');
    for (const row of rows) {
      if (row.operator === null || row.amount === null)
        throw new Error(`batch ${batch.id} line ${row.line} is pending without a checked number`);
      const checked: CheckedRecharge = {
        phone: row.phone,
        operator: row.operator as CheckedRecharge['operator'],
        amount: row.amount,
      };
      const overLimit = limit !== undefined && spent + checked.amount > limit;
      const made = overLimit
        ? undefined
        : await reserveAndCreate(r, changes, deps, rt, caller, checked, {
            batchId: batch.id,
            leased: false,
            priority: PRIORITY.batch,
          });
      if (made !== undefined) spent += checked.amount;
      const settled = await r.recharges.settleBatchRow(
        batch.id,
        row.line,
        made !== undefined
          ? { status: 'accepted', rechargeId: made.recharge.id }
          : overLimit
            ? {
                status: 'rejected',
                code: 'DAILY_LIMIT_EXCEEDED',
                message: `the daily spending limit of ${limit} is reached`,
              }
            : { status: 'rejected', code: 'INSUFFICIENT_BALANCE', message: 'the wallet no longer covers this row' },
      );
      if (!settled)
        throw new UseCaseError(
          'CONCURRENT_MODIFICATION',
          `batch ${batch.id} line ${row.line} was settled by someone else`,
        );
    }
    await r.recharges.settledBatchRows(batch.id, rows.length);
    if (rows.length < expandRows) {
      await completeJob(r, job, deps, now);
      return undefined;
    }
    return advanceJob(r, job, deps, { kind: JOB.expandRechargeBatch, priority: PRIORITY.batchExpand }, now);
  });
  // Their jobs are queued for any worker: wake this one and the others.
  deps.coordination.announce();
  return { kind: 'done', followUps: next === undefined ? [] : [{ job: next }] };
}

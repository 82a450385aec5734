import { err, ok, type Result } from '../../domain/result.js';
import type { HeldActionRecord } from '../../ports/held-actions.js';
import { type Confirmed, type HeldView, toHeldView } from '../kernel/holds.js';
import { JOB } from '../jobs/job-kinds.js';
import type { JobHandler } from '../jobs/job-runner.js';
import type { Runtime } from '../jobs/runtime.js';
import type { Caller } from '../kernel/caller.js';
import type { IdempotencyRef } from '../kernel/idempotency.js';
import { canSee } from '../kernel/ownership.js';
import type { RechargeRuntime } from '../recharge/recharge-api.js';
import { batchOf, batchResultLines, type BatchView } from './batch-view.js';
import {
  type BatchFormat,
  type BatchLimits,
  type BatchLine,
  acceptConfirmedBatch,
  expandRechargeBatch,
  receiveRechargeBatch,
} from './recharge-batch.js';

export { readLines } from './read-lines.js';
export { createBatchFeed, type BatchChange, type BatchFeed } from './batch-feed.js';
export { RESULT_HEADER, type BatchView } from './batch-view.js';
export type { BatchFormat, BatchLimits, BatchLine } from './recharge-batch.js';

/** Batch recharge from a file: streamed in, checked row by row, turned into recharges a chunk at a time. */
export interface BatchApi {
  /**
   * Many recharges at once from CSV (`phone,amount`) or JSON lines, read as they stream in: bad
   * rows are reported with their line numbers; once the whole file is in, the good ones become
   * recharges a chunk at a time, each queued for the worker (bounded concurrency).
   */
  receive(
    caller: Caller,
    input: { readonly lines: AsyncIterable<BatchLine>; readonly format: BatchFormat },
    idem?: IdempotencyRef,
  ): Promise<Result<BatchView & { readonly held?: HeldView }>>;
  /** Run a batch the person confirmed (the policy held it whole): its rows start turning into recharges. */
  runConfirmed(caller: Caller, held: HeldActionRecord, confirmed: Confirmed): Promise<Result<BatchView>>;
  /** A batch the caller may see (their own; any of the tenant's for operators). */
  get(caller: Caller, id: string): Promise<Result<BatchView>>;
  /** The batch's result file as CSV lines (header first), read a page at a time; empty if there is no such batch. */
  results(caller: Caller, id: string): AsyncGenerator<string>;
}

export function createBatch(
  runtime: Runtime,
  rt: RechargeRuntime | undefined,
  limits: BatchLimits,
): { readonly api: BatchApi; readonly jobs: Record<string, JobHandler> } {
  const { deps, runner } = runtime;
  const mayRead = async (caller: Caller, id: string): Promise<boolean> => {
    const b = await deps.uow.read.recharges.getBatch(caller.tenantId, id);
    return b !== undefined && canSee(caller, b.userId);
  };
  const notFound = (id: string): Result<BatchView> => err('BATCH_NOT_FOUND', `no batch ${id}`);
  return {
    api: {
      async receive(caller, input, idem) {
        if (rt === undefined) return err('NO_CHANNEL_AVAILABLE', 'phone recharge is not configured');
        const r = await receiveRechargeBatch(deps, rt, limits, caller, input, idem);
        if (!r.ok) return r;
        if (r.value.job !== undefined) void runner.runLeased({ job: r.value.job });
        const view = await batchOf(deps, caller.tenantId, r.value.batch.id);
        const { held } = r.value;
        return view.ok && held !== undefined ? ok({ ...view.value, held: toHeldView(held) }) : view;
      },
      async runConfirmed(caller, held, confirmed) {
        if (rt === undefined) return err('NO_CHANNEL_AVAILABLE', 'phone recharge is not configured');
        const r = await acceptConfirmedBatch(deps, limits, caller, held, confirmed);
        if (!r.ok) return r;
        if (r.value.job !== undefined) void runner.runLeased({ job: r.value.job });
        return batchOf(deps, caller.tenantId, r.value.batch.id);
      },
      get: async (caller, id) => ((await mayRead(caller, id)) ? batchOf(deps, caller.tenantId, id) : notFound(id)),
      async *results(caller, id) {
        if (await mayRead(caller, id)) yield* batchResultLines(deps, caller.tenantId, id);
      },
    },
    jobs: rt === undefined ? {} : { [JOB.expandRechargeBatch]: (job) => expandRechargeBatch(deps, rt, limits, job) },
  };
}

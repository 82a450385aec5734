import { err, ok, type Result } from '../../domain/result.js';
import type { HeldActionRecord } from '../../ports/held-actions.js';
import { JOB } from '../jobs/job-kinds.js';
import type { JobHandler } from '../jobs/job-runner.js';
import type { Runtime } from '../jobs/runtime.js';
import type { Caller } from '../kernel/caller.js';
import type { IdempotencyRef } from '../kernel/idempotency.js';
import { type Confirmed, heldOrMade, type HeldView, toHeldView } from '../kernel/holds.js';
import { canSee } from '../kernel/ownership.js';
import { waitAwhile } from '../kernel/run-and-wait.js';
import { executeRefund } from './execute-refund.js';
import { type RefundView, toRefundView } from './refund-view.js';
import { retryRefund, settleRefundOutside } from './recover-refund.js';
import { requestRefund } from './request-refund.js';

export { loadRefund, openRefund, settleRefund, type RefundContext } from './settle-refund.js';
export type { RefundView } from './refund-view.js';

/** A refund request's answer: the refund, or held for the person's confirmation. */
export type RefundOutcome =
  { readonly kind: 'held'; readonly held: HeldView } | { readonly kind: 'refund'; readonly refund: RefundView };

/** Refunds: giving money back through the payment's gateway, exactly once per refund. */
export interface RefundsApi {
  /**
   * Give money back for an order: all that is left, or `amount`. The refund is sent at once by
   * this process (its job is durable, so a crash resumes it); the answer says where it stands.
   */
  request(
    caller: Caller,
    orderId: string,
    request: { readonly amount?: number; readonly reason?: string },
    idem?: IdempotencyRef,
  ): Promise<Result<RefundOutcome>>;
  /** Run a refund the person confirmed (its hold taken in the same transaction). */
  runConfirmed(caller: Caller, held: HeldActionRecord, confirmed: Confirmed): Promise<Result<RefundOutcome>>;
  /** Where a refund request stands: the refund, or the hold it waits in (crash recovery). */
  outcomeOf(caller: Caller, id: string): Promise<Result<RefundOutcome>>;
  /**
   * Send a FAILED refund again: same record, same out_refund_no at the gateway. The answer says
   * where it stands after the configured wait, as a request's does.
   */
  retry(caller: Caller, refundId: string): Promise<Result<RefundOutcome>>;
  /** An operator records a FAILED refund as settled outside the system, with a note (audited). */
  settleOutside(caller: Caller, refundId: string, note: string): Promise<Result<RefundView>>;
  /** A refund of an order the caller may see. */
  get(caller: Caller, refundId: string): Promise<Result<RefundView>>;
  listForOrder(caller: Caller, orderId: string): Promise<Result<RefundView[]>>;
}

export function createRefunds(rt: Runtime): { readonly api: RefundsApi; readonly jobs: Record<string, JobHandler> } {
  const { deps, runner } = rt;
  const get = async (caller: Caller, refundId: string): Promise<Result<RefundView>> => {
    const r = await deps.uow.read.refunds.get(caller.tenantId, refundId);
    const order = r === undefined ? undefined : await deps.uow.read.orders.get(caller.tenantId, r.orderId);
    if (r === undefined || order === undefined || !canSee(caller, order.userId)) {
      return err('REFUND_NOT_FOUND', `no refund ${refundId}`);
    }
    return ok(toRefundView(r));
  };
  const outcomeOf = (caller: Caller, id: string): Promise<Result<RefundOutcome>> =>
    heldOrMade(deps, caller, id, async (made) => {
      const r = await get(caller, made);
      return r.ok ? ok({ kind: 'refund' as const, refund: r.value }) : r;
    });
  const run = async (
    caller: Caller,
    orderId: string,
    request: { readonly amount?: number; readonly reason?: string },
    idem: IdempotencyRef | undefined,
    confirmed?: Confirmed,
  ): Promise<Result<RefundOutcome>> => {
    const requested = await requestRefund(deps, caller, orderId, request, idem, confirmed);
    if (!requested.ok) return requested;
    const made = requested.value;
    if (made.kind === 'held') return ok({ kind: 'held', held: toHeldView(made.held) });
    await waitAwhile(runner.runLeased({ job: made.job }), rt.waitForCompletionMs);
    return outcomeOf(caller, made.refund.id);
  };
  return {
    api: {
      request: (caller, orderId, request, idem) => run(caller, orderId, request, idem),
      runConfirmed(caller, held, confirmed) {
        const p = held.params;
        return run(
          caller,
          typeof p.order_id === 'string' ? p.order_id : '',
          {
            ...(typeof p.amount === 'number' ? { amount: p.amount } : {}),
            ...(typeof p.reason === 'string' ? { reason: p.reason } : {}),
          },
          undefined,
          confirmed,
        );
      },
      outcomeOf,
      async retry(caller, refundId) {
        const sent = await retryRefund(deps, caller, refundId);
        if (!sent.ok) return sent;
        await waitAwhile(runner.runLeased({ job: sent.value.job }), rt.waitForCompletionMs);
        return outcomeOf(caller, refundId);
      },
      async settleOutside(caller, refundId, note) {
        const settled = await settleRefundOutside(deps, caller, refundId, note);
        return settled.ok ? ok(toRefundView(settled.value)) : settled;
      },
      get,
      async listForOrder(caller, orderId) {
        const order = await deps.uow.read.orders.get(caller.tenantId, orderId);
        if (order === undefined || !canSee(caller, order.userId)) return err('ORDER_NOT_FOUND', `no order ${orderId}`);
        return ok((await deps.uow.read.refunds.listByPayment(caller.tenantId, order.paymentId)).map(toRefundView));
      },
    },
    jobs: { [JOB.executeRefund]: (job) => executeRefund(deps, job) },
  };
}

import {
  type CreatePaymentRequest,
  type GatewayPaymentResult,
  type GatewayRefundResult,
  GatewayUnknownOutcomeError,
  type PaymentGateway,
  type RefundRequest,
} from '../../ports/payment-gateway.js';
import type { JobRecord } from '../../ports/records.js';
import type { Deps } from '../kernel/deps.js';
import { SYSTEM } from '../kernel/caller.js';
import { tx } from '../kernel/tx.js';
import type { JobOutcome } from './job-runner.js';
import { completeJob } from './job-steps.js';

/**
 * A call's answer the step acts on, or why to try again later; `waiting` when the reason is a
 * trade that waits for its payer (what they need to pay is in it).
 */
export type CallAnswer<R> =
  | { readonly ok: true; readonly result: R }
  | { readonly ok: false; readonly retry: string; readonly waiting?: GatewayPaymentResult };

/**
 * The shape every job that moves money through a gateway shares (pay an order, charge a top-up,
 * send a refund, give back a recharge's payment, give back a late capture): read what it works
 * on (outside any transaction); stop if nothing is left to do; call the gateway ONCE — a later
 * attempt asks before it acts, because an earlier call may have taken effect unheard; record the
 * answer in one transaction that also finishes or advances the job.
 */
export interface GatewayStep<S, R> {
  /** What the job works on; undefined when it does not exist (the job gives up). */
  load(): Promise<S | undefined>;
  /** Whether the call is still needed; false: the job completes as a no-op. */
  due(subject: S): boolean;
  /** The configured gateway the subject goes through. */
  gateway(subject: S): string;
  /** Call the outside world for the subject. */
  call(gateway: PaymentGateway, subject: S, firstAttempt: boolean): Promise<CallAnswer<R>>;
  /** Record a definite answer (one transaction) and say what comes next. */
  commit(subject: S, result: R): Promise<JobOutcome>;
  /** The trade waits for its payer: keep what they need to pay (the job then asks again later). */
  waiting?(subject: S, pending: GatewayPaymentResult): Promise<void>;
}

export async function runGatewayStep<S, R>(
  job: JobRecord,
  deps: Pick<Deps, 'uow' | 'clock' | 'gateways' | 'workerId' | 'settings' | 'ids'>,
  step: GatewayStep<S, R>,
): Promise<JobOutcome> {
  const subject = await step.load();
  if (subject === undefined) return { kind: 'give_up', error: `${job.kind}: ${job.resourceId} not found` };
  if (!step.due(subject)) {
    await tx(deps.uow, { actor: SYSTEM.worker, now: deps.clock.now(), requestId: null }, (r) =>
      completeJob(r, job, deps, deps.clock.now()),
    );
    return { kind: 'done' };
  }
  const name = step.gateway(subject);
  const gateway = deps.gateways.get(name);
  if (gateway === undefined) return { kind: 'give_up', error: `gateway ${name} is not configured` };
  const answer = await step.call(gateway, subject, job.attempts <= 1);
  if (!answer.ok) {
    if (answer.waiting !== undefined) await step.waiting?.(subject, answer.waiting);
    return { kind: 'retry', error: answer.retry };
  }
  return step.commit(subject, answer.result);
}

/** A failed call as a retry reason; an unknown outcome is named so. */
export function retryReason(e: unknown): string {
  const unknown = e instanceof GatewayUnknownOutcomeError;
  return `${unknown ? 'outcome unknown' : 'gateway error'}: ${e instanceof Error ? e.message : String(e)}`;
}

/** A charge's definite answer: paid, declined, or closed (never to be paid). */
export type DefiniteCharge = GatewayPaymentResult & { readonly status: 'succeeded' | 'failed' | 'closed' };

/**
 * Charge under a fixed out_trade_no without ever charging twice: on the first attempt create;
 * on any later one (a retry, a resume after a crash) QUERY first, because the earlier call may
 * have charged without our hearing back, and create again — same out_trade_no — only when the
 * gateway says "not found". Still pending, or not found after a create: try again later.
 */
export async function chargeOnce(
  gateway: PaymentGateway,
  firstAttempt: boolean,
  request: CreatePaymentRequest,
): Promise<CallAnswer<DefiniteCharge>> {
  let result: GatewayPaymentResult;
  try {
    result = firstAttempt
      ? { status: 'not_found', outTradeNo: request.outTradeNo }
      : await gateway.query(request.outTradeNo);
    if (result.status === 'not_found') result = await gateway.create(request);
  } catch (e) {
    return { ok: false, retry: retryReason(e) };
  }
  if (result.status === 'pending') return { ok: false, retry: 'payment pending at the gateway', waiting: result };
  if (result.status === 'not_found') return { ok: false, retry: 'gateway does not know the payment yet' };
  return { ok: true, result: { ...result, status: result.status } };
}

/**
 * The failure code of a charge's definite non-success. A trade we closed ourselves fails with the
 * reason we recorded before closing it, whoever hears of the close first (the pay job, the rule
 * that closed it, a callback's wake-up, reconciliation): the code never depends on that race.
 * Otherwise the gateway's code, or TRADE_CLOSED / DECLINED.
 */
export function failureCodeOf(result: DefiniteCharge, closeReason: string | undefined): string {
  if (result.status === 'closed' && closeReason !== undefined) return closeReason;
  return result.failureCode ?? (result.status === 'closed' ? 'TRADE_CLOSED' : 'DECLINED');
}

/**
 * Ask about a trade, and close it if it still waits for its payer, so it can never be paid
 * afterwards: the gateway's view after. A trade the gateway never saw counts as closed (a close
 * then keeps a late create from opening it). A payer who paid first wins: `succeeded`. A timeout
 * throws (outcome unknown): the caller must not act as if it were closed. `beforeClose` runs
 * between the question and the close (to record why we close, durably, first); when it answers
 * false nothing is closed and the gateway's `pending` view is returned.
 */
export async function closeUnpaid(
  gateway: PaymentGateway,
  outTradeNo: string,
  beforeClose?: () => Promise<boolean>,
): Promise<GatewayPaymentResult> {
  const seen = await gateway.query(outTradeNo);
  if (seen.status !== 'pending' && seen.status !== 'not_found') return seen;
  if (beforeClose !== undefined && !(await beforeClose())) return { ...seen, status: 'pending' };
  const closed = await gateway.close(outTradeNo);
  return closed.status === 'not_found' ? { ...closed, status: 'closed' } : closed;
}

/**
 * Refund under a fixed out_refund_no without ever refunding twice, as `chargeOnce` charges: the
 * first attempt sends; a later one asks about the key first and sends again, with the same key,
 * only if the gateway never heard of it.
 */
export async function refundOnce(
  gateway: PaymentGateway,
  firstAttempt: boolean,
  request: RefundRequest,
): Promise<CallAnswer<GatewayRefundResult & { readonly status: 'succeeded' | 'failed' }>> {
  let result: GatewayRefundResult;
  try {
    result = firstAttempt
      ? { status: 'not_found', outRefundNo: request.outRefundNo }
      : await gateway.queryRefund(request.outTradeNo, request.outRefundNo);
    if (result.status === 'not_found') result = await gateway.refund(request);
  } catch (e) {
    return { ok: false, retry: retryReason(e) };
  }
  if (result.status === 'pending') return { ok: false, retry: 'refund pending at the gateway' };
  if (result.status === 'not_found') return { ok: false, retry: 'gateway does not know the refund yet' };
  return { ok: true, result: { ...result, status: result.status } };
}

/** A capture whose amount differs from what we asked for: never booked, handed to a person (the job gives up). */
export function amountMismatch(
  result: { readonly amount?: { readonly amount: number; readonly currency: string } },
  expected: { readonly amount: number; readonly currency: string },
): string | undefined {
  const got = result.amount;
  if (got === undefined || (got.amount === expected.amount && got.currency === expected.currency)) return undefined;
  return `AMOUNT_MISMATCH: gateway recorded ${got.amount} ${got.currency}`;
}

import { account, transfer } from '../domain/ledger.js';
import { parseAmount } from '../domain/money.js';
import { err, ok, type Result } from '../domain/result.js';
import { transitionTopUp, type TopUpEvent } from '../domain/wallet.js';
import { transitionRecharge } from '../domain/recharge/recharge.js';
import type { JobRecord, TopUpRecord } from '../ports/records.js';
import type { Repositories } from '../ports/repositories.js';
import { chargeOnce } from './charge-once.js';
import { asResult, type Caller, type Deps, UseCaseError } from './context.js';
import { JOB, PRIORITY } from './job-kinds.js';
import type { IdempotencyRef } from './place-order.js';
import { completeJob, enqueueLeased, type JobOutcome } from './run-jobs.js';
import { commitRecharge } from './settle-recharge.js';
import { ChangeSet } from './state-changes.js';

const ACTOR = 'system:worker';

/** What the API shows of a top-up. */
export interface TopUpView {
  readonly id: string;
  readonly status: TopUpRecord['status'];
  readonly amount: number;
  readonly currency: string;
  readonly gateway: string;
  readonly out_trade_no: string;
  readonly failure_code: string | null;
  /** The recharge this payment pays for directly (it never reaches the wallet). */
  readonly recharge_id: string | null;
  /** Its refund, when that recharge failed. */
  readonly refund_status: TopUpRecord['refundStatus'] | null;
  readonly created_at: string;
  readonly updated_at: string;
}

export function toTopUpView(t: TopUpRecord): TopUpView {
  return {
    id: t.id,
    status: t.status,
    amount: t.amount,
    currency: t.currency,
    gateway: t.gateway,
    out_trade_no: t.outTradeNo,
    failure_code: t.failureCode,
    recharge_id: t.rechargeId ?? null,
    refund_status: t.refundStatus ?? null,
    created_at: new Date(t.createdAt).toISOString(),
    updated_at: new Date(t.updatedAt).toISOString(),
  };
}

/**
 * Create a top-up: the record with its out_trade_no and the job that charges it, in one
 * transaction, the job leased to this process so the caller can run it at once.
 */
export async function requestTopUp(
  deps: Deps,
  caller: Caller,
  amountIn: unknown,
  idem?: IdempotencyRef,
): Promise<Result<{ topUp: TopUpRecord; job: JobRecord }>> {
  const amount = parseAmount(amountIn);
  if (!amount.ok) return err(amount.error.code, amount.error.message, { ...amount.error.details, field: 'amount' });
  const topUp = newTopUp(deps, caller, amount.value, deps.clock.now());
  if (!topUp.ok) return topUp;
  return asResult(() =>
    deps.uow.run(async (r) => {
      const job = await insertTopUp(r, deps, caller, topUp.value);
      if (idem !== undefined)
        await r.idempotency.setRecoveryPoint(caller.tenantId, idem.scope, idem.key, topUp.value.id);
      return { topUp: topUp.value, job };
    }),
  );
}

/** A new PENDING top-up on the gateway routing picks; `rechargeId`: it pays that recharge directly. */
export function newTopUp(
  deps: Deps,
  caller: Caller,
  amount: number,
  now: number,
  rechargeId?: string,
): Result<TopUpRecord> {
  const method = deps.settings.paymentMethod;
  const gateway = deps.routeGateway({ amount: { amount, currency: 'CNY' }, method });
  if (!gateway.ok) return gateway;
  const id = deps.ids.next('wtu');
  return ok({
    id,
    tenantId: caller.tenantId,
    userId: caller.userId,
    amount,
    currency: 'CNY',
    status: 'PENDING',
    gateway: gateway.value,
    method,
    outTradeNo: `${id}_1`,
    gatewayTradeNo: null,
    failureCode: null,
    createdBy: caller.actor,
    updatedBy: caller.actor,
    createdAt: now,
    updatedAt: now,
    version: 1,
    ...(rechargeId === undefined ? {} : { rechargeId }),
  });
}

/** Inside the caller's transaction: write the top-up, its audit row and its job, leased to this process. */
export async function insertTopUp(r: Repositories, deps: Deps, caller: Caller, topUp: TopUpRecord): Promise<JobRecord> {
  const cs = new ChangeSet({ actor: caller.actor, now: topUp.createdAt, requestId: caller.requestId });
  await r.topUps.insert(topUp);
  cs.audit('top_up', topUp.tenantId, topUp.id, 'top_up.created', null, {
    status: 'PENDING',
    amount: topUp.amount,
    currency: 'CNY',
    gateway: topUp.gateway,
    out_trade_no: topUp.outTradeNo,
    ...(topUp.rechargeId === undefined ? {} : { recharge_id: topUp.rechargeId }),
  });
  await cs.flush(r);
  return enqueueLeased(
    r,
    deps,
    { tenantId: caller.tenantId, kind: JOB.payTopUp, resourceId: topUp.id, priority: PRIORITY.pay },
    topUp.createdAt,
  );
}

function moveTopUp(
  cs: ChangeSet,
  t: TopUpRecord,
  event: TopUpEvent,
  patch: Partial<Pick<TopUpRecord, 'gatewayTradeNo' | 'failureCode'>>,
): TopUpRecord {
  const moved = transitionTopUp(t.status, event);
  if (!moved.ok) throw new UseCaseError(moved.error.code, moved.error.message, moved.error.details);
  const next: TopUpRecord = {
    ...t,
    ...patch,
    status: moved.value,
    updatedBy: cs.meta.actor,
    updatedAt: cs.meta.now,
    version: t.version + 1,
  };
  cs.audit(
    'top_up',
    t.tenantId,
    t.id,
    `top_up.${event.type}`,
    { status: t.status, version: t.version },
    {
      status: next.status,
      version: next.version,
      ...(next.failureCode === null ? {} : { failure_code: next.failureCode }),
    },
  );
  return next;
}

async function saveTopUp(r: Repositories, prev: TopUpRecord, next: TopUpRecord): Promise<void> {
  if (!(await r.topUps.update(next, prev.version)))
    throw new UseCaseError('CONCURRENT_MODIFICATION', `top-up ${prev.id} was changed by someone else; try again`);
}

/**
 * Job `wallet.top_up`: charge the top-up through its gateway exactly once, as `order.pay` does
 * for orders — create on the first attempt, QUERY first on every later one (an earlier call may
 * have charged without our hearing back), create again only on "not found", same out_trade_no.
 * On success the balance grows and the ledger moves the money from the gateway to the wallet.
 */
export async function payTopUp(job: JobRecord, deps: Deps): Promise<JobOutcome> {
  const topUp = await deps.uow.read.topUps.get(job.tenantId, job.resourceId);
  if (topUp === undefined) return { kind: 'give_up', error: 'top-up not found' };
  if (topUp.status !== 'PENDING') {
    await deps.uow.run((r) => completeJob(r, job, deps, deps.clock.now()));
    return { kind: 'done' };
  }
  const gateway = deps.gateways.get(topUp.gateway);
  if (gateway === undefined) return { kind: 'give_up', error: `gateway ${topUp.gateway} is not configured` };
  const charged = await chargeOnce(gateway, job.attempts <= 1, {
    outTradeNo: topUp.outTradeNo,
    amount: { amount: topUp.amount, currency: topUp.currency },
    subject: 'wallet top-up',
    method: topUp.method,
    payer: topUp.userId,
  });
  if (!charged.ok) return { kind: 'retry', error: charged.retry };
  const { result } = charged;
  const now = deps.clock.now();
  const cs = new ChangeSet({ actor: ACTOR, now, requestId: null });
  switch (result.status) {
    case 'pending':
      return { kind: 'retry', error: 'top-up pending at the gateway' };
    case 'not_found':
      return { kind: 'retry', error: 'gateway does not know the top-up yet' };
    case 'succeeded': {
      if (
        result.amount !== undefined &&
        (result.amount.amount !== topUp.amount || result.amount.currency !== topUp.currency)
      ) {
        return {
          kind: 'give_up',
          error: `AMOUNT_MISMATCH: gateway recorded ${result.amount.amount} ${result.amount.currency}`,
        };
      }
      const paid = moveTopUp(cs, topUp, { type: 'succeed' }, { gatewayTradeNo: result.gatewayTradeNo ?? null });
      if (topUp.rechargeId !== undefined) {
        // A recharge paid directly: the money goes straight to recharge clearing, and the recharge starts.
        const rechargeId = topUp.rechargeId;
        cs.post(
          topUp.tenantId,
          `jrn_${topUp.id}`,
          'recharge.paid',
          'recharge',
          rechargeId,
          topUp.currency,
          transfer(account.gateway(topUp.gateway), account.rechargeClearing(topUp.tenantId), topUp.amount),
        );
        const next = await deps.uow.run(async (r) => {
          await saveTopUp(r, topUp, paid);
          await cs.flush(r);
          await completeJob(r, job, deps, now);
          return enqueueLeased(
            r,
            deps,
            { tenantId: topUp.tenantId, kind: JOB.executeRecharge, resourceId: rechargeId, priority: PRIORITY.pay },
            now,
          );
        });
        deps.logger.info({ top_up_id: topUp.id, recharge_id: rechargeId, amount: topUp.amount }, 'recharge paid');
        return { kind: 'done', followUps: [{ job: next }] };
      }
      cs.post(
        topUp.tenantId,
        `jrn_${topUp.id}`,
        'wallet.top_up',
        'top_up',
        topUp.id,
        topUp.currency,
        transfer(account.gateway(topUp.gateway), account.wallet(topUp.userId), topUp.amount),
      );
      await deps.uow.run(async (r) => {
        await saveTopUp(r, topUp, paid);
        await r.wallets.credit(topUp.tenantId, topUp.userId, topUp.currency, topUp.amount, now);
        await cs.flush(r);
        await completeJob(r, job, deps, now);
      });
      deps.logger.info(
        { top_up_id: topUp.id, out_trade_no: topUp.outTradeNo, amount: topUp.amount },
        'wallet topped up',
      );
      return { kind: 'done' };
    }
    case 'failed':
    case 'closed': {
      const code = result.failureCode ?? (result.status === 'closed' ? 'TRADE_CLOSED' : 'DECLINED');
      const failed = moveTopUp(cs, topUp, { type: 'fail', reason: code }, { failureCode: code });
      await deps.uow.run(async (r) => {
        await saveTopUp(r, topUp, failed);
        if (topUp.rechargeId !== undefined) await abandonUnpaidRecharge(r, deps, cs, topUp.tenantId, topUp.rechargeId);
        await cs.flush(r);
        await completeJob(r, job, deps, now);
      });
      deps.logger.warn(
        {
          top_up_id: topUp.id,
          failure_code: code,
          ...(topUp.rechargeId === undefined ? {} : { recharge_id: topUp.rechargeId }),
        },
        'top-up payment failed',
      );
      return { kind: 'done' };
    }
    default: {
      const unreachable: never = result.status;
      return { kind: 'give_up', error: `unexpected gateway status ${String(unreachable)}` };
    }
  }
}

export async function topUpOf(deps: Deps, tenantId: string, id: string): Promise<Result<TopUpView>> {
  const t = await deps.uow.read.topUps.get(tenantId, id);
  return t === undefined ? err('TOP_UP_NOT_FOUND', `no top-up ${id}`) : ok(toTopUpView(t));
}

/** The payment for a directly paid recharge failed: the recharge ends before any channel is asked (the one recharge commit). */
async function abandonUnpaidRecharge(
  r: Repositories,
  deps: Deps,
  cs: ChangeSet,
  tenantId: string,
  rechargeId: string,
): Promise<void> {
  const rec = await r.recharges.get(tenantId, rechargeId);
  if (rec === undefined) return;
  const moved = transitionRecharge(rec.state, { type: 'abandon', reason: 'PAYMENT_DECLINED' });
  if (!moved.ok) return; // already past CREATED: nothing to abandon
  await commitRecharge(r, deps, rec, moved.value, cs.meta);
}

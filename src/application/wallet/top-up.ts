import { PAYEE } from '../../domain/mandate.js';
import { keys } from '../../domain/keys.js';
import { parseAmount } from '../../domain/money.js';
import { err, ok, type Result } from '../../domain/result.js';
import { transitionTopUp, type TopUpEvent } from '../../domain/wallet.js';
import { settledAt } from '../../domain/settled-at.js';
import type { HeldActionRecord } from '../../ports/held-actions.js';
import type { JobRecord, TopUpRecord } from '../../ports/records.js';
import type { Repositories } from '../../ports/repositories.js';
import { JOB, PRIORITY } from '../jobs/job-kinds.js';
import { enqueueLeased } from '../jobs/job-steps.js';
import type { Caller } from '../kernel/caller.js';
import { type ChangeSet, conflict } from '../kernel/change-set.js';
import type { Deps } from '../kernel/deps.js';
import { type Confirmed, policyGate, takeHold } from '../kernel/holds.js';
import { type IdempotencyRef, recordRecoveryPoint } from '../kernel/idempotency.js';
import { tx } from '../kernel/tx.js';
import { asResult, UseCaseError } from '../kernel/use-case-error.js';

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
  readonly refund_status: NonNullable<TopUpRecord['refundStatus']> | null;
  /** While the payment waits for its payer: what they scan (QR content); null otherwise. */
  readonly qr_code: string | null;
  /** While it waits: a page the payer can open to pay (http/https), when the gateway gives one. */
  readonly pay_url: string | null;
  /** Until when the payer can pay; after it the trade is closed and the top-up fails. */
  readonly expires_at: string | null;
  readonly created_at: string;
  readonly updated_at: string;
}

/** What the payer of a top-up (or a directly paid recharge) needs, shown only while it can be paid. */
export function topUpPayerAction(t: TopUpRecord | undefined): {
  readonly qr_code: string | null;
  readonly pay_url: string | null;
  readonly expires_at: string | null;
} {
  return t !== undefined && t.status === 'PENDING' && t.qrCode !== undefined
    ? {
        qr_code: t.qrCode,
        pay_url: t.payUrl ?? null,
        expires_at: t.payExpiresAt === undefined ? null : new Date(t.payExpiresAt).toISOString(),
      }
    : { qr_code: null, pay_url: null, expires_at: null };
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
    ...topUpPayerAction(t),
    created_at: new Date(t.createdAt).toISOString(),
    updated_at: new Date(t.updatedAt).toISOString(),
  };
}

/** What a top-up request led to: a charge under way, or a hold for the person's confirmation. */
export type RequestedTopUp =
  | { readonly kind: 'made'; readonly topUp: TopUpRecord; readonly job: JobRecord }
  | { readonly kind: 'held'; readonly held: HeldActionRecord };

/**
 * Create a top-up: the record with its out_trade_no and the job that charges it, in one
 * transaction, the job leased to this process so the caller can run it at once — unless the
 * policy holds it for the person (`wallet_top_up` not trusted, or above the threshold).
 * `confirmed` runs one the person confirmed.
 */
export async function requestTopUp(
  deps: Deps,
  caller: Caller,
  amountIn: unknown,
  idem?: IdempotencyRef,
  confirmed?: Confirmed,
): Promise<Result<RequestedTopUp>> {
  const amount = parseAmount(amountIn);
  if (!amount.ok) return err(amount.error.code, amount.error.message, { ...amount.error.details, field: 'amount' });
  const now = deps.clock.now();
  const topUp = newTopUp(deps, caller, amount.value, now);
  if (!topUp.ok) return topUp;
  return asResult(() =>
    tx(deps.uow, { actor: caller.actor, now, requestId: caller.requestId }, async (r, changes) => {
      const held = await policyGate(r, changes, deps, caller, {
        action: 'wallet_top_up',
        amounts: [amount.value],
        currency: 'CNY',
        confirmed,
        payee: PAYEE.wallet,
        resourceId: topUp.value.id,
        hold: () => ({
          action: 'wallet_top_up',
          params: { amount: amount.value },
          shown: {
            what: `钱包充值 top up the wallet with ¥${(amount.value / 100).toFixed(2)}`,
            amount: amount.value,
            currency: 'CNY',
            payee: 'wallet',
            method: deps.settings.paymentMethod,
          },
        }),
      });
      if (held !== undefined) {
        await recordRecoveryPoint(r, caller.tenantId, idem, held.id);
        return { kind: 'held', held } as const;
      }
      const job = await insertTopUp(r, changes, deps, topUp.value, JOB.payTopUp);
      if (confirmed !== undefined) await takeHold(r, changes, caller, confirmed, topUp.value.id);
      await recordRecoveryPoint(r, caller.tenantId, idem, topUp.value.id);
      return { kind: 'made', topUp: topUp.value, job } as const;
    }),
  );
}

/** A new PENDING top-up on the gateway routing picks; `rechargeId`: it pays that recharge directly. */
export function newTopUp(
  deps: Pick<Deps, 'settings' | 'routeGateway' | 'ids'>,
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
    outTradeNo: keys.topUpOutTradeNo(id),
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

/**
 * Inside the caller's transaction: write the top-up, its audit row and the job (`kind`) that
 * charges it, leased to this process.
 */
export async function insertTopUp(
  r: Repositories,
  changes: ChangeSet,
  deps: Pick<Deps, 'workerId' | 'settings' | 'ids'>,
  topUp: TopUpRecord,
  kind: string,
): Promise<JobRecord> {
  await r.topUps.insert(topUp);
  changes.audit('top_up', topUp.tenantId, topUp.id, 'top_up.created', null, {
    status: 'PENDING',
    amount: topUp.amount,
    currency: 'CNY',
    gateway: topUp.gateway,
    out_trade_no: topUp.outTradeNo,
    ...(topUp.rechargeId === undefined ? {} : { recharge_id: topUp.rechargeId }),
  });
  return enqueueLeased(
    r,
    deps,
    { tenantId: topUp.tenantId, kind, resourceId: topUp.id, priority: PRIORITY.pay },
    changes.meta.now,
  );
}

/** Apply an event to a top-up in memory (audited); an illegal move throws. */
export function moveTopUp(
  changes: ChangeSet,
  t: TopUpRecord,
  event: TopUpEvent,
  patch: Partial<Pick<TopUpRecord, 'gatewayTradeNo' | 'failureCode'>>,
  /** The gateway's own time of the capture, when it reported one (see `settledAt`). */
  reportedAt?: number,
): TopUpRecord {
  const moved = transitionTopUp(t.status, event);
  if (!moved.ok) throw new UseCaseError(moved.error.code, moved.error.message, moved.error.details);
  const next: TopUpRecord = {
    ...t,
    ...patch,
    status: moved.value,
    ...(event.type === 'succeed' ? { settledAt: settledAt(reportedAt, t, changes.meta.now) } : {}),
    updatedBy: changes.meta.actor,
    updatedAt: changes.meta.now,
    version: t.version + 1,
  };
  if (next.status === 'FAILED') changes.endedUnpaid(t.tenantId, t.id);
  changes.audit(
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

/**
 * A change to a top-up that does not move its status (what its payer needs, why we close its
 * trade): stamped, audited as `action` (`shown` in the after image) and written version-checked.
 */
export async function amendTopUp(
  r: Repositories,
  changes: ChangeSet,
  prev: TopUpRecord,
  patch: Partial<Pick<TopUpRecord, 'qrCode' | 'payUrl' | 'payExpiresAt' | 'closeReason'>>,
  action: string,
  shown: Record<string, unknown>,
): Promise<TopUpRecord> {
  const { actor, now } = changes.meta;
  const next: TopUpRecord = { ...prev, ...patch, updatedBy: actor, updatedAt: now, version: prev.version + 1 };
  changes.audit(
    'top_up',
    prev.tenantId,
    prev.id,
    action,
    { version: prev.version },
    { ...shown, version: next.version },
  );
  await saveTopUp(r, prev, next);
  return next;
}

/** Version-checked write of a top-up moved from `prev`. */
export async function saveTopUp(r: Repositories, prev: TopUpRecord, next: TopUpRecord): Promise<void> {
  if (!(await r.topUps.update(next, prev.version))) throw conflict('top-up', prev.id);
}

import { carrierPayee } from '../../domain/mandate.js';
import { postings } from '../../domain/ledger/postings.js';
import { parseAmount } from '../../domain/money.js';
import { checkFaceValue } from '../../domain/recharge/face-values.js';
import { rechargeTarget } from '../../domain/recharge/number-segments.js';
import { createRecharge } from '../../domain/recharge/recharge.js';
import { maskPhone } from '../../domain/mask.js';
import { err, ok, type Result } from '../../domain/result.js';
import type { HeldActionRecord } from '../../ports/held-actions.js';
import type { JobRecord, RechargeRecord } from '../../ports/records.js';
import type { Repositories } from '../../ports/repositories.js';
import { JOB, PRIORITY } from '../jobs/job-kinds.js';
import { enqueueJob, enqueueLeased } from '../jobs/job-steps.js';
import type { Caller } from '../kernel/caller.js';
import type { ChangeSet } from '../kernel/change-set.js';
import type { Deps } from '../kernel/deps.js';
import { type Confirmed, policyGate, takeHold } from '../kernel/holds.js';
import { type IdempotencyRef, recordRecoveryPoint } from '../kernel/idempotency.js';
import { tx } from '../kernel/tx.js';
import { asResult, UseCaseError } from '../kernel/use-case-error.js';
import { insertTopUp, newTopUp } from '../wallet/wallet-api.js';
import type { RechargeRuntime } from './recharge-runtime.js';

export interface RechargeRequest {
  readonly phone: unknown;
  readonly amount: unknown;
  /** `wallet` (default): from the wallet's balance; `direct`: by a payment of its own through the gateways. */
  readonly pay?: 'wallet' | 'direct' | undefined;
}

/** A recharge request that passed every check: normalised number, operator, amount in fen. */
export interface CheckedRecharge {
  readonly phone: string;
  readonly operator: RechargeRecord['operator'];
  readonly amount: number;
}

/** Check the number (segment, category) and the amount (fen, an offered face value). */
export function checkRecharge(rt: RechargeRuntime, req: RechargeRequest): Result<CheckedRecharge> {
  const target = rechargeTarget(req.phone, rt.rechargeableCategories);
  if (!target.ok) return err(target.error.code, target.error.message, { ...target.error.details, field: 'phone' });
  const amount = parseAmount(req.amount);
  if (!amount.ok) return err(amount.error.code, amount.error.message, { ...amount.error.details, field: 'amount' });
  const face = checkFaceValue(rt.faceValues, target.value.operator, { amount: amount.value, currency: 'CNY' });
  if (!face.ok) return err(face.error.code, face.error.message, { ...face.error.details, field: 'amount' });
  return ok({ phone: target.value.number, operator: target.value.operator, amount: amount.value });
}

/**
 * Inside the caller's transaction: take the amount off the wallet (a conditional UPDATE — no
 * overdraft however many run at once), write the recharge, its audit row, the reservation
 * journal and its job (leased to this process, or queued for any worker). Undefined when the
 * wallet does not cover it: nothing was written.
 */
export async function reserveAndCreate(
  r: Repositories,
  changes: ChangeSet,
  deps: Deps,
  rt: RechargeRuntime,
  caller: Caller,
  checked: CheckedRecharge,
  options: {
    readonly batchId: string | null;
    readonly leased: boolean;
    readonly priority?: number;
    /** Its id when chosen beforehand (a mandate's spend was recorded under it). */
    readonly id?: string;
  },
): Promise<{ recharge: RechargeRecord; job: JobRecord } | undefined> {
  const { now } = changes.meta;
  if (!(await r.wallets.reserve(caller.tenantId, caller.userId, 'CNY', checked.amount, now))) return undefined;
  const recharge = newRecharge(deps, rt, caller, checked, now, options.batchId, undefined, options.id);
  await insertRecharge(r, changes, recharge);
  changes.book(postings.rechargeReserved(recharge));
  const job = {
    tenantId: caller.tenantId,
    kind: JOB.executeRecharge,
    resourceId: recharge.id,
    priority: options.priority ?? PRIORITY.pay,
  };
  return {
    recharge,
    job: options.leased ? await enqueueLeased(r, deps, job, now) : await enqueueJob(r, deps, job, now),
  };
}

function newRecharge(
  deps: Pick<Deps, 'ids'>,
  rt: RechargeRuntime,
  caller: Caller,
  checked: CheckedRecharge,
  now: number,
  batchId: string | null,
  paid?: { readonly id: string; readonly topUpId: string },
  chosenId?: string,
): RechargeRecord {
  const id = paid?.id ?? chosenId ?? deps.ids.next('rch');
  const topUpId = paid?.topUpId;
  const created = createRecharge(id, rt.maxAttempts);
  if (!created.ok) throw new Error(created.error.message);
  return {
    id,
    tenantId: caller.tenantId,
    userId: caller.userId,
    phone: checked.phone,
    operator: checked.operator,
    amount: checked.amount,
    currency: 'CNY',
    state: created.value,
    batchId,
    ...(topUpId === undefined ? {} : { topUpId }),
    createdBy: caller.actor,
    updatedBy: caller.actor,
    createdAt: now,
    updatedAt: now,
    version: 1,
  };
}

/** Write a new recharge with its audit row. */
async function insertRecharge(r: Repositories, changes: ChangeSet, recharge: RechargeRecord): Promise<void> {
  await r.recharges.insert(recharge);
  changes.audit('recharge', recharge.tenantId, recharge.id, 'recharge.created', null, {
    status: 'CREATED',
    operator: recharge.operator,
    amount: recharge.amount,
    currency: 'CNY',
    funding: recharge.topUpId === undefined ? 'wallet' : 'direct',
    ...(recharge.batchId === null ? {} : { batch_id: recharge.batchId }),
    ...(recharge.topUpId === undefined ? {} : { top_up_id: recharge.topUpId }),
  });
}

/** What a recharge request led to: a recharge under way, or a hold for the person's confirmation. */
export type RequestedRecharge =
  | { readonly kind: 'made'; readonly recharge: RechargeRecord; readonly job: JobRecord }
  | { readonly kind: 'held'; readonly held: HeldActionRecord };

/** The policy's gate for one recharge: held for the person, refused, or (undefined) run now. */
function gate(
  r: Repositories,
  changes: ChangeSet,
  deps: Deps,
  caller: Caller,
  checked: CheckedRecharge,
  pay: 'wallet' | 'direct',
  confirmed: Confirmed | undefined,
  rechargeId: string,
): Promise<HeldActionRecord | undefined> {
  return policyGate(r, changes, deps, caller, {
    action: 'recharge_phone',
    amounts: [checked.amount],
    currency: 'CNY',
    confirmed,
    payee: carrierPayee(checked.operator),
    resourceId: rechargeId,
    hold: () => ({
      action: 'recharge_phone',
      params: { phone: checked.phone, amount: checked.amount, pay },
      shown: {
        what: `话费充值 recharge ${maskPhone(checked.phone)} with ¥${(checked.amount / 100).toFixed(2)}`,
        amount: checked.amount,
        currency: 'CNY',
        payee: maskPhone(checked.phone),
        method: pay,
      },
    }),
  });
}

/**
 * Accept one phone recharge paid by a payment of its own (not from the wallet): the recharge and
 * the payment that pays it are written together; the payment's job runs first and, once the
 * money is captured, starts the recharge. If the recharge fails the payment is refunded.
 */
async function requestDirectRecharge(
  deps: Deps,
  rt: RechargeRuntime,
  caller: Caller,
  checked: CheckedRecharge,
  idem: IdempotencyRef | undefined,
  confirmed: Confirmed | undefined,
): Promise<Result<RequestedRecharge>> {
  const now = deps.clock.now();
  const rechargeId = deps.ids.next('rch');
  const topUp = newTopUp(deps, caller, checked.amount, now, rechargeId);
  if (!topUp.ok) return topUp;
  const recharge = newRecharge(deps, rt, caller, checked, now, null, { id: rechargeId, topUpId: topUp.value.id });
  return asResult(() =>
    tx(deps.uow, { actor: caller.actor, now, requestId: caller.requestId }, async (r, changes) => {
      const held = await gate(r, changes, deps, caller, checked, 'direct', confirmed, rechargeId);
      if (held !== undefined) {
        await recordRecoveryPoint(r, caller.tenantId, idem, held.id);
        return { kind: 'held', held } as const;
      }
      await insertRecharge(r, changes, recharge);
      const job = await insertTopUp(r, changes, deps, topUp.value, JOB.payRecharge);
      if (confirmed !== undefined) await takeHold(r, changes, caller, confirmed, rechargeId);
      await recordRecoveryPoint(r, caller.tenantId, idem, rechargeId);
      return { kind: 'made', recharge, job } as const;
    }),
  );
}

/**
 * Accept one phone recharge, paid from the caller's wallet (or, with `pay: "direct"`, by a
 * payment of its own); its job is leased to this process. The policy may hold it for the
 * person instead; `confirmed` runs one the person confirmed.
 */
export async function requestRecharge(
  deps: Deps,
  rt: RechargeRuntime,
  caller: Caller,
  req: RechargeRequest,
  idem?: IdempotencyRef,
  confirmed?: Confirmed,
): Promise<Result<RequestedRecharge>> {
  const checked = checkRecharge(rt, req);
  if (!checked.ok) return checked;
  if (req.pay === 'direct') return requestDirectRecharge(deps, rt, caller, checked.value, idem, confirmed);
  const rechargeId = deps.ids.next('rch');
  return asResult(() =>
    tx(deps.uow, { actor: caller.actor, now: deps.clock.now(), requestId: caller.requestId }, async (r, changes) => {
      const held = await gate(r, changes, deps, caller, checked.value, 'wallet', confirmed, rechargeId);
      if (held !== undefined) {
        await recordRecoveryPoint(r, caller.tenantId, idem, held.id);
        return { kind: 'held', held } as const;
      }
      const made = await reserveAndCreate(r, changes, deps, rt, caller, checked.value, {
        batchId: null,
        leased: true,
        id: rechargeId,
      });
      if (made === undefined) {
        const wallet = await r.wallets.get(caller.tenantId, caller.userId);
        throw new UseCaseError(
          'INSUFFICIENT_BALANCE',
          'the wallet balance does not cover this recharge; top it up first (POST /api/v1/wallet/top-ups)',
          { balance: wallet?.balance ?? 0, required: checked.value.amount, currency: 'CNY' },
        );
      }
      if (confirmed !== undefined) await takeHold(r, changes, caller, confirmed, made.recharge.id);
      await recordRecoveryPoint(r, caller.tenantId, idem, made.recharge.id);
      return { kind: 'made', ...made } as const;
    }),
  );
}

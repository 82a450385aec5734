import { account, transfer } from '../domain/ledger.js';
import { parseAmount } from '../domain/money.js';
import { checkFaceValue } from '../domain/recharge/face-values.js';
import { rechargeTarget } from '../domain/recharge/number-segments.js';
import { createRecharge } from '../domain/recharge/recharge.js';
import { err, type Result } from '../domain/result.js';
import type { JobRecord, RechargeRecord } from '../ports/records.js';
import { asResult, type Caller, type Deps, UseCaseError } from './context.js';
import type { RechargeRuntime } from './execute-recharge.js';
import { JOB, PRIORITY } from './job-kinds.js';
import type { IdempotencyRef } from './place-order.js';
import { enqueueLeased } from './run-jobs.js';
import { ChangeSet } from './state-changes.js';

export interface RechargeRequest {
  readonly phone: unknown;
  readonly amount: unknown;
}

/**
 * Accept a phone recharge: check the number and the face value, then in ONE transaction take
 * the amount off the wallet (a conditional UPDATE — no overdraft however many run at once),
 * write the recharge, its audit row, the reservation journal and the job that carries it out.
 */
export async function requestRecharge(
  deps: Deps,
  rt: RechargeRuntime,
  caller: Caller,
  req: RechargeRequest,
  idem?: IdempotencyRef,
): Promise<Result<{ recharge: RechargeRecord; job: JobRecord }>> {
  const target = rechargeTarget(req.phone, rt.rechargeableCategories);
  if (!target.ok) return err(target.error.code, target.error.message, { ...target.error.details, field: 'phone' });
  const amount = parseAmount(req.amount);
  if (!amount.ok) return err(amount.error.code, amount.error.message, { ...amount.error.details, field: 'amount' });
  const face = checkFaceValue(rt.faceValues, target.value.operator, { amount: amount.value, currency: 'CNY' });
  if (!face.ok) return err(face.error.code, face.error.message, { ...face.error.details, field: 'amount' });

  const now = deps.clock.now();
  const id = deps.ids.next('rch');
  const created = createRecharge(id, rt.maxAttempts);
  if (!created.ok) throw new Error(created.error.message);
  const recharge: RechargeRecord = {
    id,
    tenantId: caller.tenantId,
    userId: caller.userId,
    phone: target.value.number,
    operator: target.value.operator,
    amount: amount.value,
    currency: 'CNY',
    state: created.value,
    createdBy: caller.actor,
    updatedBy: caller.actor,
    createdAt: now,
    updatedAt: now,
    version: 1,
  };
  return asResult(() =>
    deps.uow.run(async (r) => {
      if (!(await r.wallets.reserve(caller.tenantId, caller.userId, 'CNY', amount.value, now))) {
        const wallet = await r.wallets.get(caller.tenantId, caller.userId);
        throw new UseCaseError('INSUFFICIENT_BALANCE', 'the wallet balance does not cover this recharge; top it up first (POST /api/v1/wallet/top-ups)', {
          balance: wallet?.balance ?? 0,
          required: amount.value,
          currency: 'CNY',
        });
      }
      const cs = new ChangeSet({ actor: caller.actor, now, requestId: caller.requestId });
      await r.recharges.insert(recharge);
      cs.audit('recharge', caller.tenantId, id, 'recharge.created', null, { status: 'CREATED', operator: recharge.operator, amount: recharge.amount, currency: 'CNY' });
      cs.post(caller.tenantId, `jrn_${id}_reserve`, 'recharge.reserved', 'recharge', id, 'CNY', transfer(account.wallet(caller.userId), account.rechargeClearing(caller.tenantId), amount.value));
      await cs.flush(r);
      if (idem !== undefined) await r.idempotency.setRecoveryPoint(caller.tenantId, idem.scope, idem.key, id);
      const job = await enqueueLeased(r, deps, { tenantId: caller.tenantId, kind: JOB.executeRecharge, resourceId: id, priority: PRIORITY.pay }, now);
      return { recharge, job };
    }),
  );
}

import { flagIds, jobIds } from '../../domain/keys.js';
import type { PaymentRecord } from '../../ports/records.js';
import type { Repositories } from '../../ports/repositories.js';
import { JOB, PRIORITY } from '../jobs/job-kinds.js';
import { enqueueOnce } from '../jobs/job-steps.js';
import type { ChangeSet } from '../kernel/change-set.js';
import type { Deps } from '../kernel/deps.js';
import { raiseFlagOnce } from '../kernel/review-flags.js';

/**
 * A gateway says it took money for a payment we recorded as failed or cancelled. Never move the
 * payment back: flag it for a person and queue the job that asks the gateway and gives the
 * money back — each at most once per payment, however many callbacks, rules and instances find
 * it at the same time (both are insert-first under deterministic ids). True when this call raised it.
 */
export async function flagLateCapture(
  r: Repositories,
  changes: ChangeSet,
  deps: Pick<Deps, 'workerId' | 'settings' | 'ids'>,
  payment: PaymentRecord,
  detail: Readonly<Record<string, unknown>>,
): Promise<boolean> {
  const raised = await raiseFlagOnce(
    r,
    changes,
    flagIds.lateCapture(payment.id),
    { tenantId: payment.tenantId, type: 'payment', id: payment.id },
    'LATE_CAPTURE',
    { recorded: payment.status, gateway_says: 'succeeded', amount: payment.amount, ...detail },
  );
  await enqueueOnce(
    r,
    deps,
    {
      id: jobIds.resolveLateCapture(payment.id),
      tenantId: payment.tenantId,
      kind: JOB.resolveLateCapture,
      resourceId: payment.id,
      priority: PRIORITY.refund,
    },
    changes.meta.now,
  );
  return raised;
}

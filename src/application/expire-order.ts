import type { JobRecord } from '../ports/records.js';
import type { Deps } from './context.js';
import { completeJob, type JobOutcome } from './run-jobs.js';
import { changeOrder, changePayment } from './state-changes.js';

/** Job `order.expire`: an order still waiting for the person after the timeout is cancelled. */
export async function expireOrder(job: JobRecord, deps: Deps): Promise<JobOutcome> {
  const now = deps.clock.now();
  await deps.uow.run(async (r) => {
    const o = await r.orders.get(job.tenantId, job.resourceId);
    if (o !== undefined && (o.status === 'AWAITING_CONFIRMATION' || o.status === 'AWAITING_PAYMENT')) {
      const meta = { actor: 'system:expiry', now, requestId: null };
      await changeOrder(r, o, { type: 'expire' }, { ...meta, reason: 'not confirmed or paid in time' });
      const p = await r.payments.get(o.tenantId, o.paymentId);
      if (p !== undefined && p.status === 'CREATED') await changePayment(r, p, { type: 'cancel' }, {}, meta);
    }
    await completeJob(r, job, deps, now);
  });
  return { kind: 'done' };
}

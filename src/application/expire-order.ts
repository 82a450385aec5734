import type { JobRecord } from '../ports/records.js';
import type { Deps } from './context.js';
import { completeJob, type JobOutcome } from './run-jobs.js';
import { ChangeSet } from './state-changes.js';

/** Job `order.expire`: an order still waiting for the person after the timeout is cancelled. */
export async function expireOrder(job: JobRecord, deps: Deps): Promise<JobOutcome> {
  const now = deps.clock.now();
  await deps.uow.run(async (r) => {
    const o = await r.orders.get(job.tenantId, job.resourceId);
    if (o !== undefined && (o.status === 'AWAITING_CONFIRMATION' || o.status === 'AWAITING_PAYMENT')) {
      const cs = new ChangeSet({ actor: 'system:expiry', now, requestId: null });
      await cs.saveOrder(r, o, cs.moveOrder(o, [{ type: 'expire' }], 'not confirmed or paid in time'));
      const p = await r.payments.get(o.tenantId, o.paymentId);
      if (p !== undefined && p.status === 'CREATED') await cs.savePayment(r, p, cs.movePayment(p, { type: 'cancel' }));
      await cs.flush(r);
    }
    await completeJob(r, job, deps, now);
  });
  return { kind: 'done' };
}

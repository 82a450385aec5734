import type { JobRecord } from '../../ports/records.js';
import type { JobOutcome } from '../jobs/job-runner.js';
import { completeJob } from '../jobs/job-steps.js';
import { SYSTEM } from '../kernel/caller.js';
import type { Deps } from '../kernel/deps.js';
import { tx } from '../kernel/tx.js';

/** Job `order.expire`: an order still waiting for the person after the timeout is cancelled. */
export async function expireOrder(deps: Deps, job: JobRecord): Promise<JobOutcome> {
  const now = deps.clock.now();
  await tx(deps.uow, { actor: SYSTEM.expiry, now, requestId: null }, async (r, changes) => {
    const found = await r.orders.getWithPayment(job.tenantId, job.resourceId);
    if (
      found !== undefined &&
      (found.order.status === 'AWAITING_CONFIRMATION' || found.order.status === 'AWAITING_PAYMENT')
    ) {
      const { order, payment } = found;
      await changes.saveOrder(
        r,
        order,
        changes.moveOrder(order, [{ type: 'expire' }], 'not confirmed or paid in time'),
      );
      if (payment.status === 'CREATED')
        await changes.savePayment(r, payment, changes.movePayment(payment, { type: 'cancel' }));
    }
    await completeJob(r, job, deps, now);
  });
  return { kind: 'done' };
}

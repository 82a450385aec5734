import { maskPhone } from '../../domain/mask.js';
import { matchesFilter } from '../../domain/webhooks.js';
import type { Notifier, NotifyResult, RechargeNotice } from '../../ports/notifier.js';
import type { JobRecord } from '../../ports/records.js';
import type { JobOutcome } from '../jobs/job-runner.js';
import { completeJob } from '../jobs/job-steps.js';
import type { Deps } from '../kernel/deps.js';
import { tx } from '../kernel/tx.js';
import { addressEvent } from './address-event.js';

/**
 * The `notify.recharge` job: tell the person how their recharge ended, through every configured
 * notifier, outside any transaction; then record that they were told (audit row `notice.sent`,
 * masked number) and finish the job in one transaction. A notifier that throws makes the job
 * retry (at least once: an SMS may go twice after a crash, never zero times).
 */
export function notifyRecharge(deps: Deps, notifiers: readonly Notifier[]) {
  return async (job: JobRecord): Promise<JobOutcome> => {
    const rec = await deps.uow.read.recharges.get(job.tenantId, job.resourceId);
    const status = rec?.state.status;
    if (rec === undefined || (status !== 'SUCCEEDED' && status !== 'FAILED')) {
      await tx(deps.uow, { actor: 'system:notifier', now: deps.clock.now(), requestId: null }, (r) =>
        completeJob(r, job, deps, deps.clock.now()),
      );
      return { kind: 'done' };
    }
    const notice: RechargeNotice = {
      tenantId: rec.tenantId,
      userId: rec.userId,
      rechargeId: rec.id,
      phone: rec.phone,
      status,
      amount: rec.amount,
      currency: rec.currency,
      reason: rec.state.status === 'FAILED' ? rec.state.reason : null,
      at: rec.updatedAt,
    };
    const sent: NotifyResult[] = [];
    for (const n of notifiers) sent.push(await n.notifyRecharge(notice));
    const now = deps.clock.now();
    await tx(deps.uow, { actor: 'system:notifier', now, requestId: null }, async (r, changes) => {
      changes.audit('recharge', rec.tenantId, rec.id, 'notice.sent', null, {
        to: maskPhone(rec.phone),
        status,
        channels: sent.map((s) => s.channel),
        references: sent.map((s) => s.reference),
      });
      await completeJob(r, job, deps, now);
    });
    return { kind: 'done' };
  };
}

/**
 * The webhook notifier: the notice as a `recharge.notification` event to the tenant's endpoints
 * that take it, through the same signed, ordered, retried deliveries as every other event (its
 * lane is the recharge's, after the event of the ending). Its id is the ending's, so a notice
 * repeated after a crash reaches each endpoint once. The number is masked.
 */
export function webhookNotifier(deps: Deps): Notifier {
  return {
    channel: 'webhook',
    async notifyRecharge(n) {
      const id = `evt_n${n.rechargeId}_${n.status.toLowerCase()}`;
      const subs = (await deps.uow.read.webhooks.enabledSubscriptions([n.tenantId])).filter((s) =>
        matchesFilter(s.events, 'recharge.notification'),
      );
      if (subs.length === 0) return { channel: 'webhook', reference: null };
      const now = deps.clock.now();
      await tx(deps.uow, { actor: 'system:notifier', now, requestId: null }, async (r) => {
        for (const s of subs)
          await addressEvent(
            r,
            deps,
            s,
            {
              id,
              tenantId: n.tenantId,
              type: 'recharge.notification',
              lane: `recharge:${n.rechargeId}`,
              seq: Number.MAX_SAFE_INTEGER,
              at: n.at,
              data: {
                recharge_id: n.rechargeId,
                user: n.userId,
                phone: maskPhone(n.phone),
                status: n.status,
                amount: n.amount,
                currency: n.currency,
                reason: n.reason,
              },
            },
            now,
          );
      });
      return { channel: 'webhook', reference: id };
    },
  };
}

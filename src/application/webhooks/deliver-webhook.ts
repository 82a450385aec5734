import { nextAttemptAt, type RetrySchedule } from '../../domain/webhooks.js';
import type { JobRecord } from '../../ports/records.js';
import type { Repositories } from '../../ports/repositories.js';
import type { WebhookAttemptResult, WebhookDeliveryRecord, WebhookTransport } from '../../ports/webhooks.js';
import type { JobOutcome } from '../jobs/job-runner.js';
import { completeJob, LeaseLostError } from '../jobs/job-steps.js';
import type { ChangeSet } from '../kernel/change-set.js';
import type { Deps } from '../kernel/deps.js';
import { raiseFlag } from '../kernel/review-flags.js';
import { tx } from '../kernel/tx.js';
import { startNextInLane } from './address-event.js';
import { endpointForLogs } from './webhook-view.js';

const ACTOR = 'system:webhooks';

/**
 * The `webhook.deliver` job: one attempt of one delivery. The POST happens outside any
 * transaction; then ONE transaction logs the attempt and decides: a 2xx ends the delivery (and
 * starts the next event of its lane); anything else reschedules this same job row for the next
 * attempt (exponential backoff, jitter) until the retry period is over — then the delivery
 * fails, the endpoint is disabled, and operators are told (audit row, review flag, error log).
 */
export function deliverWebhook(deps: Deps, transport: WebhookTransport, retry: RetrySchedule) {
  return async (job: JobRecord): Promise<JobOutcome> => {
    const read = deps.uow.read.webhooks;
    const d = await read.getDelivery(job.tenantId, job.resourceId);
    const sub = d === undefined ? undefined : await read.getSubscription(d.tenantId, d.subscriptionId);
    if (d?.status !== 'pending' || sub === undefined || sub.disabledAt !== null) {
      // Nothing to send: gone, already settled, or its endpoint was deleted or disabled meanwhile.
      const why = sub === undefined ? 'endpoint deleted' : 'endpoint disabled';
      await settle(deps, job, d, d?.status === 'pending' ? { failed: why } : undefined);
      return { kind: 'done' };
    }
    if (d.eventType === 'batch.completed' && (await rowsStillOnTheirWay(deps, job, d, retry))) return { kind: 'done' };
    const sentAt = deps.clock.now();
    const res = await transport.send({
      url: sub.url,
      eventId: d.eventId,
      at: sentAt,
      body: d.payload,
      secret: sub.secret,
    });
    const now = deps.clock.now();
    await tx(deps.uow, { actor: ACTOR, now, requestId: null }, async (r, changes) => {
      const cur = await r.webhooks.getDelivery(d.tenantId, d.id);
      if (cur?.status !== 'pending') return completeJob(r, job, deps, now);
      const n = cur.attempts + 1;
      await r.webhooks.insertAttempt({
        deliveryId: cur.id,
        tenantId: cur.tenantId,
        n,
        at: sentAt,
        statusCode: res.statusCode,
        latencyMs: res.latencyMs,
        error: res.error,
      });
      const tried = attempted(cur, res, n, sentAt, now);
      if (res.statusCode !== null && res.statusCode >= 200 && res.statusCode < 300) {
        await finish(r, job, deps, { ...tried, status: 'succeeded', nextAttemptAt: null }, now);
        return;
      }
      const next = nextAttemptAt(retry, tried.firstAttemptAt ?? sentAt, n, now, deps.random());
      if (next !== undefined) {
        if (!(await r.webhooks.updateDelivery({ ...tried, nextAttemptAt: next }, 'pending')))
          throw new LeaseLostError(`delivery ${cur.id} moved`);
        if (!(await r.jobs.release(job.id, deps.workerId, now, next, tried.lastError ?? 'not delivered')))
          throw new LeaseLostError(`lease on ${job.id} lost`);
        return;
      }
      await finish(r, job, deps, { ...tried, status: 'failed', nextAttemptAt: null }, now);
      await giveUp(r, changes, deps, cur, sub.url);
    });
    return { kind: 'done' };
  };
}

/**
 * `batch.completed` has its own lane, so nothing else orders it after its rows' events: while one
 * of them is still waiting or pending to this endpoint, look again after `retry.baseMs` (no
 * attempt is counted, nothing is sent), so the endpoint sees every row's ending before the batch's.
 */
async function rowsStillOnTheirWay(
  deps: Deps,
  job: JobRecord,
  d: WebhookDeliveryRecord,
  retry: RetrySchedule,
): Promise<boolean> {
  const batchId = d.lane.slice(d.lane.indexOf(':') + 1);
  const now = deps.clock.now();
  return tx(deps.uow, { actor: ACTOR, now, requestId: null }, async (r) => {
    if (!(await r.webhooks.batchRowsBusy(d.subscriptionId, batchId, d.seq))) return false;
    if (!(await r.jobs.release(job.id, deps.workerId, now, now + retry.baseMs, "waiting for the batch rows' events")))
      throw new LeaseLostError(`lease on ${job.id} lost`);
    return true;
  });
}

/** The delivery after attempt `n`: what the endpoint said, and the retry period's start. */
function attempted(
  d: WebhookDeliveryRecord,
  res: WebhookAttemptResult,
  n: number,
  sentAt: number,
  now: number,
): WebhookDeliveryRecord {
  const said = res.statusCode === null ? null : `HTTP ${res.statusCode}`;
  return {
    ...d,
    attempts: n,
    firstAttemptAt: d.firstAttemptAt ?? sentAt,
    lastStatusCode: res.statusCode,
    lastError: res.error ?? (res.statusCode !== null && (res.statusCode < 200 || res.statusCode >= 300) ? said : null),
    updatedAt: now,
  };
}

/** End a delivery (succeeded or failed), finish its job, start its lane's next event. */
async function finish(
  r: Repositories,
  job: JobRecord,
  deps: Deps,
  d: WebhookDeliveryRecord,
  now: number,
): Promise<void> {
  if (!(await r.webhooks.updateDelivery(d, 'pending'))) throw new LeaseLostError(`delivery ${d.id} moved`);
  await completeJob(r, job, deps, now);
  await startNextInLane(r, deps, d, now);
}

/** A job with nothing to send: fail its pending delivery (when given why) and move its lane on. */
async function settle(
  deps: Deps,
  job: JobRecord,
  d: WebhookDeliveryRecord | undefined,
  fail: { readonly failed: string } | undefined,
): Promise<void> {
  const now = deps.clock.now();
  await tx(deps.uow, { actor: ACTOR, now, requestId: null }, async (r) => {
    if (d === undefined || fail === undefined) return completeJob(r, job, deps, now);
    const failed: WebhookDeliveryRecord = {
      ...d,
      status: 'failed',
      lastError: fail.failed,
      nextAttemptAt: null,
      updatedAt: now,
    };
    if (await r.webhooks.updateDelivery(failed, 'pending')) {
      await completeJob(r, job, deps, now);
      await startNextInLane(r, deps, d, now);
    } else await completeJob(r, job, deps, now);
  });
}

/**
 * The retry period is over: disable the endpoint (once), audit it, raise a review flag, and log
 * at error level — the endpoint's own events stop, and an operator re-enables it (PATCH) and
 * redelivers what it missed.
 */
async function giveUp(
  r: Repositories,
  changes: ChangeSet,
  deps: Deps,
  d: WebhookDeliveryRecord,
  url: string,
): Promise<void> {
  const reason = `delivery ${d.id} (${d.eventType}) failed for the whole retry period: ${d.lastError ?? 'no answer'}`;
  if (!(await r.webhooks.disableSubscription(d.tenantId, d.subscriptionId, changes.meta.now, reason))) return;
  changes.audit(
    'webhook_subscription',
    d.tenantId,
    d.subscriptionId,
    'webhook.disabled',
    { enabled: true },
    {
      enabled: false,
      reason,
    },
  );
  const subject = { tenantId: d.tenantId, type: 'webhook_subscription', id: d.subscriptionId };
  await raiseFlag(r, changes, deps.ids, subject, 'WEBHOOK_DISABLED', {
    endpoint: endpointForLogs(url),
    delivery_id: d.id,
    event_type: d.eventType,
    last_status_code: d.lastStatusCode,
  });
  changes.afterCommit(() => {
    deps.logger.error(
      { tenant_id: d.tenantId, webhook_id: d.subscriptionId, endpoint: endpointForLogs(url), delivery_id: d.id },
      'webhook endpoint disabled: deliveries failed for the whole retry period',
    );
    return Promise.resolve();
  });
}

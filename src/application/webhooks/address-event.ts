import { eventBody, type WebhookEvent } from '../../domain/webhooks.js';
import type { Repositories } from '../../ports/repositories.js';
import type { WebhookDeliveryRecord, WebhookSubscriptionRecord } from '../../ports/webhooks.js';
import { JOB, PRIORITY } from '../jobs/job-kinds.js';
import type { Deps } from '../kernel/deps.js';

/**
 * A delivery job is never failed by the runner's attempt count: the handler keeps the retry
 * schedule (a period of days) itself and reschedules the same job row in place.
 */
const DELIVERY_MAX_ATTEMPTS = 1_000_000;

/** Queue the job that sends a pending delivery, inside the caller's transaction. */
export async function enqueueDelivery(
  r: Repositories,
  deps: Pick<Deps, 'ids'>,
  d: Pick<WebhookDeliveryRecord, 'id' | 'tenantId'>,
  now: number,
): Promise<void> {
  await r.jobs.enqueue({
    id: deps.ids.next('job'),
    tenantId: d.tenantId,
    kind: JOB.deliverWebhook,
    resourceId: d.id,
    priority: PRIORITY.notify,
    runAt: now,
    maxAttempts: DELIVERY_MAX_ATTEMPTS,
    now,
  });
}

/**
 * Address one event to one endpoint, inside the caller's transaction: insert first (an event
 * reaches an endpoint once, whichever instance gets there first), then start it at once unless an
 * earlier event of the same lane (resource) is still on its way there — that one starts it when
 * it ends (`startNextInLane`), so one resource's events arrive in commit order.
 */
export async function addressEvent(
  r: Repositories,
  deps: Pick<Deps, 'ids'>,
  sub: Pick<WebhookSubscriptionRecord, 'id' | 'tenantId'>,
  event: WebhookEvent,
  now: number,
): Promise<boolean> {
  await r.webhooks.lockLane(sub.id, event.lane);
  const busy = await r.webhooks.laneBusy(sub.id, event.lane);
  const d: WebhookDeliveryRecord = {
    id: deps.ids.next('dlv'),
    tenantId: sub.tenantId,
    subscriptionId: sub.id,
    eventId: event.id,
    eventType: event.type,
    lane: event.lane,
    seq: event.seq,
    payload: eventBody(event),
    status: busy ? 'waiting' : 'pending',
    attempts: 0,
    firstAttemptAt: null,
    nextAttemptAt: busy ? null : now,
    lastStatusCode: null,
    lastError: null,
    createdAt: now,
    updatedAt: now,
  };
  if (!(await r.webhooks.insertDelivery(d))) return false;
  if (!busy) await enqueueDelivery(r, deps, d, now);
  return true;
}

/** A delivery of this lane ended: start the lane's next waiting one, if nothing of it is pending. */
export async function startNextInLane(
  r: Repositories,
  deps: Pick<Deps, 'ids'>,
  d: Pick<WebhookDeliveryRecord, 'subscriptionId' | 'lane'>,
  now: number,
): Promise<void> {
  await r.webhooks.lockLane(d.subscriptionId, d.lane);
  const next = await r.webhooks.nextInLane(d.subscriptionId, d.lane);
  if (next === undefined) return;
  if (await r.webhooks.updateDelivery({ ...next, status: 'pending', nextAttemptAt: now, updatedAt: now }, 'waiting'))
    await enqueueDelivery(r, deps, next, now);
}

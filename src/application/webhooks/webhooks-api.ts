import { err, ok, type Result } from '../../domain/result.js';
import { matchesFilter, type RetrySchedule } from '../../domain/webhooks.js';
import type { Notifier } from '../../ports/notifier.js';
import type { WebhookTransport } from '../../ports/webhooks.js';
import { JOB } from '../jobs/job-kinds.js';
import type { JobHandler } from '../jobs/job-runner.js';
import type { Runtime } from '../jobs/runtime.js';
import type { Caller } from '../kernel/caller.js';
import { tx } from '../kernel/tx.js';
import { asResult, UseCaseError } from '../kernel/use-case-error.js';
import { addressEvent, enqueueDelivery } from './address-event.js';
import { deliverWebhook } from './deliver-webhook.js';
import { dispatchRound } from './dispatch-events.js';
import { type CreatedWebhook, subscriptionUseCases } from './manage-subscriptions.js';
import { notifyRecharge } from './notify-recharge.js';
import { deliveryView, type DeliveryView, type WebhookView } from './webhook-view.js';

export type { CreatedWebhook } from './manage-subscriptions.js';
export type { DeliveryView, WebhookView } from './webhook-view.js';
export { webhookNotifier } from './notify-recharge.js';

/** The role (`WorkCoordination.lead`) of the instance whose loop dispatches. */
export const DISPATCHER_ROLE = 'webhook-dispatcher';

export interface WebhookSettings {
  /** How often the dispatching instance looks for new audit rows (when a round found none). */
  readonly pollIntervalMs: number;
  /** Audit rows per round. */
  readonly batch: number;
  readonly retry: RetrySchedule;
  /** The notifiers that tell a person how their recharge ended (none: nobody is told). */
  readonly notifiers: readonly Notifier[];
  /** Accept endpoints on loopback, private, link-local and metadata addresses (tests, private networks). */
  readonly allowPrivateAddresses: boolean;
}

/** Outbound webhooks: endpoints, their delivery logs, redelivery, and events from outside the audit log. */
export interface WebhooksApi {
  create(caller: Caller, body: unknown): Promise<Result<CreatedWebhook>>;
  list(caller: Caller): Promise<WebhookView[]>;
  get(caller: Caller, id: string): Promise<Result<WebhookView>>;
  update(caller: Caller, id: string, body: unknown): Promise<Result<WebhookView>>;
  remove(caller: Caller, id: string): Promise<Result<WebhookView>>;
  /** An endpoint's deliveries, newest first, each with its attempts. */
  deliveries(
    caller: Caller,
    id: string,
    page: { readonly limit: number; readonly before?: string },
  ): Promise<Result<DeliveryView[]>>;
  /** Send a delivery again, with a new retry period (the same `webhook-id`). */
  redeliver(caller: Caller, id: string, deliveryId: string): Promise<Result<DeliveryView>>;
  /**
   * An event that no audit row stands for (a channel's breaker, which is per instance): to every
   * enabled endpoint that takes it, of `tenantId`, or of every tenant when undefined.
   */
  emit(event: {
    readonly type: string;
    readonly lane: string;
    readonly data: Readonly<Record<string, unknown>>;
    readonly tenantId?: string;
  }): Promise<void>;
  /**
   * One dispatcher round now, on this instance whether or not it leads (tests; the loop does it
   * on its own, on the leading instance only): audit rows handled.
   */
  dispatch(): Promise<number>;
  start(): void;
  stop(): void;
}

/**
 * The webhooks capability: subscription management, the dispatcher loop that turns committed
 * audit rows into deliveries, the `webhook.deliver` and `notify.recharge` jobs.
 */
export function createWebhooks(
  runtime: Runtime,
  transport: WebhookTransport,
  settings: WebhookSettings,
): { readonly api: WebhooksApi; readonly jobs: Readonly<Record<string, JobHandler>> } {
  const { deps, runner } = runtime;
  const subs = subscriptionUseCases(deps, transport, settings.allowPrivateAddresses);
  const dispatchSettings = { batch: settings.batch, notifyRecharges: settings.notifiers.length > 0 };
  let cancel: (() => void) | undefined;
  let running = false;

  const round = async (): Promise<number> => {
    const handled = await dispatchRound(deps, dispatchSettings);
    if (handled > 0) runner.wake();
    return handled;
  };

  const api: WebhooksApi = {
    create: subs.create,
    list: subs.list,
    get: subs.get,
    update: subs.update,
    remove: subs.remove,

    async deliveries(caller, id, page) {
      const read = deps.uow.read.webhooks;
      if ((await read.getSubscription(caller.tenantId, id)) === undefined)
        return err('WEBHOOK_NOT_FOUND', `no webhook ${id}`);
      const rows = await read.listDeliveries(caller.tenantId, id, page.limit, page.before);
      return ok(await Promise.all(rows.map(async (d) => deliveryView(d, await read.attempts(d.id)))));
    },

    redeliver: (caller, id, deliveryId) =>
      asResult(async () => {
        const now = deps.clock.now();
        const d = await tx(deps.uow, { actor: caller.actor, now, requestId: caller.requestId }, async (r, changes) => {
          const sub = await r.webhooks.getSubscription(caller.tenantId, id);
          if (sub === undefined) throw new UseCaseError('WEBHOOK_NOT_FOUND', `no webhook ${id}`);
          const cur = await r.webhooks.getDelivery(caller.tenantId, deliveryId);
          if (cur?.subscriptionId !== id)
            throw new UseCaseError('WEBHOOK_DELIVERY_NOT_FOUND', `no delivery ${deliveryId} of webhook ${id}`);
          if (sub.disabledAt !== null)
            throw new UseCaseError(
              'WEBHOOK_DISABLED',
              `webhook ${id} is disabled: enable it first (PATCH enabled: true)`,
            );
          // Already on its way: nothing to add.
          if (cur.status === 'pending' || cur.status === 'waiting') return cur;
          const again = {
            ...cur,
            status: 'pending' as const,
            firstAttemptAt: null,
            nextAttemptAt: now,
            updatedAt: now,
          };
          if (!(await r.webhooks.updateDelivery(again, cur.status))) return cur;
          await enqueueDelivery(r, deps, again, now);
          changes.audit('webhook_subscription', caller.tenantId, id, 'webhook.redelivered', null, {
            delivery_id: cur.id,
            event_id: cur.eventId,
            event_type: cur.eventType,
          });
          changes.afterCommit(() => Promise.resolve(runner.wake()));
          return again;
        });
        return deliveryView(d, await deps.uow.read.webhooks.attempts(d.id));
      }),

    async emit(event) {
      const read = deps.uow.read.webhooks;
      const subsFor = (
        await read.enabledSubscriptions(event.tenantId === undefined ? undefined : [event.tenantId])
      ).filter((s) => matchesFilter(s.events, event.type));
      if (subsFor.length === 0) return;
      const now = deps.clock.now();
      const id = deps.ids.next('evt');
      await tx(deps.uow, { actor: 'system:webhooks', now, requestId: null }, async (r) => {
        for (const s of subsFor)
          await addressEvent(
            r,
            deps,
            s,
            { id, tenantId: s.tenantId, type: event.type, lane: event.lane, seq: now, at: now, data: event.data },
            now,
          );
      });
      runner.wake();
    },

    dispatch: round,

    start() {
      if (running) return;
      running = true;
      const tick = (): void => {
        cancel = undefined;
        // One instance of all on the database reads the audit log for everyone: the others
        // would read the same rows only to lose the cursor's compare-and-set.
        deps.coordination
          .lead(DISPATCHER_ROLE)
          .then((leading) => (leading ? round() : 0))
          .catch((e: unknown) => {
            deps.logger.warn({ err: e }, 'webhook dispatch round failed; trying again');
            return 0;
          })
          .then((handled) => {
            // A full round means more may be waiting: go again at once.
            if (running) cancel = deps.clock.schedule(handled >= settings.batch ? 0 : settings.pollIntervalMs, tick);
          })
          .catch(() => undefined);
      };
      cancel = deps.clock.schedule(0, tick);
    },

    stop() {
      running = false;
      cancel?.();
      cancel = undefined;
    },
  };

  return {
    api,
    jobs: {
      [JOB.deliverWebhook]: deliverWebhook(deps, transport, settings.retry),
      [JOB.notifyRecharge]: notifyRecharge(deps, settings.notifiers),
    },
  };
}

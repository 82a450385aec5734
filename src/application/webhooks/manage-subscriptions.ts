import { err, ok, type Result } from '../../domain/result.js';
import { filterProblem, subscriptionCreateSchema, subscriptionPatchSchema, urlProblem } from '../../domain/webhooks.js';
import type { WebhookSubscriptionRecord, WebhookTransport } from '../../ports/webhooks.js';
import type { Caller } from '../kernel/caller.js';
import type { Deps } from '../kernel/deps.js';
import { tx } from '../kernel/tx.js';
import { asResult, UseCaseError } from '../kernel/use-case-error.js';
import { webhookView, type WebhookView } from './webhook-view.js';

/** The answer to creating a subscription: the only time its secret is shown. */
export type CreatedWebhook = WebhookView & { readonly secret: string };

const AUDIT_TYPE = 'webhook_subscription';

function invalid(
  code: 'VALIDATION_FAILED' | 'WEBHOOK_URL_INVALID' | 'WEBHOOK_EVENTS_INVALID',
  m: string,
  field: string,
) {
  return new UseCaseError(code, m, { field });
}

/** Parse a body with a schema; the first issue becomes VALIDATION_FAILED naming its field. */
function parse<T>(
  schema: {
    safeParse(
      v: unknown,
    ): { success: true; data: T } | { success: false; error: { issues: { message: string; path: PropertyKey[] }[] } };
  },
  body: unknown,
): T {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw invalid('VALIDATION_FAILED', issue?.message ?? 'invalid body', issue?.path.map(String).join('.') ?? '');
}

function checkUrl(url: string, allowPrivate: boolean): void {
  const problem = urlProblem(url, { allowPrivate });
  if (problem !== undefined) throw invalid('WEBHOOK_URL_INVALID', problem, 'url');
}

function checkEvents(events: readonly string[]): string[] {
  for (const [i, e] of events.entries()) {
    const problem = filterProblem(e);
    if (problem !== undefined) throw invalid('WEBHOOK_EVENTS_INVALID', problem, `events.${i}`);
  }
  return [...new Set(events)].sort();
}

/** Subscriptions: created, listed, read, changed and deleted by the tenant's admins (audited). */
export function subscriptionUseCases(deps: Deps, transport: Pick<WebhookTransport, 'newSecret'>, allowPrivate = false) {
  const meta = (caller: Caller) => ({ actor: caller.actor, now: deps.clock.now(), requestId: caller.requestId });
  const notFound = (id: string) => new UseCaseError('WEBHOOK_NOT_FOUND', `no webhook ${id}`);

  return {
    create: (caller: Caller, body: unknown): Promise<Result<CreatedWebhook>> =>
      asResult(async () => {
        const b = parse(subscriptionCreateSchema, body);
        checkUrl(b.url, allowPrivate);
        const events = checkEvents(b.events ?? ['*']);
        const m = meta(caller);
        const record: WebhookSubscriptionRecord = {
          id: deps.ids.next('whk'),
          tenantId: caller.tenantId,
          url: b.url,
          events,
          description: b.description ?? null,
          secret: transport.newSecret(),
          createdBy: caller.actor,
          createdAt: m.now,
          updatedAt: m.now,
          disabledAt: null,
          disabledReason: null,
        };
        await tx(deps.uow, m, async (r, changes) => {
          await r.webhooks.insertSubscription(record);
          // The audit row names the endpoint, never the secret.
          changes.audit(AUDIT_TYPE, caller.tenantId, record.id, 'webhook.created', null, { url: record.url, events });
        });
        return { ...webhookView(record), secret: record.secret };
      }),

    list: async (caller: Caller): Promise<WebhookView[]> =>
      (await deps.uow.read.webhooks.listSubscriptions(caller.tenantId)).map(webhookView),

    get: async (caller: Caller, id: string): Promise<Result<WebhookView>> => {
      const s = await deps.uow.read.webhooks.getSubscription(caller.tenantId, id);
      return s === undefined ? err('WEBHOOK_NOT_FOUND', `no webhook ${id}`) : ok(webhookView(s));
    },

    update: (caller: Caller, id: string, body: unknown): Promise<Result<WebhookView>> =>
      asResult(async () => {
        const b = parse(subscriptionPatchSchema, body ?? {});
        if (b.url !== undefined) checkUrl(b.url, allowPrivate);
        const events = b.events === undefined ? undefined : checkEvents(b.events);
        return tx(deps.uow, meta(caller), async (r, changes) => {
          const s = await r.webhooks.getSubscription(caller.tenantId, id);
          if (s === undefined) throw notFound(id);
          const now = changes.meta.now;
          const enable = b.enabled === true && s.disabledAt !== null;
          const disable = b.enabled === false && s.disabledAt === null;
          const next: WebhookSubscriptionRecord = {
            ...s,
            url: b.url ?? s.url,
            events: events ?? s.events,
            description: b.description ?? s.description,
            updatedAt: now,
            disabledAt: enable ? null : disable ? now : s.disabledAt,
            disabledReason: enable ? null : disable ? `disabled by ${caller.actor}` : s.disabledReason,
          };
          if (!(await r.webhooks.updateSubscription(next))) throw notFound(id);
          changes.audit(
            AUDIT_TYPE,
            caller.tenantId,
            id,
            'webhook.updated',
            { url: s.url, events: s.events, enabled: s.disabledAt === null },
            { url: next.url, events: next.events, enabled: next.disabledAt === null },
          );
          return webhookView(next);
        });
      }),

    remove: (caller: Caller, id: string): Promise<Result<WebhookView>> =>
      asResult(() =>
        tx(deps.uow, meta(caller), async (r, changes) => {
          const s = await r.webhooks.getSubscription(caller.tenantId, id);
          if (s === undefined || !(await r.webhooks.deleteSubscription(caller.tenantId, id))) throw notFound(id);
          changes.audit(AUDIT_TYPE, caller.tenantId, id, 'webhook.deleted', { url: s.url, events: s.events }, null);
          return webhookView(s);
        }),
      ),
  };
}

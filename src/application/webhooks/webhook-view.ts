import type { WebhookAttemptRecord, WebhookDeliveryRecord, WebhookSubscriptionRecord } from '../../ports/webhooks.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** A subscription as the API shows it: never its secret (shown once, when created). */
export interface WebhookView {
  readonly id: string;
  readonly url: string;
  readonly events: readonly string[];
  readonly description: string | null;
  readonly enabled: boolean;
  readonly disabled_at: string | null;
  readonly disabled_reason: string | null;
  readonly created_by: string;
  readonly created_at: string;
  readonly updated_at: string;
}

export function webhookView(s: WebhookSubscriptionRecord): WebhookView {
  return {
    id: s.id,
    url: s.url,
    events: s.events,
    description: s.description,
    enabled: s.disabledAt === null,
    disabled_at: iso(s.disabledAt),
    disabled_reason: s.disabledReason,
    created_by: s.createdBy,
    created_at: new Date(s.createdAt).toISOString(),
    updated_at: new Date(s.updatedAt).toISOString(),
  };
}

/** One attempt in the delivery log. */
export interface AttemptView {
  readonly n: number;
  readonly at: string;
  readonly status_code: number | null;
  readonly latency_ms: number;
  readonly error: string | null;
}

/** A delivery with its log of attempts. */
export interface DeliveryView {
  readonly id: string;
  readonly webhook_id: string;
  /** The `webhook-id` header: the same on every attempt and redelivery. */
  readonly event_id: string;
  readonly event_type: string;
  readonly status: WebhookDeliveryRecord['status'];
  readonly attempts: number;
  readonly next_attempt_at: string | null;
  readonly last_status_code: number | null;
  readonly last_error: string | null;
  readonly created_at: string;
  readonly updated_at: string;
  readonly log: readonly AttemptView[];
}

export function deliveryView(d: WebhookDeliveryRecord, attempts: readonly WebhookAttemptRecord[]): DeliveryView {
  return {
    id: d.id,
    webhook_id: d.subscriptionId,
    event_id: d.eventId,
    event_type: d.eventType,
    status: d.status,
    attempts: d.attempts,
    next_attempt_at: d.status === 'pending' ? iso(d.nextAttemptAt) : null,
    last_status_code: d.lastStatusCode,
    last_error: d.lastError,
    created_at: new Date(d.createdAt).toISOString(),
    updated_at: new Date(d.updatedAt).toISOString(),
    log: attempts.map((a) => ({
      n: a.n,
      at: new Date(a.at).toISOString(),
      status_code: a.statusCode,
      latency_ms: a.latencyMs,
      error: a.error,
    })),
  };
}

/** Where an endpoint is, fit for logs and review flags: no query string (it may carry a token). */
export function endpointForLogs(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '[invalid url]';
  }
}

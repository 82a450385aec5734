import { z } from 'zod';
import { maskText } from './mask.js';

/**
 * Outbound webhooks, the pure part: which events exist, how a subscription's filter picks them,
 * how an audit row becomes an event (the payload is the Standard Webhooks shape
 * `{"type","timestamp","data"}`), and the retry schedule.
 */

/** Event families and the event types a subscription may name (exactly, or as `family.*`). */
export const EVENT_FAMILIES = ['order', 'payment', 'refund', 'recharge', 'batch', 'review_flag', 'channel'] as const;
export type EventFamily = (typeof EVENT_FAMILIES)[number];

/** The event types that exist beyond the state moves (`order.<move>` etc., which follow the state machines). */
export const FIXED_EVENT_TYPES = [
  'batch.completed',
  'review_flag.raised',
  'channel.breaker_opened',
  'channel.breaker_closed',
  'recharge.notification',
] as const;

/** One filter entry: `*`, `family.*`, or an exact `family.name`. */
const FILTER_RE = /^(?:\*|([a-z_]+)\.(?:\*|[a-z_]{1,48}))$/;

/** Whether `type` is picked by any entry of `filter` (`*` and `family.*` are prefixes). */
export function matchesFilter(filter: readonly string[], type: string): boolean {
  return filter.some((f) => f === '*' || f === type || (f.endsWith('.*') && type.startsWith(f.slice(0, -1))));
}

/** Why an event filter entry is not accepted, or undefined when it is. */
export function filterProblem(entry: string): string | undefined {
  const m = FILTER_RE.exec(entry);
  if (m === null) return `"${entry}" is not an event type, "family.*" or "*"`;
  const family = m[1];
  if (family !== undefined && !(EVENT_FAMILIES as readonly string[]).includes(family))
    return `"${entry}": no event family "${family}"; families: ${EVENT_FAMILIES.join(', ')}`;
  return undefined;
}

/**
 * Whether a host written as an IP literal is one a service must not be made to call on a
 * caller's behalf: loopback, private (RFC 1918, IPv6 ULA), link-local (169.254.0.0/16 — the
 * cloud metadata service at 169.254.169.254 —, fe80::/10), AWS's IPv6 metadata fd00:ec2::254,
 * unspecified. Host names are not resolved here (`localhost` is named); the delivery transport
 * checks the address a name resolves to when it connects.
 */
export function privateHost(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  if (v4 !== null) {
    const [a, b] = [Number(v4[1]), Number(v4[2])];
    return (
      a === 0 ||
      a === 10 ||
      a === 127 ||
      (a === 169 && b === 254) ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168)
    );
  }
  if (!h.includes(':')) return false;
  // The URL parser writes IPv6 compressed and lower-case; IPv4-mapped as ::ffff:7f00:1.
  if (h === '::' || h === '::1') return true;
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(h);
  if (mapped !== null) {
    const n = (parseInt(mapped[1]!, 16) << 16) | parseInt(mapped[2]!, 16);
    return privateHost([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.'));
  }
  return /^f[cd][0-9a-f]{0,2}:/.test(h) || /^fe[89ab][0-9a-f]?:/.test(h);
}

/** Why a URL cannot be an endpoint, or undefined when it can. */
export function urlProblem(url: string, options: { readonly allowPrivate?: boolean } = {}): string | undefined {
  if (url.length > 2048) return 'the url is longer than 2048 characters';
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'the url is not an absolute URL';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    return `the url's scheme is ${u.protocol} (http or https only)`;
  // Credentials in a URL end up in logs and in every list of subscriptions: the secret signs instead.
  if (u.username !== '' || u.password !== '') return 'the url carries credentials (user:password@); drop them';
  if (u.hash !== '') return 'the url has a #fragment, which is never sent';
  if (options.allowPrivate !== true && privateHost(u.hostname))
    return (
      `the url's host ${u.hostname} is a loopback, private, link-local or metadata address ` +
      '(see webhooks.allow_private_addresses)'
    );
  return undefined;
}

/** The body of POST /api/v1/webhooks. */
export const subscriptionCreateSchema = z
  .object({
    url: z.string(),
    events: z.array(z.string()).min(1).max(64).optional(),
    description: z.string().max(200).optional(),
  })
  .strict();

/** The body of PATCH /api/v1/webhooks/:id (every field optional). */
export const subscriptionPatchSchema = z
  .object({
    url: z.string().optional(),
    events: z.array(z.string()).min(1).max(64).optional(),
    enabled: z.boolean().optional(),
    description: z.string().max(200).optional(),
  })
  .strict();

/** An event derived from something that happened, before it is addressed to any endpoint. */
export interface WebhookEvent {
  /** Stable per event: the `webhook-id` every delivery and redelivery of it carries. */
  readonly id: string;
  readonly tenantId: string;
  readonly type: string;
  /** Events of one lane (one resource) are delivered to an endpoint one at a time, in `seq` order. */
  readonly lane: string;
  readonly seq: number;
  readonly at: number;
  readonly data: Readonly<Record<string, unknown>>;
}

/** The audit row fields an event is derived from. */
export interface AuditFacts {
  readonly id: number;
  readonly tenantId: string;
  readonly at: number;
  readonly actor: string;
  readonly action: string;
  readonly resourceType: string;
  readonly resourceId: string;
  readonly before: unknown;
  readonly after: unknown;
}

/** Resource types whose own moves are events, as `<type>.<move>` (the audit action). */
const MOVING: ReadonlySet<string> = new Set(['order', 'payment', 'refund', 'recharge']);
/** Keys never copied into an event, whatever resource writes them. */
const SECRET_KEY = /(secret|password|token|key|phone|card|digest|jws|params)/i;

/**
 * Only plain values, strings masked (a channel's words may carry the number it was asked about),
 * and nothing whose name says it is a secret or a phone number: an event leaves the service.
 */
export function safeFields(v: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return out;
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (SECRET_KEY.test(k)) continue;
    if (typeof x === 'string') out[k] = maskText(x);
    else if (typeof x === 'number' || typeof x === 'boolean' || x === null) out[k] = x;
  }
  return out;
}

/**
 * The event an audit row stands for, if any. Every state change writes its audit row in its own
 * transaction, so an event exists exactly when its change committed; rows are numbered in commit
 * order per resource (the row lock on the resource is held from its update to the commit).
 */
export function eventFromAudit(a: AuditFacts): WebhookEvent | undefined {
  const base = { id: `evt_a${a.id}`, tenantId: a.tenantId, lane: `${a.resourceType}:${a.resourceId}`, seq: a.id };
  const at = a.at;
  if (a.action.startsWith('flag.') && a.action !== 'flag.resolved') {
    const after = safeFields(a.after);
    return {
      ...base,
      at,
      type: 'review_flag.raised',
      data: {
        flag_id: after.flag_id ?? null,
        code: after.code ?? a.action.slice('flag.'.length).toUpperCase(),
        resource_type: a.resourceType,
        resource_id: a.resourceId,
      },
    };
  }
  if (!MOVING.has(a.resourceType) || !a.action.startsWith(`${a.resourceType}.`)) return undefined;
  const before = safeFields(a.before);
  return {
    ...base,
    at,
    type: a.action,
    data: {
      id: a.resourceId,
      ...safeFields(a.after),
      ...(typeof before.status === 'string' ? { previous_status: before.status } : {}),
      actor: maskText(a.actor),
    },
  };
}

/** The exact bytes POSTed: the Standard Webhooks payload shape. */
export function eventBody(e: Pick<WebhookEvent, 'type' | 'at' | 'data'>): string {
  return JSON.stringify({ type: e.type, timestamp: new Date(e.at).toISOString(), data: e.data });
}

/** Retry settings of deliveries. */
export interface RetrySchedule {
  /** Keep trying this long after the first attempt, then give up and disable the endpoint. */
  readonly retryForMs: number;
  readonly baseMs: number;
  readonly maxMs: number;
}

/**
 * When attempt `attempts + 1` goes, after `attempts` failed ones of a delivery first tried at
 * `firstAt`: exponential (base · 2^(n-1), capped), with equal jitter, never past the retry
 * period's end (the last attempt is at its end). Undefined: the period is over, give up.
 */
export function nextAttemptAt(
  s: RetrySchedule,
  firstAt: number,
  attempts: number,
  now: number,
  random: number,
): number | undefined {
  const deadline = firstAt + s.retryForMs;
  if (now >= deadline) return undefined;
  const backoff = Math.min(s.maxMs, s.baseMs * 2 ** Math.max(0, attempts - 1));
  return Math.min(deadline, now + Math.round(backoff / 2 + (backoff / 2) * random));
}

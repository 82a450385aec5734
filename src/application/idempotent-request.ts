import { createHash } from 'node:crypto';
import { canonicalJson } from '../domain/canonical-json.js';
import type { Deps } from './context.js';
import type { IdempotencyRef } from './place-order.js';

export type IdempotencyStart =
  /** Run the request. `recoveryPoint` is set when an earlier attempt committed work and died before answering. */
  | { readonly kind: 'proceed'; readonly ref: IdempotencyRef; readonly recoveryPoint: string | null }
  /** Answer with the stored first response. */
  | {
      readonly kind: 'replay';
      readonly status: number;
      readonly body: string;
      readonly headers: Readonly<Record<string, string>>;
    }
  /** Same key, different body. */
  | { readonly kind: 'conflict' }
  /** The first request with this key is still running. */
  | { readonly kind: 'in_flight'; readonly retryAfterSeconds: number }
  | { readonly kind: 'invalid_key'; readonly reason: string };

const KEY_RE = /^[\x21-\x7e]{1,255}$/;

/** Fingerprint of a request body: SHA-256 of canonical JSON (key order ignored, null ≠ absent). */
export function fingerprint(body: unknown): string {
  return createHash('sha256')
    .update(canonicalJson(body ?? null))
    .digest('hex');
}

/**
 * Claim an Idempotency-Key (ACP §6 / Stripe semantics) in its own transaction. Scope is the
 * caller's identity plus the endpoint, so two callers never collide on one key.
 */
export async function beginIdempotent(
  deps: Deps,
  tenantId: string,
  scope: string,
  key: string,
  body: unknown,
): Promise<IdempotencyStart> {
  if (!KEY_RE.test(key)) {
    return { kind: 'invalid_key', reason: 'Idempotency-Key must be 1–255 printable ASCII characters without spaces' };
  }
  const fp = fingerprint(body);
  const now = deps.clock.now();
  const lockMs = deps.settings.idempotencyLockMs;
  return deps.uow.run(async (r) => {
    const existing = await r.idempotency.get(tenantId, scope, key);
    if (existing === undefined || existing.expiresAt < now) {
      if (existing !== undefined) await r.idempotency.remove(tenantId, scope, key);
      await r.idempotency.tryInsert({
        tenantId,
        scope,
        key,
        fingerprint: fp,
        state: 'in_flight',
        responseStatus: null,
        responseBody: null,
        responseHeaders: null,
        recoveryPoint: null,
        lockedUntil: now + lockMs,
        createdAt: now,
        expiresAt: now + deps.settings.idempotencyTtlMs,
      });
      return { kind: 'proceed', ref: { scope, key }, recoveryPoint: null };
    }
    if (existing.fingerprint !== fp) return { kind: 'conflict' };
    if (existing.state === 'completed' && existing.responseStatus !== null && existing.responseBody !== null) {
      return {
        kind: 'replay',
        status: existing.responseStatus,
        body: existing.responseBody,
        headers: existing.responseHeaders ?? {},
      };
    }
    if (existing.lockedUntil >= now) {
      return { kind: 'in_flight', retryAfterSeconds: Math.max(1, Math.ceil((existing.lockedUntil - now) / 1000)) };
    }
    // The first attempt died mid-request: take the key over and finish from its recovery point.
    await r.idempotency.relock(tenantId, scope, key, now, now + lockMs);
    return { kind: 'proceed', ref: { scope, key }, recoveryPoint: existing.recoveryPoint };
  });
}

/**
 * Store the first response for replay — or forget the key when nothing should be stored:
 * server errors (the client may retry) and validation failures (no work began).
 */
export async function finishIdempotent(
  deps: Deps,
  tenantId: string,
  ref: IdempotencyRef,
  response: {
    readonly status: number;
    readonly body: string;
    readonly headers: Readonly<Record<string, string>>;
    readonly store: boolean;
  },
): Promise<void> {
  await deps.uow.run(async (r) => {
    if (!response.store || response.status >= 500) await r.idempotency.remove(tenantId, ref.scope, ref.key);
    else await r.idempotency.complete(tenantId, ref.scope, ref.key, response);
  });
}

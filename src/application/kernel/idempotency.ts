import { createHash } from 'node:crypto';
import { canonicalJson } from '../../domain/canonical-json.js';
import type { IdempotencyRecord } from '../../ports/records.js';
import type { Repositories } from '../../ports/repositories.js';
import type { Deps } from './deps.js';

/** Where an idempotent request records what it created, inside the same transaction. */
export interface IdempotencyRef {
  readonly scope: string;
  readonly key: string;
}

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
 *
 * Insert first, then branch on what the database says: of any number of concurrent requests
 * with one key — on one instance or several — exactly one inserts the record and proceeds; on
 * PostgreSQL the others' inserts wait for its transaction and then find the key taken. Taking
 * over a key (its first request died, or it expired) is a conditional write whose result decides
 * too, so two retries can never both take it over.
 */
export async function beginIdempotent(
  deps: Pick<Deps, 'uow' | 'clock' | 'settings'>,
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
  const { idempotencyLockMs: lockMs, idempotencyTtlMs: ttlMs } = deps.settings;
  const ref = { scope, key };
  const fresh: IdempotencyRecord = {
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
    expiresAt: now + ttlMs,
  };
  const busy = (lockedUntil: number): IdempotencyStart => ({
    kind: 'in_flight',
    retryAfterSeconds: Math.max(1, Math.ceil((lockedUntil - now) / 1000)),
  });
  return deps.uow.run(async (r: Repositories) => {
    if (await r.idempotency.tryInsert(fresh)) return { kind: 'proceed', ref, recoveryPoint: null };
    const existing = await r.idempotency.get(tenantId, scope, key);
    // Gone between our insert and our read (its request failed and forgot it): the caller retries.
    if (existing === undefined) return busy(now);
    if (existing.expiresAt < now) {
      // A key past its life starts over as a new request — if we are the one who removes it.
      if ((await r.idempotency.removeExpired(tenantId, scope, key, now)) && (await r.idempotency.tryInsert(fresh))) {
        return { kind: 'proceed', ref, recoveryPoint: null };
      }
      return busy(now);
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
    if (existing.lockedUntil >= now) return busy(existing.lockedUntil);
    // The first request died mid-way: take the key over and finish from its recovery point —
    // unless another retry took it over first.
    if (!(await r.idempotency.relock(tenantId, scope, key, now, now + lockMs))) return busy(now + lockMs);
    return { kind: 'proceed', ref, recoveryPoint: existing.recoveryPoint };
  });
}

/**
 * Store the first response for replay — or forget the key when nothing should be stored:
 * server errors (the client may retry) and validation failures (no work began).
 */
export async function finishIdempotent(
  deps: Pick<Deps, 'uow'>,
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

/** Inside the transaction that creates the resource: remember it as the request's recovery point. */
export async function recordRecoveryPoint(
  r: Repositories,
  tenantId: string,
  ref: IdempotencyRef | undefined,
  resourceId: string,
): Promise<void> {
  if (ref !== undefined) await r.idempotency.setRecoveryPoint(tenantId, ref.scope, ref.key, resourceId);
}

/** Idempotency-Key handling as transports use it: claim the key, then store (or forget) the answer. */
export interface IdempotencyApi {
  begin(tenantId: string, scope: string, key: string, body: unknown): Promise<IdempotencyStart>;
  finish(
    tenantId: string,
    ref: IdempotencyRef,
    response: {
      readonly status: number;
      readonly body: string;
      readonly headers: Readonly<Record<string, string>>;
      readonly store: boolean;
    },
  ): Promise<void>;
}

export function createIdempotency(deps: Pick<Deps, 'uow' | 'clock' | 'settings'>): IdempotencyApi {
  return {
    begin: (tenantId, scope, key, body) => beginIdempotent(deps, tenantId, scope, key, body),
    finish: (tenantId, ref, response) => finishIdempotent(deps, tenantId, ref, response),
  };
}

import rateLimit, { type FastifyRateLimitStore, type FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../../../ports/clock.js';
import { problem, ProblemError } from './problem.js';
import { credentialSource, ipSource } from './sources.js';

/** Request budgets, from `rate_limit`. */
export interface RateLimitSettings {
  readonly enabled: boolean;
  /** Requests per window for one credential (the Authorization header's, hashed). */
  readonly perCredentialMax: number;
  /** Requests per window for one source IP, for requests without a credential. */
  readonly perIpMax: number;
  readonly windowMs: number;
  /**
   * An ioredis client: every instance given the same Redis counts in it, so they share one budget
   * (the plugin's own Redis store, an atomic INCR + PEXPIRE script). Absent: this process's memory,
   * on `clock`.
   */
  readonly redis?: unknown;
  readonly clock: Clock;
}

/**
 * Routes with no per-credential or per-IP budget: liveness and readiness (probes), and the
 * gateways' and channels' callbacks — they retry from a few addresses, and their signatures are
 * checked instead (a forged one counts toward blocking the source).
 */
export const RATE_LIMIT_EXEMPT: ReadonlySet<string> = new Set([
  '/healthz',
  '/readyz',
  '/api/v1/callbacks/:gateway',
  '/api/v1/recharge-callbacks/:channel',
]);

/** Most keys the in-memory counters hold; past it the oldest windows are forgotten. */
const MAX_KEYS = 100_000;

/**
 * Fixed windows in memory on the injected clock (the plugin's own LocalStore reads Date.now(),
 * which a test cannot step): a key's window opens at its first request and lasts `timeWindow`.
 */
function clockStore(clock: Clock): FastifyRateLimitStoreCtor {
  return class ClockStore implements FastifyRateLimitStore {
    private readonly windows = new Map<string, { count: number; start: number }>();

    incr(
      key: string,
      callback: (error: Error | null, result?: { current: number; ttl: number }) => void,
      timeWindow: number,
    ): void {
      const now = clock.now();
      let w = this.windows.get(key);
      if (w === undefined || w.start + timeWindow <= now) {
        w = { count: 0, start: now };
        // Re-inserted, so the map's order is oldest window first: what goes when it is full.
        this.windows.delete(key);
        this.windows.set(key, w);
        if (this.windows.size > MAX_KEYS) {
          const oldest = this.windows.keys().next();
          if (oldest.done !== true) this.windows.delete(oldest.value);
        }
      }
      w.count += 1;
      callback(null, { current: w.count, ttl: w.start + timeWindow - now });
    }

    child(): FastifyRateLimitStore {
      return new ClockStore();
    }
  };
}

/**
 * `@fastify/rate-limit` on every route but the exempt ones, keyed by the request's credential
 * (hashed) when it carries one and by its source IP otherwise, each with its own budget. Over
 * budget: 429 problem+json `RATE_LIMITED` with `Retry-After`; every answer of a limited route
 * carries `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (seconds). Redis
 * trouble lets requests through (`skipOnError`): an outage of the counters must not refuse
 * everyone. Register before the routes (the plugin hooks each route as it is added).
 */
export function registerRateLimit(app: FastifyInstance, s: RateLimitSettings): void {
  if (!s.enabled) return;
  void app.register(rateLimit, {
    global: true,
    hook: 'onRequest',
    timeWindow: s.windowMs,
    keyGenerator: (req) => credentialSource(req) ?? ipSource(req),
    max: (_req, key) => (key.startsWith('credential:') ? s.perCredentialMax : s.perIpMax),
    allowList: (req) => RATE_LIMIT_EXEMPT.has(req.routeOptions.url ?? ''),
    enableDraftSpec: true,
    skipOnError: true,
    nameSpace: 'autoglm:rate:',
    ...(s.redis === undefined ? { store: clockStore(s.clock) } : { redis: s.redis }),
    errorResponseBuilder: (req, ctx) =>
      new ProblemError(
        problem('RATE_LIMITED', `too many requests; retry in ${ctx.after}`, req.id, {
          limit: ctx.max,
          retry_after_seconds: Math.ceil(ctx.ttl / 1000),
        }),
      ),
  });
}

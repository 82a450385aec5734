import { z } from 'zod';
import { seededRandom } from '../random.js';

const fraction = z.number().min(0).max(1);
const ms = z.number().int().min(0).max(600_000);

/** How long the simulator waits before handling a request. */
export const latencySchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('none') }).strict(),
  z.object({ type: z.literal('fixed'), ms }).strict(),
  z
    .object({ type: z.literal('uniform'), min_ms: ms, max_ms: ms })
    .strict()
    .refine((l) => l.max_ms >= l.min_ms, 'max_ms must be ≥ min_ms'),
  z.object({ type: z.literal('normal'), mean_ms: ms, stddev_ms: ms }).strict(),
  /** Long-tailed, like real networks: half the calls under `median_ms`, `sigma` sets the tail. */
  z.object({ type: z.literal('lognormal'), median_ms: ms, sigma: z.number().min(0).max(4) }).strict(),
]);
export type LatencyDistribution = z.infer<typeof latencySchema>;

export const notifyChaosSchema = z
  .object({
    /** The callback is delivered twice (two independent deliveries, each retried until 2xx). */
    duplicate_rate: fraction.default(0),
    /** The callback is held back `out_of_order_delay_ms` so that later ones overtake it. */
    out_of_order_rate: fraction.default(0),
    /** The callback is never sent. */
    lost_rate: fraction.default(0),
    /** A copy with a corrupted signature is sent as well (once); the receiver must refuse it. */
    wrong_signature_rate: fraction.default(0),
    out_of_order_delay_ms: ms.default(2000),
  })
  .strict();

/**
 * The chaos document of a run, as `PUT /_sim/chaos` and `--chaos` take it. Every field is
 * optional; what is left out means "no chaos". Rates are probabilities drawn from a seeded
 * generator, so a run with the same seed and the same request order behaves the same.
 */
export const httpChaosSchema = z
  .object({
    /** Reseeds the generators when the document is applied. */
    seed: z.number().int().optional(),
    latency: latencySchema.default({ type: 'none' }),
    /** Answer 5xx before the request reaches the face: nothing is done. */
    error_rate: fraction.default(0),
    error_status: z.union([z.literal(500), z.literal(502), z.literal(503), z.literal(504)]).default(503),
    /** Answer 429 with Retry-After and X-RateLimit-Remaining: 0 before anything is done. */
    rate_limit_rate: fraction.default(0),
    retry_after_s: z.number().int().min(0).max(86_400).default(1),
    retry_after_format: z.enum(['seconds', 'http-date']).default('seconds'),
    /** A real fixed-window limit: `limit` requests per `window_ms`, announced in X-RateLimit-* on every answer. */
    rate_limit: z
      .object({ limit: z.number().int().min(1), window_ms: z.number().int().min(1).max(3_600_000) })
      .strict()
      .nullable()
      .default(null),
    /** Accept-then-hang: the request takes effect, then the answer is held `hang_ms` (past the client's timeout). */
    hang_rate: fraction.default(0),
    hang_ms: ms.default(30_000),
    /** Path prefixes the HTTP chaos applies to; empty = every face route (never the admin routes). */
    paths: z.array(z.string().startsWith('/')).max(50).default([]),
    /** Business declines by the bank (a definite "failed" answer). */
    decline_rate: fraction.default(0),
    /** The coffee shop refuses an order (OUT_OF_STOCK). */
    merchant_reject_rate: fraction.default(0),
    /** The carriers behind the recharge (Juhe) face refuse a top-up: the order ends in game_state 9. */
    recharge_failure_rate: fraction.default(0),
    /** Time an accepted top-up takes to reach the phone (game_state 0 until then), drawn uniformly. */
    recharge_processing_ms: z
      .object({ min: ms.default(0), max: ms.default(0) })
      .strict()
      .refine((r) => r.max >= r.min, 'max must be ≥ min')
      .default({ min: 0, max: 0 }),
    notify: notifyChaosSchema.prefault({}),
  })
  .strict();

export type HttpChaosInput = z.input<typeof httpChaosSchema>;
export type HttpChaosSettings = z.output<typeof httpChaosSchema>;
export type NotifyChaosSettings = z.output<typeof notifyChaosSchema>;

export const NO_HTTP_CHAOS: HttpChaosSettings = httpChaosSchema.parse({});

/** One latency sample in ms from `random` (uniform in [0, 1)). Never negative. */
export function sampleLatency(d: LatencyDistribution, random: () => number): number {
  switch (d.type) {
    case 'none':
      return 0;
    case 'fixed':
      return d.ms;
    case 'uniform':
      return d.min_ms + (d.max_ms - d.min_ms) * random();
    case 'normal':
      return Math.max(0, d.mean_ms + d.stddev_ms * standardNormal(random));
    case 'lognormal':
      return d.median_ms * Math.exp(d.sigma * standardNormal(random));
    default: {
      const never: never = d;
      throw new Error(`unknown latency distribution ${JSON.stringify(never)}`);
    }
  }
}

/** Box–Muller: a standard normal deviate from two uniform ones. */
function standardNormal(random: () => number): number {
  const u = 1 - random(); // (0, 1]: log(0) would be -Infinity
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** What the chaos decided for one request. */
export type ChaosVerdict =
  | {
      readonly kind: 'pass';
      readonly latencyMs: number;
      readonly hangMs: number;
      readonly rateHeaders: Record<string, string>;
    }
  | { readonly kind: 'error'; readonly latencyMs: number; readonly status: number }
  | { readonly kind: 'rate_limited'; readonly latencyMs: number; readonly headers: Record<string, string> };

/**
 * The HTTP chaos of a simulator server: settings for the current run, the seeded generator and
 * the fixed rate-limit window. Pure apart from the injected clock: the server hooks turn a
 * verdict into waiting and answering.
 */
export class HttpChaos {
  private s: HttpChaosSettings = NO_HTTP_CHAOS;
  private random: () => number;
  private windowStart = 0;
  private windowCount = 0;
  readonly counts = { errors: 0, rate_limited: 0, hangs: 0 };

  constructor(
    seed: number,
    private readonly now: () => number,
  ) {
    this.random = seededRandom(seed);
  }

  get settings(): HttpChaosSettings {
    return this.s;
  }

  /** Replace the run's chaos (already validated). A `seed` restarts the generator. */
  set(settings: HttpChaosSettings): void {
    this.s = settings;
    if (settings.seed !== undefined) this.random = seededRandom(settings.seed);
    this.windowStart = 0;
    this.windowCount = 0;
  }

  applies(path: string): boolean {
    return this.s.paths.length === 0 || this.s.paths.some((p) => path.startsWith(p));
  }

  decide(): ChaosVerdict {
    const s = this.s;
    const latencyMs = sampleLatency(s.latency, this.random);
    const now = this.now();
    let rateHeaders: Record<string, string> = {};
    if (s.rate_limit !== null) {
      if (now - this.windowStart >= s.rate_limit.window_ms) {
        this.windowStart = now;
        this.windowCount = 0;
      }
      const resetMs = this.windowStart + s.rate_limit.window_ms - now;
      const resetS = String(Math.max(1, Math.ceil(resetMs / 1000)));
      if (this.windowCount >= s.rate_limit.limit) {
        this.counts.rate_limited += 1;
        return {
          kind: 'rate_limited',
          latencyMs,
          headers: {
            'retry-after': this.retryAfter(resetMs),
            'x-ratelimit-limit': String(s.rate_limit.limit),
            'x-ratelimit-remaining': '0',
            'x-ratelimit-reset': resetS,
          },
        };
      }
      this.windowCount += 1;
      rateHeaders = {
        'x-ratelimit-limit': String(s.rate_limit.limit),
        'x-ratelimit-remaining': String(s.rate_limit.limit - this.windowCount),
        'x-ratelimit-reset': resetS,
      };
    }
    const r = this.random();
    if (r < s.error_rate) {
      this.counts.errors += 1;
      return { kind: 'error', latencyMs, status: s.error_status };
    }
    if (r < s.error_rate + s.rate_limit_rate) {
      this.counts.rate_limited += 1;
      const waitMs = s.retry_after_s * 1000;
      return {
        kind: 'rate_limited',
        latencyMs,
        headers: {
          'retry-after': this.retryAfter(waitMs),
          'x-ratelimit-remaining': '0',
          'x-ratelimit-reset': String(s.retry_after_s),
        },
      };
    }
    const hang = r < s.error_rate + s.rate_limit_rate + s.hang_rate;
    if (hang) this.counts.hangs += 1;
    return { kind: 'pass', latencyMs, hangMs: hang ? s.hang_ms : 0, rateHeaders };
  }

  private retryAfter(waitMs: number): string {
    const seconds = Math.max(0, Math.ceil(waitMs / 1000));
    // An HTTP date has one-second resolution: round up so the client never comes back early.
    return this.s.retry_after_format === 'http-date'
      ? new Date((Math.floor(this.now() / 1000) + seconds + 1) * 1000).toUTCString()
      : String(seconds);
  }
}

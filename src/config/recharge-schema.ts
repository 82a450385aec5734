import { z } from 'zod';
import { DEFAULT_FACE_VALUES, type FaceValueRules } from '../domain/recharge/face-values.js';
import {
  DEFAULT_RECHARGEABLE_CATEGORIES,
  type OperatorId,
  OPERATORS,
  SEGMENT_CATEGORIES,
  type SegmentCategory,
} from '../domain/recharge/number-segments.js';
import {
  DEFAULT_OPERATOR_SETTINGS,
  type OperatorSettings,
  REQUEST_ENCODINGS,
} from '../domain/recharge/operator-settings.js';
import { type BreakerSettings, DEFAULT_BREAKER_SETTINGS } from '../domain/routing/circuit-breaker.js';
import {
  DEFAULT_SCORE_SETTINGS,
  ROUTING_STRATEGIES,
  type RoutingStrategy,
  type ScoreSettings,
} from '../domain/routing/channel-score.js';
import { DEFAULT_WINDOW_SETTINGS, type WindowSettings } from '../domain/routing/channel-window.js';

/**
 * The `recharge` section (issue 5). Every default is the one README documents; every object is
 * strict. Amounts are fen; channels' own units appear only in their adapters.
 */
const operatorEnum = z.enum(OPERATORS);
const fen = z.number().int().positive().max(1_000_000);
const fraction = z.number().min(0).max(1);
const range = (max: number) =>
  z
    .object({
      min: z.number().min(0).max(max).default(0).describe('shortest, ms'),
      max: z.number().min(0).max(max).default(0).describe('longest, ms'),
    })
    .strict()
    .prefault({})
    .refine((r) => r.max >= r.min, 'max must be ≥ min');

const operatorSettingsSchema = (op: (typeof OPERATORS)[number]) => {
  const d = DEFAULT_OPERATOR_SETTINGS[op];
  return z
    .object({
      timeout_ms: z
        .number()
        .int()
        .min(100)
        .max(120_000)
        .default(d.timeoutMs)
        .describe('one call’s deadline for this operator'),
      retries: z
        .number()
        .int()
        .min(0)
        .max(10)
        .default(d.retries)
        .describe('extra tries to resolve an unknown outcome (same channel, same order id)'),
      encoding: z.enum(REQUEST_ENCODINGS).default(d.encoding).describe('request encoding the channel expects'),
    })
    .strict()
    .prefault({})
    .describe(`${op}: one call's deadline, retries and encoding`);
};

const channelCommon = {
  operators: z.array(operatorEnum).min(1).describe('Operators whose numbers this channel recharges.'),
  capacity: z
    .number()
    .int()
    .min(1)
    .max(10_000)
    .default(50)
    .describe(
      'Calls in flight the channel handles well: routing sends it no more at once (a call waits for a free slot), ' +
        'and the load term of the score is measured against it. Several instances on one database share it: each ' +
        'keeps to an equal share (rounded down, at least one).',
    ),
};

const simulatorChannelSchema = z
  .object({
    type: z.literal('simulator'),
    ...channelCommon,
    latency_ms: range(60_000).describe('added latency of each call'),
    failure_rate: fraction.default(0).describe('share of recharges refused'),
    timeout_rate: fraction.default(0).describe('share of calls that time out'),
    error_rate: fraction.default(0).describe('share of calls answered with an error'),
    processing_ms: range(600_000).describe('how long a recharge stays processing before its result'),
    seed: z.number().int().default(42).describe('seed of the channel’s random draws'),
  })
  .strict();

const juheChannelSchema = z
  .object({
    type: z.literal('juhe'),
    ...channelCommon,
    base_url: z.url().default('http://op.juhe.cn/ofpay/mobile/').describe('Juhe’s API'),
    api_key: z.string().min(1).describe("Juhe's `key` (AppKey)."),
    openid_secret: z.string().min(1).describe("Juhe's OpenID, part of every request signature."),
    max_sockets: z.number().int().min(1).max(1024).default(32).describe('Sockets kept alive toward the channel.'),
  })
  .strict();

export const rechargeChannelSchema = z
  .discriminatedUnion('type', [simulatorChannelSchema, juheChannelSchema])
  .describe('one recharge channel, by its name; the keys below depend on its type');

const DEFAULT_CHANNELS = {
  'sim-fast': {
    type: 'simulator' as const,
    operators: [...OPERATORS],
    latency_ms: { min: 50, max: 200 },
    failure_rate: 0.005,
  },
  'sim-slow': {
    type: 'simulator' as const,
    operators: [...OPERATORS],
    latency_ms: { min: 200, max: 800 },
    failure_rate: 0.03,
    timeout_rate: 0.005,
    seed: 43,
  },
};

export const rechargeConfigSchema = z
  .object({
    rechargeable_categories: z
      .array(z.enum(SEGMENT_CATEGORIES))
      .default([...DEFAULT_RECHARGEABLE_CATEGORIES])
      .describe('Segment categories a top-up may be attempted for (IoT, satellite… are refused by default).'),
    face_values: z
      .object({
        default: z
          .array(fen)
          .min(1)
          .default([...DEFAULT_FACE_VALUES])
          .describe('face values offered to every operator, in fen'),
        per_operator: z
          .partialRecord(operatorEnum, z.array(fen).min(1).describe("this operator's face values, in fen"))
          .default({})
          .describe(
            'face values per operator (CHINA_MOBILE, CHINA_UNICOM, CHINA_TELECOM, CHINA_BROADNET, VIRTUAL), in fen',
          ),
        arbitrary: z
          .object({
            enabled: z.boolean().default(false).describe('accept arbitrary amounts'),
            min: fen.default(100).describe('smallest, in fen'),
            max: fen.default(50_000).describe('largest, in fen'),
          })
          .strict()
          .prefault({})
          .refine((a) => a.max >= a.min, 'max must be ≥ min')
          .describe('any whole-yuan amount in [min, max] fen (channels that sell 任意充)'),
      })
      .strict()
      .prefault({})
      .describe('the face values offered'),
    operators: z
      .object(
        Object.fromEntries(OPERATORS.map((op) => [op, operatorSettingsSchema(op)])) as Record<
          (typeof OPERATORS)[number],
          ReturnType<typeof operatorSettingsSchema>
        >,
      )
      .strict()
      .prefault({})
      .describe('per-operator call settings'),
    max_attempts: z
      .number()
      .int()
      .min(1)
      .max(9)
      .default(3)
      .describe('Channels tried per recharge at most (1 = no failover).'),
    poll_interval_ms: z
      .number()
      .int()
      .min(10)
      .max(60_000)
      .default(1000)
      .describe('First wait before asking a channel about an unknown or processing order; doubles up to 8×.'),
    processing_deadline_ms: z
      .number()
      .int()
      .min(1000)
      .default(120_000)
      .describe('Stop following one attempt after this long (it stays UNKNOWN/PROCESSING for the repair jobs).'),
    batch: z
      .object({
        max_rows: z
          .number()
          .int()
          .min(1)
          .max(10_000_000)
          .default(1_000_000)
          .describe('Data rows a batch file may hold; a longer one is refused whole.'),
        chunk_rows: z
          .number()
          .int()
          .min(1)
          .max(5000)
          .default(500)
          .describe('Rows written per transaction when a file arrives (one multi-row insert each).'),
        // Each row becomes a recharge, a job, a reservation and audit rows: many pages per row. On
        // SQLite every statement that fires a trigger inside the transaction's savepoint walks the
        // pages saved so far, so a transaction's cost grows with the square of its rows (500 rows:
        // 0.12 → 1.3 ms per recharge insert as a 30,000-row batch went on; 100: flat at ~0.15).
        expand_rows: z
          .number()
          .int()
          .min(1)
          .max(5000)
          .default(100)
          .describe('Rows turned into recharges per transaction once a batch is accepted.'),
      })
      .strict()
      .prefault({})
      .describe('batch recharge files'),
    routing: z
      .object({
        strategy: z.enum(ROUTING_STRATEGIES).default('smart').describe('smart (scored), round_robin or random'),
        weights: z
          .object({
            latency: fraction.default(DEFAULT_SCORE_SETTINGS.weights.latency).describe('weight of latency'),
            success: fraction.default(DEFAULT_SCORE_SETTINGS.weights.success).describe('weight of success rate'),
            load: fraction.default(DEFAULT_SCORE_SETTINGS.weights.load).describe('weight of load'),
          })
          .strict()
          .prefault({})
          .refine((w) => w.latency + w.success + w.load > 0, 'at least one weight must be above 0')
          .describe('weights of the channel score'),
        sharpness: z
          .number()
          .min(0.1)
          .max(64)
          .default(DEFAULT_SCORE_SETTINGS.sharpness)
          .describe('pick probability ∝ score^sharpness (1 = plain weighted random)'),
        prior: z
          .object({
            success_rate: fraction.default(DEFAULT_SCORE_SETTINGS.prior.successRate).describe('success rate assumed'),
            weight: z
              .number()
              .min(0)
              .max(1000)
              .default(DEFAULT_SCORE_SETTINGS.prior.weight)
              .describe('worth this many calls'),
          })
          .strict()
          .prefault({})
          .describe('what is assumed of an unmeasured channel'),
        window: z
          .object({
            window_ms: z.number().int().min(1000).default(DEFAULT_WINDOW_SETTINGS.windowMs).describe('window length'),
            max_samples: z
              .number()
              .int()
              .min(1)
              .max(100_000)
              .default(DEFAULT_WINDOW_SETTINGS.maxSamples)
              .describe('calls kept at most'),
          })
          .strict()
          .prefault({})
          .describe('the sliding window of each channel’s recent calls'),
        breaker: z
          .object({
            consecutive_failures: z
              .number()
              .int()
              .min(1)
              .default(DEFAULT_BREAKER_SETTINGS.consecutiveFailures)
              .describe('open after this many failures in a row'),
            failure_rate: fraction.default(DEFAULT_BREAKER_SETTINGS.failureRate).describe('or this share of failures'),
            min_samples: z
              .number()
              .int()
              .min(1)
              .default(DEFAULT_BREAKER_SETTINGS.minSamples)
              .describe('over at least this many calls'),
            cooldown_ms: z
              .number()
              .int()
              .min(1000)
              .default(DEFAULT_BREAKER_SETTINGS.cooldownMs)
              .describe('cool-down before one half-open probe'),
          })
          .strict()
          .prefault({})
          .describe('circuit breaker per channel'),
      })
      .strict()
      .prefault({})
      .describe('how a channel is chosen for each recharge'),
    channels: z
      .record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/), rechargeChannelSchema)
      .prefault(DEFAULT_CHANNELS)
      .refine((c) => Object.keys(c).length > 0, 'at least one recharge channel is needed')
      .describe(
        'named recharge channels: simulator or juhe (default: two simulated channels, sim-fast and sim-slow, ' +
          'for every operator)',
      ),
  })
  .strict()
  .prefault({});

export type RechargeConfig = z.output<typeof rechargeConfigSchema>;

/** The section in the domain's own terms (fen, ms, camelCase), for the composition root. */
export function rechargeSettings(c: RechargeConfig): {
  readonly rechargeableCategories: readonly SegmentCategory[];
  readonly faceValues: FaceValueRules;
  readonly operatorSettings: Readonly<Record<OperatorId, OperatorSettings>>;
  readonly routing: {
    readonly strategy: RoutingStrategy;
    readonly score: ScoreSettings;
    readonly window: WindowSettings;
    readonly breaker: BreakerSettings;
  };
} {
  const r = c.routing;
  const operatorSettings = Object.fromEntries(
    OPERATORS.map((op) => {
      const o = c.operators[op];
      return [op, { timeoutMs: o.timeout_ms, retries: o.retries, encoding: o.encoding }];
    }),
  ) as Record<OperatorId, OperatorSettings>;
  return {
    rechargeableCategories: c.rechargeable_categories,
    faceValues: {
      defaultValues: c.face_values.default,
      perOperator: c.face_values.per_operator,
      arbitrary: {
        enabled: c.face_values.arbitrary.enabled,
        minFen: c.face_values.arbitrary.min,
        maxFen: c.face_values.arbitrary.max,
      },
    },
    operatorSettings,
    routing: {
      strategy: r.strategy,
      score: {
        weights: r.weights,
        sharpness: r.sharpness,
        prior: { successRate: r.prior.success_rate, weight: r.prior.weight },
      },
      window: { windowMs: r.window.window_ms, maxSamples: r.window.max_samples },
      breaker: {
        consecutiveFailures: r.breaker.consecutive_failures,
        failureRate: r.breaker.failure_rate,
        minSamples: r.breaker.min_samples,
        cooldownMs: r.breaker.cooldown_ms,
      },
    },
  };
}

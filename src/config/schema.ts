import { z } from 'zod';
import { DEFAULT_MENU, menuSchema } from '../domain/menu.js';
import { policySchema } from '../domain/policy.js';

/** A gateway entry: only the built-in simulator so far; Alipay and WeChat Pay join the union later. */
const gatewaySchema = z.discriminatedUnion('type', [z.object({ type: z.literal('simulator') }).strict()]);

const DEFAULT_GATEWAYS = { 'secure-pay-v3': { type: 'simulator' as const }, simulator: { type: 'simulator' as const } };

const fraction = z.number().min(0).max(1);

/**
 * The whole configuration file. The seed configuration of MISSION.md is valid as written: the
 * policy keys live at the root. Every object is strict, so a typo is an error, not a silent default.
 */
export const configSchema = z
  .object({
    // The policy's own fields, at the root as the seed configuration has them.
    ...policySchema.shape,
    payment_gateway: z.string().min(1).default('secure-pay-v3'),
    gateways: z.record(z.string().min(1), gatewaySchema).default({}),
    context_retention: z
      .object({ enabled: z.boolean().default(true), ttl_seconds: z.number().int().min(1).max(86_400).default(300) })
      .strict()
      .default({ enabled: true, ttl_seconds: 300 }),
    /** Words to intent: the embedded grammar and, optionally, a model (issue 3). */
    llm: z
      .object({
        /** Unset: grammar-then-llm when an api_key is configured, grammar-only otherwise. */
        mode: z.enum(['grammar-only', 'llm-only', 'grammar-then-llm']).optional(),
        base_url: z.url().default('https://open.bigmodel.cn/api/paas/v4/'),
        model: z.string().min(1).default('glm-4-flash'),
        api_key: z.string().optional(),
        timeout_ms: z.number().int().min(100).max(120_000).default(15_000),
        temperature: z.number().min(0).max(2).default(0),
      })
      .strict()
      .prefault({}),
    server: z
      .object({
        host: z.string().min(1).default('127.0.0.1'),
        port: z.number().int().min(0).max(65_535).default(8787),
        body_limit_bytes: z.number().int().min(1024).max(10 * 1024 * 1024).default(65_536),
        request_timeout_ms: z.number().int().min(1000).default(30_000),
        wait_for_completion_ms: z.number().int().min(0).max(60_000).default(5000),
      })
      .strict()
      .prefault({}),
    database: z.object({ url: z.string().min(1).default('sqlite:./data/autoglm.db') }).strict().prefault({}),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
        pretty: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    worker: z
      .object({
        enabled: z.boolean().default(true),
        concurrency: z.number().int().min(1).max(256).default(16),
        poll_interval_ms: z.number().int().min(5).max(60_000).default(250),
        lease_ms: z.number().int().min(100).default(30_000),
        max_attempts: z.number().int().min(1).max(100).default(8),
        retry_base_ms: z.number().int().min(1).default(500),
        retry_max_ms: z.number().int().min(1).default(60_000),
      })
      .strict()
      .prefault({}),
    orders: z
      .object({
        unpaid_timeout_seconds: z.number().int().min(1).default(1800),
        payment_method: z.enum(['wallet', 'alipay_qr', 'wechat_native']).default('wallet'),
      })
      .strict()
      .prefault({}),
    simulator: z
      .object({
        latency_ms: z
          .object({ min: z.number().min(0).default(0), max: z.number().min(0).default(0) })
          .strict()
          .prefault({})
          .refine((l) => l.max >= l.min, 'max must be ≥ min'),
        failure_rate: fraction.default(0),
        timeout_rate: fraction.default(0),
        merchant_failure_rate: fraction.default(0),
        seed: z.number().int().default(42),
        starting_balance: z.number().int().nonnegative().default(100_000_000),
        /** Keep the simulators' books in files here, so they outlive the process (crash tests). */
        journal_dir: z.string().min(1).optional(),
      })
      .strict()
      .prefault({}),
    idempotency: z.object({ ttl_hours: z.number().min(24).default(24) }).strict().prefault({}),
    menu: menuSchema.default(DEFAULT_MENU),
    tenant: z.object({ default_id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).default('default') }).strict().prefault({}),
  })
  .strict();

export type RawConfig = z.input<typeof configSchema>;
export type ParsedConfig = z.output<typeof configSchema>;
export { DEFAULT_GATEWAYS };

import { z } from 'zod';
import { TENANT_ID_RE } from '../domain/auth/credentials.js';
import { DEFAULT_AUDIT_SHARDS, MAX_AUDIT_SHARDS } from '../domain/audit-chain.js';
import { DEFAULT_MENU, menuSchema } from '../domain/menu.js';
import { ORDER_STATUSES } from '../domain/order.js';
import { policySchema } from '../domain/policy.js';
import { RECHARGE_STATUSES } from '../domain/recharge/recharge.js';
import { RECHARGE_RULE_ACTIONS, RULE_ACTIONS } from '../domain/rules.js';
import { blockSchema, rateLimitSchema, trustProxySchema } from './abuse-schema.js';
import { rechargeConfigSchema } from './recharge-schema.js';

const httpUrl = z.url({ protocol: /^https?$/, error: 'an http:// or https:// URL' });
/** A shared secret for HMAC signing: long enough that guessing is not an option. */
const sharedSecret = z.string().min(16, 'at least 16 characters');
const timeoutMs = z.number().int().min(50).max(120_000);

/** Your own repair rules: "in one of these statuses, unchanged this long (and not longer than that) → action". */
function customRules<S extends string, A extends string>(
  statuses: readonly [S, ...S[]],
  actions: readonly [A, ...A[]],
) {
  return z
    .array(
      z
        .object({
          name: z.string().regex(/^[a-z0-9-]{1,48}$/),
          statuses: z.array(z.enum(statuses)).min(1),
          older_than_seconds: z.number().int().min(1),
          younger_than_seconds: z.number().int().min(1).optional(),
          action: z.enum(actions),
        })
        .strict(),
    )
    .default([]);
}

/** The standalone simulator (`autoglm simulator`) reached over HTTP with its native JSON protocol. */
const simulatorHttpGatewaySchema = z
  .object({
    type: z.literal('simulator-http'),
    base_url: httpUrl,
    secret: sharedSecret,
    /** The secret its callbacks are signed with, when it differs from `secret`. */
    notify_secret: sharedSecret.optional(),
    timeout_ms: timeoutMs.default(5000),
    connections: z.number().int().min(1).max(1024).default(16),
    methods: z.array(z.string().min(1).max(32)).min(1).optional(),
  })
  .strict();

/** Who makes the drinks: the built-in simulated shop, or a merchant reached over signed HTTP. */
const merchantSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('simulator') }).strict(),
  z
    .object({
      type: z.literal('http'),
      base_url: httpUrl,
      secret: sharedSecret,
      timeout_ms: timeoutMs.default(5000),
      connections: z.number().int().min(1).max(1024).default(16),
    })
    .strict(),
]);

/**
 * Alipay (openapi v2, RSA2). Keys are a PEM, the bare base64 the Alipay key tool prints, or a
 * path to a file holding either; `private_key` is masked wherever the configuration is shown.
 */
const alipayGatewaySchema = z
  .object({
    type: z.literal('alipay'),
    app_id: z.string().regex(/^[0-9]{1,32}$/, 'app_id is the digits of the Alipay application id'),
    /** Our application private key (signs requests). */
    private_key: z.string().min(1),
    /** Alipay's public key for this application (verifies answers and notifications). */
    alipay_public_key: z.string().min(1),
    gateway_url: z.url({ protocol: /^https?$/ }).default('https://openapi.alipay.com/gateway.do'),
    timeout_ms: z.number().int().min(100).max(120_000).default(10_000),
    /** Where Alipay posts asynchronous notifications (our POST /api/v1/callbacks/alipay). */
    notify_url: z.url({ protocol: /^https?$/ }).optional(),
  })
  .strict();

/** A key given inline as PEM text, or as the path of a PEM file (read when the gateway is built). */
const keyMaterial = z.string().trim().min(1, 'a PEM string or the path of a PEM file');

/**
 * WeChat Pay API v3, direct merchant. Secrets are `private_key` and `apiv3_key` — names the log
 * redaction masks — and no validation message ever repeats a value.
 */
const wechatpayGatewaySchema = z
  .object({
    type: z.literal('wechatpay'),
    mchid: z.string().regex(/^[0-9A-Za-z]{1,32}$/, 'the merchant id (mchid): 1–32 letters or digits'),
    appid: z.string().regex(/^[0-9A-Za-z_]{1,32}$/, 'the AppID bound to the merchant: 1–32 letters, digits or _'),
    /** Serial number of the merchant API certificate (Authorization serial_no). */
    serial_no: z.string().regex(/^[0-9A-Za-z_]{1,64}$/, 'the merchant API certificate serial number'),
    /** The merchant API private key (apiclient_key.pem), PEM or path. */
    private_key: keyMaterial,
    /** The API v3 key: exactly 32 bytes. */
    apiv3_key: z.string().refine((k) => Buffer.byteLength(k, 'utf8') === 32, 'the API v3 key must be exactly 32 bytes'),
    /** WeChat Pay public key or platform certificate (PEM or path), and its id / serial. */
    platform_public_key: keyMaterial,
    platform_serial: z.string().regex(/^[0-9A-Za-z_]{1,128}$/, 'the platform certificate serial or PUB_KEY_ID_…'),
    base_url: z.url({ protocol: /^https?$/ }).default('https://api.mch.weixin.qq.com'),
    timeout_ms: z.number().int().min(100).max(60_000).default(10_000),
    /** Where WeChat Pay sends payment and refund callbacks (https, reachable from the internet). */
    notify_url: z.url({ protocol: /^https?$/ }),
  })
  .strict();

/** A gateway entry: the built-in simulator (in-process or over HTTP), Alipay or WeChat Pay. */
const gatewaySchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('simulator') }).strict(),
  simulatorHttpGatewaySchema,
  alipayGatewaySchema,
  wechatpayGatewaySchema,
]);

export type WechatpayGatewayConfig = z.output<typeof wechatpayGatewaySchema>;

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
    merchant: merchantSchema.default({ type: 'simulator' }),
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
        body_limit_bytes: z
          .number()
          .int()
          .min(1024)
          .max(10 * 1024 * 1024)
          .default(65_536),
        request_timeout_ms: z.number().int().min(1000).default(30_000),
        wait_for_completion_ms: z.number().int().min(0).max(60_000).default(5000),
        trust_proxy: trustProxySchema,
        /** Serve HTTPS with this certificate and key (PEM files); answers then carry Strict-Transport-Security. */
        tls: z
          .object({
            cert_file: z.string().min(1),
            key_file: z.string().min(1),
            hsts_max_age_seconds: z.number().int().min(0).max(63_072_000).default(31_536_000),
          })
          .strict()
          .optional(),
      })
      .strict()
      .prefault({}),
    database: z
      .object({
        url: z.string().min(1).default('sqlite:./data/autoglm.db'),
        /** PostgreSQL only: pooled connections per instance (one more is kept for LISTEN). */
        pool_size: z.number().int().min(1).max(200).default(10),
      })
      .strict()
      .prefault({}),
    /**
     * Data at rest: the master key that wraps the data keys (which seal phone numbers and
     * conversations in the database) and decrypts `enc:v1:` values of this configuration. Resolved
     * before validation (load-config.ts, master-key.ts); never logged.
     */
    security: z
      .object({
        /** base64 of 32 bytes; prefer the environment (AUTOGLM_MASTER_KEY) to a file others may read. */
        master_key: z.string().min(1).optional(),
        /** A file holding the key as base64 (mode 0600). Default for SQLite: master.key beside the database. */
        master_key_file: z.string().min(1).optional(),
        /** How often an instance looks for a new data key (made by a rotation elsewhere) to seal with. */
        key_refresh_ms: z.number().int().min(50).max(3_600_000).default(5000),
        /** Sources blocked after repeated failures (abuse-schema.ts). */
        block: blockSchema,
      })
      .strict()
      .prefault({}),
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
        // Jobs mostly wait on gateways and channels, not the CPU: 128 in flight keeps a batch of
        // recharges with 50–300 ms channels at ~600/s (bench:batch) without crowding anything.
        concurrency: z.number().int().min(1).max(256).default(128),
        poll_interval_ms: z.number().int().min(5).max(60_000).default(250),
        // Renewed every third of it while a job runs; must outlast one outside call (checked at load).
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
        payment_method: z.enum(['wallet', 'alipay_qr', 'wechat_native', 'sim_qr']).default('wallet'),
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
        /**
         * Where the embedded simulators keep their books (fsync'd files, so a restart never forgets a
         * trade) and their per-installation secret; default `<data directory>/simulator`.
         */
        journal_dir: z.string().min(1).optional(),
        /** False: the books are kept in memory only (a restart forgets every trade). */
        journal: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    /** The MCP server (`autoglm mcp`, `/mcp`): how the person confirms what the policy held for them. */
    mcp: z
      .object({
        /**
         * Ask the person in the MCP client (elicitation) and confirm on their answer, audited as
         * `user:<person> via mcp-elicitation`. False: only the person's own credential confirms
         * (the console, `POST /api/v1/confirmations/:id`); the tool answers with the pending action.
         */
        confirm_via_elicitation: z.boolean().default(true),
        /** How long the person has to answer the client's question before the action stays pending. */
        elicitation_timeout_seconds: z.number().int().min(5).max(3600).default(300),
        /** How long a tool follows a recharge still running (progress notifications) before answering. */
        follow_seconds: z.number().int().min(0).max(600).default(30),
        /** Streamable HTTP sessions idle this long are closed. */
        session_idle_seconds: z.number().int().min(60).max(86_400).default(1800),
      })
      .strict()
      .prefault({}),
    idempotency: z
      .object({
        ttl_hours: z.number().min(24).default(24),
        /** How long a request holds its key; after a crash, retries with the key wait this long (409 + Retry-After). */
        lock_seconds: z.number().int().min(1).max(3600).default(60),
      })
      .strict()
      .prefault({}),
    /**
     * Which gateway takes a payment: highest priority first among routes that fit the method and
     * amount and whose breaker is closed. Default: everything through payment_gateway.
     */
    payment_routing: z
      .array(
        z
          .object({
            gateway: z.string().min(1),
            methods: z.array(z.string().min(1)).min(1).optional(),
            min_amount: z.number().int().min(0).optional(),
            max_amount: z.number().int().positive().optional(),
            priority: z.number().int().default(0),
          })
          .strict(),
      )
      .optional(),
    /** Timeouts, retries, circuit breaker and bulkhead around every gateway (cockatiel). */
    resilience: z
      .object({
        timeout_ms: z.number().int().min(100).max(120_000).default(10_000),
        max_attempts: z.number().int().min(1).max(10).default(3),
        backoff_initial_ms: z.number().int().min(1).default(100),
        backoff_max_ms: z.number().int().min(1).default(2_000),
        max_retry_after_ms: z.number().int().min(0).default(5_000),
        // A share of failed calls, strictly between 0 and 1 (cockatiel's sampling breaker refuses 1).
        breaker_threshold: z.number().gt(0).lt(1).default(0.5),
        breaker_window_ms: z.number().int().min(100).default(30_000),
        breaker_minimum_rps: z.number().min(0).default(1),
        half_open_after_ms: z.number().int().min(10).default(30_000),
        bulkhead_limit: z.number().int().min(1).default(64),
        bulkhead_queue: z.number().int().min(0).default(256),
      })
      .strict()
      .prefault({}),
    /** What the maintenance sweep removes, and how often it runs. */
    maintenance: z
      .object({
        enabled: z.boolean().default(true),
        interval_ms: z.number().int().min(1000).default(600_000),
        /** Finished jobs are kept this long (the work's history); failed ones longer, for a person to look at. */
        done_jobs_retention_hours: z.number().min(1).default(168),
        failed_jobs_retention_hours: z.number().min(1).default(720),
        /** Rows deleted per statement, so a sweep never holds the database for long. */
        batch: z.number().int().min(10).max(100_000).default(5000),
      })
      .strict()
      .prefault({}),
    /** The audit log's hash chains: where their heads are checkpointed, and how often. */
    audit: z
      .object({
        /**
         * A file each new checkpoint (every tenant's chain head) is appended to, one JSON line each;
         * `autoglm audit verify --checkpoint FILE` checks the chain still holds them. Unset: none.
         */
        /**
         * How many hash chains each tenant's new audit rows are spread over (a row's shard comes
         * from its resource). Rows keep the number they were written with: changing it is safe.
         */
        shards: z.number().int().min(1).max(MAX_AUDIT_SHARDS).default(DEFAULT_AUDIT_SHARDS),
        checkpoint_file: z.string().min(1).optional(),
        /**
         * A URL each new checkpoint is POSTed to (the same JSON as a file line); unset: none.
         * With checkpoint_file too, a checkpoint goes to both.
         */
        checkpoint_url: httpUrl.optional(),
        checkpoint_interval_ms: z.number().int().min(1000).default(300_000),
      })
      .strict()
      .prefault({}),
    /** Repair rules for stuck orders: the documented built-in ones, plus your own. */
    rules: z
      .object({
        enabled: z.boolean().default(true),
        built_in: z.boolean().default(true),
        sweep_interval_ms: z.number().int().min(100).default(30_000),
        batch: z.number().int().min(1).max(10_000).default(200),
        custom: customRules(ORDER_STATUSES, RULE_ACTIONS),
        /** Your own recharge repairs (the built-in ones: settle-unknown-recharge, recheck-failed-recharge). */
        custom_recharge: customRules(RECHARGE_STATUSES, RECHARGE_RULE_ACTIONS),
      })
      .strict()
      .prefault({}),
    callbacks: z
      .object({
        /** A notification signed further than this from now, either way, is refused (skew inside it is tolerated). */
        window_seconds: z.number().int().min(10).max(3600).default(300),
      })
      .strict()
      .prefault({}),
    /** Outbound webhooks (Standard Webhooks): how the dispatcher polls, how long deliveries are retried. */
    webhooks: z
      .object({
        enabled: z.boolean().default(true),
        poll_interval_ms: z.number().int().min(10).max(60_000).default(500),
        batch: z.number().int().min(1).max(10_000).default(500),
        /** One attempt's deadline; past it the attempt failed (no status). Default 10 s (less to fit the lease). */
        timeout_ms: timeoutMs.optional(),
        /** Keep retrying a delivery this long after its first attempt (3 days), then disable the endpoint. */
        retry_for_seconds: z
          .number()
          .int()
          .min(1)
          .max(30 * 86_400)
          .default(3 * 86_400),
        /** Backoff between attempts: doubling from retry_base_ms, capped at retry_max_ms, with jitter. */
        retry_base_ms: z.number().int().min(1).default(5_000),
        retry_max_ms: z.number().int().min(1).default(3_600_000),
        /**
         * Accept endpoint URLs whose host is a loopback, private, link-local or cloud metadata
         * address (169.254.169.254, fd00:ec2::254). Off: an admin cannot point deliveries inward.
         */
        allow_private_addresses: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    /** Our records against the channels' statements (对账), daily and on demand. */
    reconciliation: z
      .object({
        /** A gateway's fee per payment in basis points (60 = 0.6 %), checked against its statement. */
        fee_bps: z.record(z.string().min(1), z.number().int().min(0).max(10_000)).default({}),
        /** An item missing at the channel is asked about again this many days after its day (T+2). */
        recheck_after_days: z.number().int().min(0).max(30).default(2),
        /** Repairs applied without a person; the others (settle, refund) wait for an operator. */
        auto_apply: z
          .array(z.enum(['settle_from_channel', 'refund_unknown_capture', 'recheck', 'flag']))
          .default(['flag', 'recheck']),
        /** The daily run: yesterday's statement of each source, at this time of the business day (UTC+8). */
        schedule: z
          .object({
            enabled: z.boolean().default(false),
            /** HH:MM, Asia/Shanghai; statements are ready from about 09:00–10:00 the next day. */
            at: z
              .string()
              .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM')
              .default('10:30'),
            /** The gateways and channels to reconcile; [] means every one that gives a statement. */
            sources: z.array(z.string().min(1)).default([]),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    /** Telling the person how a recharge ended: through which channels, and the SMS provider. */
    notifications: z
      .object({
        /** `sms` (the provider below), `webhook` (a `recharge.notification` event); [] tells nobody. */
        recharge_channels: z.array(z.enum(['sms', 'webhook'])).default(['sms']),
        sms: z
          .discriminatedUnion('type', [
            /** The embedded simulator of Aliyun SMS: no account needed. */
            z
              .object({
                type: z.literal('simulator'),
                sign_name: z.string().min(1).default('Open-AutoGLM'),
                template_succeeded: z
                  .string()
                  .regex(/^SMS_\d+$/)
                  .default('SMS_100000001'),
                template_failed: z
                  .string()
                  .regex(/^SMS_\d+$/)
                  .default('SMS_100000002'),
              })
              .strict(),
            /** Aliyun (Alibaba Cloud) SMS SendSms with an AccessKey pair. */
            z
              .object({
                type: z.literal('aliyun'),
                access_key_id: z.string().min(1),
                access_key_secret: z.string().min(1),
                sign_name: z.string().min(1),
                template_succeeded: z.string().regex(/^SMS_\d+$/),
                template_failed: z.string().regex(/^SMS_\d+$/),
                endpoint: httpUrl.default('https://dysmsapi.aliyuncs.com/'),
                region_id: z.string().min(1).default('cn-hangzhou'),
                timeout_ms: timeoutMs.default(5000),
              })
              .strict(),
          ])
          .default({
            type: 'simulator',
            sign_name: 'Open-AutoGLM',
            template_succeeded: 'SMS_100000001',
            template_failed: 'SMS_100000002',
          }),
      })
      .strict()
      .prefault({}),
    /** Request budgets per credential and per source IP (abuse-schema.ts). */
    rate_limit: rateLimitSchema,
    menu: menuSchema.default(DEFAULT_MENU),
    /** Phone recharge: numbers, face values, operators, channels and routing (see recharge-schema.ts). */
    recharge: rechargeConfigSchema,
    /** Who may call the service: tokens' lifetimes, where the first admin key is written, browser origins. */
    auth: z
      .object({
        /** Access tokens live at most 15 minutes; a refresh token renews them, once each. */
        access_token_ttl_seconds: z.number().int().min(30).max(900).default(900),
        refresh_token_ttl_seconds: z
          .number()
          .int()
          .min(300)
          .max(90 * 86_400)
          .default(30 * 86_400),
        /**
         * Where the first admin key is written on first start (mode 0600). Default: beside the
         * SQLite file, or data/admin-key.
         */
        admin_key_file: z.string().min(1).optional(),
        /** Origins (the web console's) allowed to call the API from a browser, with cookies; none by default. */
        cors_origins: z.array(z.url()).default([]),
      })
      .strict()
      .prefault({}),
    tenant: z
      .object({
        default_id: z.string().regex(TENANT_ID_RE).default('default'),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type RawConfig = z.input<typeof configSchema>;
export type ParsedConfig = z.output<typeof configSchema>;
export { DEFAULT_GATEWAYS };

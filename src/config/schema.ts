import { z } from 'zod';
import { TENANT_ID_RE } from '../domain/auth/credentials.js';
import { DEFAULT_AUDIT_SHARDS, MAX_AUDIT_SHARDS, SQLITE_AUDIT_SHARDS } from '../domain/audit-chain.js';
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
          name: z
            .string()
            .regex(/^[a-z0-9-]{1,48}$/)
            .describe('the rule’s name (lower-case letters, digits and dashes)'),
          statuses: z.array(z.enum(statuses)).min(1).describe('the statuses the rule looks at'),
          older_than_seconds: z.number().int().min(1).describe('act on records unchanged at least this long'),
          younger_than_seconds: z.number().int().min(1).optional().describe('and not longer than this'),
          action: z.enum(actions).describe('what the rule does'),
        })
        .strict(),
    )
    .default([]);
}

/** The standalone simulator (`autoglm simulator`) reached over HTTP with its native JSON protocol. */
const simulatorHttpGatewaySchema = z
  .object({
    type: z.literal('simulator-http'),
    base_url: httpUrl.describe('the standalone simulator’s URL'),
    secret: sharedSecret.describe('signs requests, checks answers and callbacks (at least 16 characters)'),
    notify_secret: sharedSecret
      .optional()
      .describe('The secret its callbacks are signed with, when it differs from `secret`.'),
    timeout_ms: timeoutMs.default(5000).describe('past it the outcome is unknown: the worker queries'),
    connections: z.number().int().min(1).max(1024).default(16).describe('kept-alive connections'),
    methods: z
      .array(z.string().min(1).max(32))
      .min(1)
      .optional()
      .describe('the payment methods it takes (default: all)'),
  })
  .strict();

/** Who makes the drinks: the built-in simulated shop, or a merchant reached over signed HTTP. */
const merchantSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('simulator') }).strict(),
  z
    .object({
      type: z.literal('http'),
      base_url: httpUrl.describe('the merchant’s URL'),
      secret: sharedSecret.describe('signs requests and checks answers (at least 16 characters)'),
      timeout_ms: timeoutMs.default(5000).describe('one call’s deadline'),
      connections: z.number().int().min(1).max(1024).default(16).describe('kept-alive connections'),
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
    app_id: z
      .string()
      .regex(/^[0-9]{1,32}$/, 'app_id is the digits of the Alipay application id')
      .describe('the Alipay application id (digits)'),
    private_key: z.string().min(1).describe('Our application private key (signs requests).'),
    alipay_public_key: z
      .string()
      .min(1)
      .describe("Alipay's public key for this application (verifies answers and notifications)."),
    gateway_url: z
      .url({ protocol: /^https?$/ })
      .default('https://openapi.alipay.com/gateway.do')
      .describe('Alipay’s openapi gateway (the sandbox: https://openapi-sandbox.dl.alipaydev.com/gateway.do)'),
    timeout_ms: z.number().int().min(100).max(120_000).default(10_000).describe('one call’s deadline'),
    notify_url: z
      .url({ protocol: /^https?$/ })
      .optional()
      .describe('Where Alipay posts asynchronous notifications (our POST /api/v1/callbacks/alipay).'),
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
    mchid: z
      .string()
      .regex(/^[0-9A-Za-z]{1,32}$/, 'the merchant id (mchid): 1–32 letters or digits')
      .describe('the merchant id (mchid)'),
    appid: z
      .string()
      .regex(/^[0-9A-Za-z_]{1,32}$/, 'the AppID bound to the merchant: 1–32 letters, digits or _')
      .describe('the AppID bound to the merchant'),
    serial_no: z
      .string()
      .regex(/^[0-9A-Za-z_]{1,64}$/, 'the merchant API certificate serial number')
      .describe('Serial number of the merchant API certificate (Authorization serial_no).'),
    private_key: keyMaterial.describe('The merchant API private key (apiclient_key.pem), PEM or path.'),
    apiv3_key: z
      .string()
      .refine((k) => Buffer.byteLength(k, 'utf8') === 32, 'the API v3 key must be exactly 32 bytes')
      .describe('The API v3 key: exactly 32 bytes.'),
    platform_public_key: keyMaterial.describe(
      'WeChat Pay public key or platform certificate (PEM or path), and its id / serial.',
    ),
    platform_serial: z
      .string()
      .regex(/^[0-9A-Za-z_]{1,128}$/, 'the platform certificate serial or PUB_KEY_ID_…')
      .describe('the platform certificate serial, or the public key id PUB_KEY_ID_…'),
    base_url: z
      .url({ protocol: /^https?$/ })
      .default('https://api.mch.weixin.qq.com')
      .describe('the WeChat Pay API host'),
    timeout_ms: z.number().int().min(100).max(60_000).default(10_000).describe('one call’s deadline'),
    notify_url: z
      .url({ protocol: /^https?$/ })
      .describe('Where WeChat Pay sends payment and refund callbacks (https, reachable from the internet).'),
  })
  .strict();

/** A gateway entry: the built-in simulator (in-process or over HTTP), Alipay or WeChat Pay. */
const gatewaySchema = z
  .discriminatedUnion('type', [
    z.object({ type: z.literal('simulator') }).strict(),
    simulatorHttpGatewaySchema,
    alipayGatewaySchema,
    wechatpayGatewaySchema,
  ])
  .describe('one gateway, by its name; the keys below depend on its type');

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
    payment_gateway: z
      .string()
      .min(1)
      .default('secure-pay-v3')
      .describe('the gateway payments go through; a key of gateways'),
    gateways: z
      .record(z.string().min(1), gatewaySchema)
      .default({})
      .describe(
        'named payment gateways: simulator (embedded), simulator-http (the standalone simulator), alipay, ' +
          'wechatpay. Empty: {"secure-pay-v3": simulator, "simulator": simulator}; a map you give replaces that',
      ),
    merchant: merchantSchema
      .default({ type: 'simulator' })
      .describe('who makes the drinks: the embedded shop, or a merchant over signed HTTP'),
    context_retention: z
      .object({
        enabled: z.boolean().default(true).describe('keep conversations (false: every message stands alone)'),
        ttl_seconds: z.number().int().min(1).max(86_400).default(300).describe('kept this long after the last message'),
      })
      .strict()
      .default({ enabled: true, ttl_seconds: 300 })
      .describe(
        'agent conversations are kept this long after their last message; enabled: false makes every message ' +
          'stand alone',
      ),
    llm: z
      .object({
        mode: z
          .enum(['grammar-only', 'llm-only', 'grammar-then-llm'])
          .optional()
          .describe('Unset: grammar-then-llm when an api_key is configured, grammar-only otherwise.'),
        base_url: z
          .url()
          .default('https://open.bigmodel.cn/api/paas/v4/')
          .describe('any OpenAI-compatible chat completions endpoint'),
        model: z.string().min(1).default('glm-4-flash').describe('the model name'),
        api_key: z
          .string()
          .optional()
          .describe('the provider’s API key (never logged); with it, mode defaults to grammar-then-llm'),
        timeout_ms: z.number().int().min(100).max(120_000).default(15_000).describe('one model call’s deadline'),
        temperature: z.number().min(0).max(2).default(0).describe('sampling temperature'),
      })
      .strict()
      .prefault({})
      .describe('Words to intent: the embedded grammar and, optionally, a model (issue 3).'),
    server: z
      .object({
        host: z.string().min(1).default('127.0.0.1').describe('address to listen on'),
        port: z.number().int().min(0).max(65_535).default(8787).describe('port to listen on (0: any free port)'),
        body_limit_bytes: z
          .number()
          .int()
          .min(1024)
          .max(10 * 1024 * 1024)
          .default(65_536)
          .describe('larger bodies get 413 PAYLOAD_TOO_LARGE'),
        request_timeout_ms: z
          .number()
          .int()
          .min(1000)
          .default(30_000)
          .describe('a request not received in full within this gets 408'),
        requests_per_turn: z
          .number()
          .int()
          .min(1)
          .max(10_000)
          .default(8)
          .describe(
            'at most this many requests start in one turn of the event loop, the rest wait their turn in order: ' +
              'Node accepts one new connection per turn, so short turns keep a burst of new connections from ' +
              'waiting seconds to be accepted',
          ),
        wait_for_completion_ms: z
          .number()
          .int()
          .min(0)
          .max(60_000)
          .default(5000)
          .describe('how long POST /order waits for payment and fulfilment before answering 202'),
        trust_proxy: trustProxySchema.describe(
          'which proxies to believe about the client’s address (X-Forwarded-For): false, true (every hop) or ' +
            'the proxies’ addresses/CIDRs; behind a load balancer, set it',
        ),
        tls: z
          .object({
            cert_file: z.string().min(1).describe('the certificate (PEM file)'),
            key_file: z.string().min(1).describe('its private key (PEM file)'),
            hsts_max_age_seconds: z
              .number()
              .int()
              .min(0)
              .max(63_072_000)
              .default(31_536_000)
              .describe('the max-age of Strict-Transport-Security'),
          })
          .strict()
          .optional()
          .describe(
            'Serve HTTPS with this certificate and key (PEM files); answers then carry Strict-Transport-Security.',
          ),
      })
      .strict()
      .prefault({})
      .describe('where and how the HTTP API listens'),
    database: z
      .object({
        url: z
          .string()
          .min(1)
          .default('sqlite:./data/autoglm.db')
          .describe(
            'sqlite:<path> (one process) or postgres://user:pass@host:5432/db (several instances share the work)',
          ),
        pool_size: z
          .number()
          .int()
          .min(1)
          .max(200)
          .default(10)
          .describe('PostgreSQL only: pooled connections per instance (one more is kept for LISTEN).'),
        prepared_statements: z
          .boolean()
          .default(true)
          .describe(
            'PostgreSQL only: send statement texts that repeat as named prepared statements (parsed and planned ' +
              'once per connection); false behind a pooler in transaction mode that does not keep them (PgBouncer ' +
              'before 1.21, or without max_prepared_statements)',
          ),
      })
      .strict()
      .prefault({})
      .describe('where the records are kept'),
    /**
     * Data at rest: the master key that wraps the data keys (which seal phone numbers and
     * conversations in the database) and decrypts `enc:v1:` values of this configuration. Resolved
     * before validation (load-config.ts, master-key.ts); never logged.
     */
    security: z
      .object({
        master_key: z
          .string()
          .min(1)
          .optional()
          .describe('base64 of 32 bytes; prefer the environment (AUTOGLM_MASTER_KEY) to a file others may read.'),
        master_key_file: z
          .string()
          .min(1)
          .optional()
          .describe(
            'A file holding the key as base64 (mode 0600). Default for SQLite: master.key beside the database.',
          ),
        key_refresh_ms: z
          .number()
          .int()
          .min(50)
          .max(3_600_000)
          .default(5000)
          .describe('How often an instance looks for a new data key (made by a rotation elsewhere) to seal with.'),
        block: blockSchema.describe('Sources blocked after repeated failures (abuse-schema.ts).'),
      })
      .strict()
      .prefault({})
      .describe(
        'data at rest: the master key that wraps the data keys sealing phone numbers and conversations, and ' +
          'decrypts enc:v1: values of this configuration',
      ),
    log: z
      .object({
        level: z
          .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
          .default('info')
          .describe('lowest level written'),
        pretty: z.boolean().default(false).describe('human-readable lines instead of JSON (development only)'),
      })
      .strict()
      .prefault({})
      .describe('the JSON log (pino)'),
    tracing: z
      .object({
        service_name: z
          .string()
          .min(1)
          .max(128)
          .default('open-autoglm')
          .describe('service.name of the exported spans (one name for every instance; each adds its own id)'),
        sample_ratio: z
          .number()
          .min(0)
          .max(1)
          .default(1)
          .describe(
            'share of new traces recorded (0..1); a caller’s traceparent decides for its own trace (parent-based)',
          ),
        otlp: z
          .object({
            endpoint: httpUrl.describe('OTLP/HTTP traces endpoint, e.g. http://otel-collector:4318/v1/traces'),
            headers: z
              .record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'an HTTP header name'), z.string())
              .default({})
              .describe('sent with every export, e.g. an authorization token (never logged; may be enc:v1:)'),
            timeout_ms: z.number().int().min(100).max(60_000).default(10_000).describe('one export request’s deadline'),
          })
          .strict()
          .optional()
          .describe('Export spans over OTLP/HTTP (JSON). Unset (the default): no spans, no SDK loaded.'),
      })
      .strict()
      .prefault({})
      .describe(
        'OpenTelemetry spans (W3C traceparent ids are carried and logged either way): requests, units of work, ' +
          'job runs, calls to gateways, channels, merchants and webhooks',
      ),
    worker: z
      .object({
        enabled: z.boolean().default(true).describe('run jobs in this process'),
        // Jobs mostly wait on gateways and channels, not the CPU: 128 in flight keeps a batch of
        // recharges with 50–300 ms channels at ~600/s (bench:batch) without crowding anything.
        concurrency: z
          .number()
          .int()
          .min(1)
          .max(256)
          .default(128)
          .describe('jobs run at once (they mostly wait on gateways and channels)'),
        poll_interval_ms: z.number().int().min(5).max(60_000).default(250).describe('idle polling interval'),
        // Renewed every third of it while a job runs; must outlast one outside call (checked at load).
        lease_ms: z
          .number()
          .int()
          .min(100)
          .default(30_000)
          .describe(
            'how long a job’s claim lasts without renewal (renewed every third of it while the job runs); must ' +
              'be at least 1.5 × the longest single outside call',
          ),
        max_attempts: z.number().int().min(1).max(100).default(8).describe('attempts before a job fails for good'),
        retry_base_ms: z
          .number()
          .int()
          .min(1)
          .default(500)
          .describe('first retry delay (capped exponential backoff with jitter)'),
        retry_max_ms: z.number().int().min(1).default(60_000).describe('longest retry delay'),
      })
      .strict()
      .prefault({})
      .describe('the durable job queue’s worker loop'),
    orders: z
      .object({
        unpaid_timeout_seconds: z
          .number()
          .int()
          .min(1)
          .default(1800)
          .describe('waiting orders are cancelled, and held actions lapse, after this'),
        payment_method: z
          .enum(['wallet', 'alipay_qr', 'wechat_native', 'sim_qr'])
          .default('wallet')
          .describe('the method agent orders pay with (the QR methods wait for the payer)'),
      })
      .strict()
      .prefault({})
      .describe('coffee orders'),
    simulator: z
      .object({
        latency_ms: z
          .object({
            min: z.number().min(0).default(0).describe('shortest, ms'),
            max: z.number().min(0).default(0).describe('longest, ms'),
          })
          .strict()
          .prefault({})
          .refine((l) => l.max >= l.min, 'max must be ≥ min')
          .describe('added latency of each simulated call'),
        failure_rate: fraction.default(0).describe('share of payments declined'),
        timeout_rate: fraction.default(0).describe('share of calls that time out (outcome unknown)'),
        merchant_failure_rate: fraction.default(0).describe('share of orders the shop refuses'),
        seed: z.number().int().default(42).describe('seed of every random draw, so a run can be replayed'),
        starting_balance: z
          .number()
          .int()
          .nonnegative()
          .default(100_000_000)
          .describe('the simulated payer’s balance, in fen'),
        journal_dir: z
          .string()
          .min(1)
          .optional()
          .describe(
            "Where the embedded simulators keep their books (fsync'd files, so a restart never forgets a trade) " +
              'and their per-installation secret; default `<data directory>/simulator`.',
          ),
        journal: z
          .boolean()
          .default(true)
          .describe('False: the books are kept in memory only (a restart forgets every trade).'),
      })
      .strict()
      .prefault({})
      .describe('the embedded simulators of the outside world (gateway, shop, carriers) and their chaos knobs'),
    mcp: z
      .object({
        confirm_via_elicitation: z
          .boolean()
          .default(true)
          .describe(
            'Ask the person in the MCP client (elicitation) and confirm on their answer, audited as ' +
              "`user:<person> via mcp-elicitation`. False: only the person's own credential confirms (the console, " +
              '`POST /api/v1/confirmations/:id`); the tool answers with the pending action.',
          ),
        elicitation_timeout_seconds: z
          .number()
          .int()
          .min(5)
          .max(3600)
          .default(300)
          .describe("How long the person has to answer the client's question before the action stays pending."),
        follow_seconds: z
          .number()
          .int()
          .min(0)
          .max(600)
          .default(30)
          .describe('How long a tool follows a recharge still running (progress notifications) before answering.'),
        session_idle_seconds: z
          .number()
          .int()
          .min(60)
          .max(86_400)
          .default(1800)
          .describe('Streamable HTTP sessions idle this long are closed.'),
      })
      .strict()
      .prefault({})
      .describe('The MCP server (`autoglm mcp`, `/mcp`): how the person confirms what the policy held for them.'),
    idempotency: z
      .object({
        ttl_hours: z.number().min(24).default(24).describe('keys are kept at least this long'),
        lock_seconds: z
          .number()
          .int()
          .min(1)
          .max(3600)
          .default(60)
          .describe(
            'How long a request holds its key; after a crash, retries with the key wait this long (409 + Retry-After).',
          ),
      })
      .strict()
      .prefault({})
      .describe('Idempotency-Key handling'),
    payment_routing: z
      .array(
        z
          .object({
            gateway: z.string().min(1).describe('the gateway of this route'),
            methods: z.array(z.string().min(1)).min(1).optional().describe('payment methods it takes (default: all)'),
            min_amount: z.number().int().min(0).optional().describe('smallest amount it takes, in fen'),
            max_amount: z.number().int().positive().optional().describe('largest amount it takes, in fen'),
            priority: z.number().int().default(0).describe('higher is tried first'),
          })
          .strict(),
      )
      .optional()
      .describe(
        'Which gateway takes a payment: highest priority first among routes that fit the method and amount ' +
          'and whose breaker is closed. Default: everything through payment_gateway.',
      ),
    resilience: z
      .object({
        timeout_ms: z.number().int().min(100).max(120_000).default(10_000).describe('one gateway call’s deadline'),
        max_attempts: z
          .number()
          .int()
          .min(1)
          .max(10)
          .default(3)
          .describe('attempts of a call (only reads, close, and 429-refused calls are retried)'),
        backoff_initial_ms: z.number().int().min(1).default(100).describe('first backoff (decorrelated jitter)'),
        backoff_max_ms: z.number().int().min(1).default(2_000).describe('longest backoff'),
        max_retry_after_ms: z
          .number()
          .int()
          .min(0)
          .default(5_000)
          .describe('a 429’s Retry-After is honoured up to this'),
        // A share of failed calls, strictly between 0 and 1 (cockatiel's sampling breaker refuses 1).
        breaker_threshold: z
          .number()
          .gt(0)
          .lt(1)
          .default(0.5)
          .describe('share of failed calls that opens the breaker (strictly between 0 and 1)'),
        breaker_window_ms: z.number().int().min(100).default(30_000).describe('the window the breaker samples'),
        breaker_minimum_rps: z
          .number()
          .min(0)
          .default(1)
          .describe('calls per second below which the breaker does not judge'),
        half_open_after_ms: z
          .number()
          .int()
          .min(10)
          .default(30_000)
          .describe('an open breaker lets one call through after this'),
        bulkhead_limit: z.number().int().min(1).default(64).describe('calls in flight per gateway'),
        bulkhead_queue: z.number().int().min(0).default(256).describe('calls queued beyond that'),
      })
      .strict()
      .prefault({})
      .describe('Timeouts, retries, circuit breaker and bulkhead around every gateway (cockatiel).'),
    maintenance: z
      .object({
        enabled: z.boolean().default(true).describe('run the sweep'),
        interval_ms: z.number().int().min(1000).default(600_000).describe('how often the sweep runs'),
        done_jobs_retention_hours: z
          .number()
          .min(1)
          .default(168)
          .describe(
            "Finished jobs are kept this long (the work's history); failed ones longer, for a person to look at.",
          ),
        failed_jobs_retention_hours: z
          .number()
          .min(1)
          .default(720)
          .describe('failed jobs are kept this long, for a person to look at'),
        batch: z
          .number()
          .int()
          .min(10)
          .max(100_000)
          .default(5000)
          .describe('Rows deleted per statement, so a sweep never holds the database for long.'),
      })
      .strict()
      .prefault({})
      .describe('What the maintenance sweep removes, and how often it runs.'),
    audit: z
      .object({
        shards: z
          .number()
          .int()
          .min(1)
          .max(MAX_AUDIT_SHARDS)
          .optional()
          .describe(
            "how many hash chains each tenant's new audit rows are spread over (a row's shard comes from its " +
              'resource); rows keep the number they were written with, so changing it is safe. Default: ' +
              `${DEFAULT_AUDIT_SHARDS} on PostgreSQL (concurrent writers rarely wait for the same chain head), ` +
              `${SQLITE_AUDIT_SHARDS} on SQLite (one writer: more chains only scatter each commit's index writes)`,
          ),
        checkpoint_file: z
          .string()
          .min(1)
          .optional()
          .describe(
            "a file each new checkpoint (every chain's head) is appended to, one JSON line each; " +
              '`autoglm audit verify --checkpoint FILE` checks the chains still hold them; unset: none',
          ),
        checkpoint_url: httpUrl
          .optional()
          .describe('a URL each new checkpoint is POSTed to (the same JSON as a file line); unset: none'),
        checkpoint_interval_ms: z
          .number()
          .int()
          .min(1000)
          .default(300_000)
          .describe('how often the chain heads are checkpointed'),
      })
      .strict()
      .prefault({})
      .describe("The audit log's hash chains: how many per tenant, where their heads are checkpointed, how often."),
    rules: z
      .object({
        enabled: z.boolean().default(true).describe('run the repair sweep'),
        built_in: z.boolean().default(true).describe('apply the built-in rules'),
        sweep_interval_ms: z.number().int().min(100).default(30_000).describe('how often the sweep runs'),
        batch: z.number().int().min(1).max(10_000).default(200).describe('records looked at per sweep'),
        custom: customRules(ORDER_STATUSES, RULE_ACTIONS).describe(
          'your own order repairs: actions cancel, settle_payment, retry_fulfilment, refund_and_flag, recheck_failed',
        ),
        custom_recharge: customRules(RECHARGE_STATUSES, RECHARGE_RULE_ACTIONS).describe(
          'Your own recharge repairs (the built-in ones: settle-unknown-recharge, recheck-failed-recharge).',
        ),
      })
      .strict()
      .prefault({})
      .describe('Repair rules for stuck orders: the documented built-in ones, plus your own.'),
    callbacks: z
      .object({
        window_seconds: z
          .number()
          .int()
          .min(10)
          .max(3600)
          .default(300)
          .describe(
            'A notification signed further than this from now, either way, is refused (skew inside it is tolerated).',
          ),
      })
      .strict()
      .prefault({})
      .describe('signed callbacks from gateways and channels'),
    webhooks: z
      .object({
        enabled: z
          .boolean()
          .default(true)
          .describe('run the dispatcher that turns committed audit rows into deliveries'),
        poll_interval_ms: z
          .number()
          .int()
          .min(10)
          .max(60_000)
          .default(500)
          .describe('how often the dispatching instance (one of several on PostgreSQL) looks for new events'),
        batch: z.number().int().min(1).max(10_000).default(500).describe('events per round'),
        timeout_ms: timeoutMs
          .optional()
          .describe(
            "One attempt's deadline; past it the attempt failed (no status). Default 10 s (less to fit the lease).",
          ),
        retry_for_seconds: z
          .number()
          .int()
          .min(1)
          .max(30 * 86_400)
          .default(3 * 86_400)
          .describe('Keep retrying a delivery this long after its first attempt (3 days), then disable the endpoint.'),
        retry_base_ms: z
          .number()
          .int()
          .min(1)
          .default(5_000)
          .describe('Backoff between attempts: doubling from retry_base_ms, capped at retry_max_ms, with jitter.'),
        retry_max_ms: z.number().int().min(1).default(3_600_000).describe('longest backoff between attempts'),
        allow_private_addresses: z
          .boolean()
          .default(false)
          .describe(
            'Accept endpoint URLs whose host is a loopback, private, link-local or cloud metadata address ' +
              '(169.254.169.254, fd00:ec2::254). Off: an admin cannot point deliveries inward.',
          ),
      })
      .strict()
      .prefault({})
      .describe('Outbound webhooks (Standard Webhooks): how the dispatcher polls, how long deliveries are retried.'),
    reconciliation: z
      .object({
        fee_bps: z
          .record(
            z.string().min(1),
            z.number().int().min(0).max(10_000).describe('the fee of this source, in basis points'),
          )
          .default({})
          .describe("A gateway's fee per payment in basis points (60 = 0.6 %), checked against its statement."),
        recheck_after_days: z
          .number()
          .int()
          .min(0)
          .max(30)
          .default(2)
          .describe('An item missing at the channel is asked about again this many days after its day (T+2).'),
        auto_apply: z
          .array(z.enum(['settle_from_channel', 'refund_unknown_capture', 'recheck', 'flag']))
          .default(['flag', 'recheck'])
          .describe('Repairs applied without a person; the others (settle, refund) wait for an operator.'),
        schedule: z
          .object({
            enabled: z.boolean().default(false).describe('run the daily reconciliation'),
            at: z
              .string()
              .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM')
              .default('10:30')
              .describe('HH:MM, Asia/Shanghai; statements are ready from about 09:00–10:00 the next day.'),
            sources: z
              .array(z.string().min(1))
              .default([])
              .describe('The gateways and channels to reconcile; [] means every one that gives a statement.'),
          })
          .strict()
          .prefault({})
          .describe("The daily run: yesterday's statement of each source, at this time of the business day (UTC+8)."),
      })
      .strict()
      .prefault({})
      .describe("Our records against the channels' statements (对账), daily and on demand."),
    notifications: z
      .object({
        recharge_channels: z
          .array(z.enum(['sms', 'webhook']))
          .default(['sms'])
          .describe('`sms` (the provider below), `webhook` (a `recharge.notification` event); [] tells nobody.'),
        sms: z
          .discriminatedUnion('type', [
            /** The embedded simulator of Aliyun SMS: no account needed. */
            z
              .object({
                type: z.literal('simulator'),
                sign_name: z.string().min(1).default('Open-AutoGLM').describe('SMS signature'),
                template_succeeded: z
                  .string()
                  .regex(/^SMS_\d+$/)
                  .default('SMS_100000001')
                  .describe('template of a recharge that succeeded'),
                template_failed: z
                  .string()
                  .regex(/^SMS_\d+$/)
                  .default('SMS_100000002')
                  .describe('template of a recharge that failed'),
              })
              .strict(),
            /** Aliyun (Alibaba Cloud) SMS SendSms with an AccessKey pair. */
            z
              .object({
                type: z.literal('aliyun'),
                access_key_id: z.string().min(1).describe('Aliyun AccessKey id'),
                access_key_secret: z.string().min(1).describe('Aliyun AccessKey secret (never logged)'),
                sign_name: z.string().min(1).describe('SMS signature (签名)'),
                template_succeeded: z
                  .string()
                  .regex(/^SMS_\d+$/)
                  .describe('template of a recharge that succeeded'),
                template_failed: z
                  .string()
                  .regex(/^SMS_\d+$/)
                  .describe('template of a recharge that failed'),
                endpoint: httpUrl.default('https://dysmsapi.aliyuncs.com/').describe('the Dysms API endpoint'),
                region_id: z.string().min(1).default('cn-hangzhou').describe('Aliyun region'),
                timeout_ms: timeoutMs.default(5000).describe('one call’s deadline'),
              })
              .strict(),
          ])
          .default({
            type: 'simulator',
            sign_name: 'Open-AutoGLM',
            template_succeeded: 'SMS_100000001',
            template_failed: 'SMS_100000002',
          })
          .describe('the SMS provider: the embedded simulator of Aliyun SMS, or Aliyun SMS'),
      })
      .strict()
      .prefault({})
      .describe('Telling the person how a recharge ended: through which channels, and the SMS provider.'),
    rate_limit: rateLimitSchema.describe('Request budgets per credential and per source IP (abuse-schema.ts).'),
    menu: menuSchema.default(DEFAULT_MENU).describe('drinks, prices per size in fen, surcharges'),
    recharge: rechargeConfigSchema.describe(
      'Phone recharge: numbers, face values, operators, channels and routing (see recharge-schema.ts).',
    ),
    auth: z
      .object({
        access_token_ttl_seconds: z
          .number()
          .int()
          .min(30)
          .max(900)
          .default(900)
          .describe('Access tokens live at most 15 minutes; a refresh token renews them, once each.'),
        refresh_token_ttl_seconds: z
          .number()
          .int()
          .min(300)
          .max(90 * 86_400)
          .default(30 * 86_400)
          .describe('a refresh token lives this long (each is spent once)'),
        admin_key_file: z
          .string()
          .min(1)
          .optional()
          .describe(
            'Where the first admin key is written on first start (mode 0600). Default: beside the SQLite file, ' +
              'or data/admin-key.',
          ),
        api_key_cache_seconds: z
          .number()
          .int()
          .min(0)
          .max(300)
          .default(60)
          .describe(
            'PostgreSQL only: how long an instance may answer an API key from memory instead of reading it on every ' +
              'request. It keeps keys only while it listens for changes: every change to keys or people clears it ' +
              '(the revoking instance at once, the others when the database notifies them), and a lost connection ' +
              'empties it until it listens again. 0: read the key on every request.',
          ),
        cors_origins: z
          .array(z.url())
          .default([])
          .describe(
            "Origins (the web console's) allowed to call the API from a browser, with cookies; none by default.",
          ),
      })
      .strict()
      .prefault({})
      .describe("Who may call the service: tokens' lifetimes, where the first admin key is written, browser origins."),
    tenant: z
      .object({
        default_id: z
          .string()
          .regex(TENANT_ID_RE)
          .default('default')
          .describe('the tenant the first start creates, with its admin and admin key'),
      })
      .strict()
      .prefault({})
      .describe('tenants'),
  })
  .strict();

export type RawConfig = z.input<typeof configSchema>;
export type ParsedConfig = z.output<typeof configSchema>;
export { DEFAULT_GATEWAYS };

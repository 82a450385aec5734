import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { DestinationStream } from 'pino';
import { MemoryFailureCounter } from '../adapters/abuse/memory-failure-counter.js';
import { RedisFailureCounter } from '../adapters/abuse/redis-failure-counter.js';
import { createPinoLogger } from '../adapters/logging/pino-logger.js';
import { HttpMerchant } from '../adapters/merchants/http-merchant.js';
import { openRedis } from '../adapters/redis/open-redis.js';
import type { TransactionFaults } from '../adapters/storage/postgres/database.js';
import type { Storage } from '../adapters/storage/storage.js';
import { SortableIds } from '../adapters/system/sortable-ids.js';
import { systemClock } from '../adapters/system/system-clock.js';
import { type AbuseApi, createAbuse } from '../application/abuse/abuse-api.js';
import {
  ActionRegistry,
  AgentService,
  registerOrderHandlers,
  registerWalletHandlers,
} from '../application/agent/agent-api.js';
import { type BatchApi, type BatchFeed, createBatch, createBatchFeed } from '../application/batch/batch-api.js';
import { createDataKeys, type DataKeysApi } from '../application/data-keys/data-keys-api.js';
import { JobRunner } from '../application/jobs/job-runner.js';
import type { Runtime } from '../application/jobs/runtime.js';
import type { Deps } from '../application/kernel/deps.js';
import { createIdentity, type IdentityApi } from '../application/identity/identity-api.js';
import { createIdempotency, type IdempotencyApi } from '../application/kernel/idempotency.js';
import { createFlags, type FlagsApi } from '../application/flags/flags-api.js';
import { createLedger, type LedgerApi } from '../application/ledger/ledger-api.js';
import { createMaintenance, type MaintenanceApi } from '../application/maintenance/maintenance-api.js';
import { type AuditApi, type AuditSettings, createAudit } from '../application/audit/audit-api.js';
import { FileCheckpointSink } from '../adapters/audit/file-checkpoint-sink.js';
import { AllCheckpointSinks, WebhookCheckpointSink } from '../adapters/audit/webhook-checkpoint-sink.js';
import { createOrderFeed, createOrders, type OrderFeed, type OrdersApi } from '../application/orders/orders-api.js';
import { createPayments, type PaymentsApi } from '../application/payments/payments-api.js';
import {
  createRecharge,
  createRechargeFeed,
  type RechargeApi,
  type RechargeFeed,
} from '../application/recharge/recharge-api.js';
import { createAuditFeed } from '../application/kernel/audit-feed.js';
import type { ConfirmationsApi } from '../application/confirmations/confirmations-api.js';
import { buildConfirmations } from './build-confirmations.js';
import { createRefunds, type RefundsApi } from '../application/refunds/refunds-api.js';
import { createRules, type RulesApi } from '../application/rules/rules-api.js';
import { createWallet, type WalletApi } from '../application/wallet/wallet-api.js';
import { createMandates, type MandatesApi } from '../application/mandates/mandates-api.js';
import type { ReconciliationApi } from '../application/reconciliation/reconciliation-api.js';
import type { WebhooksApi } from '../application/webhooks/webhooks-api.js';
import type { AliyunSmsSimulator } from '../simulator/aliyun-sms-simulator.js';
import { breakerEvents, buildWebhooks } from './build-webhooks.js';
import type { Caller } from '../application/kernel/caller.js';
import { type CrashHook, withCrashPoints } from '../application/kernel/crash-points.js';
import { type AppConfig, type ConfigResult, maskDatabaseUrl } from '../config/load-config.js';
import { BUILT_IN_RECHARGE_RULES, BUILT_IN_RULES } from '../domain/rules.js';
import { countDatabaseStatements, Metrics } from '../interfaces/http/plumbing/metrics.js';
import { buildHttpServer } from '../interfaces/http/server.js';
import { mcpOptions } from './build-mcp.js';
import type { Clock } from '../ports/clock.js';
import type { LlmProvider } from '../ports/llm-provider.js';
import type { Logger } from '../ports/logger.js';
import type { Merchant } from '../ports/merchant.js';
import type { RechargeChannel } from '../ports/recharge-channel.js';
import { SimulatedCarriers } from '../simulator/simulated-carriers.js';
import { SIM_QR_METHODS, SimulatedGateway } from '../simulator/simulated-gateway.js';
import { payPageId, SimPayPages } from '../simulator/pay-pages.js';
import { PAY_PAGE_PATH } from '../domain/payer-page.js';
import { SimulatedMerchant } from '../simulator/simulated-merchant.js';
import { buildPayerPages, EMBEDDED_PAYEE } from './build-payer-pages.js';
import { embeddedSimulatorSecrets } from './simulator-secrets.js';
import { buildGateways, type Remote } from './build-gateways.js';
import { buildInterpreter } from './build-interpreter.js';
import { identityPorts, identitySettings, mandateSigner, writeAdminKey } from './build-identity.js';
import { buildReconciliation } from './build-reconciliation.js';
import { buildRecharge, ruleFromConfig } from './build-recharge.js';
import { openStorage } from './build-storage.js';
import { observeCommits } from './observe-commits.js';
import { configReloader, type LiveConfig } from './reload-config.js';
import type { ConfigReloader } from '../ports/config-reload.js';
import type { RechargeRule, Rule } from '../domain/rules.js';
import { buildTracing } from './build-tracing.js';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';

export interface AppOptions {
  /**
   * Use these simulators where the configuration routes through one (tests and demos watch the
   * outside world through them, or keep it alive across a simulated crash). Without them, the
   * app builds the simulators its configuration uses, and only those.
   */
  readonly gateway?: SimulatedGateway;
  readonly merchant?: SimulatedMerchant;
  readonly clock?: Clock;
  readonly random?: () => number;
  readonly logDestination?: DestinationStream;
  /** Job-lease owner id; defaults to host:pid:random. */
  readonly workerId?: string;
  /** Use this model instead of building one from `llm` settings (tests). */
  readonly llm?: LlmProvider;
  /**
   * Register actions and handlers: users add their own, and the handlers of refund,
   * recharge_phone and query_balance are injected here when their modules are present.
   */
  readonly actions?: (registry: ActionRegistry, services: Services) => void;
  /** The phones' ground truth behind the simulated recharge channels (tests keep it across a crash). */
  readonly carriers?: SimulatedCarriers;
  /** Use these recharge channels instead of building them from the configuration. */
  readonly rechargeChannels?: ReadonlyMap<string, RechargeChannel>;
  /** PostgreSQL only, tests only: fail chosen statements of units of work (serialization failures, deadlocks). */
  readonly transactionFaults?: TransactionFaults;
  /** The simulated SMS provider the embedded notifier talks to (tests read what it was sent). */
  readonly sms?: AliyunSmsSimulator;
  /**
   * The deterministic simulation only: called at every unit of work's crash points, throwing to
   * "kill" this instance there. Absent (the default): no wrapper, nothing changes.
   */
  readonly crashHook?: CrashHook;
  /**
   * Read the configuration again from the sources this process started with (`autoglm serve`
   * passes its own); without it, SIGHUP and POST /api/v1/admin/reload answer RELOAD_UNAVAILABLE.
   */
  readonly reloadConfig?: () => ConfigResult;
  /**
   * Tests: export spans to this exporter (the SDK's InMemorySpanExporter), as `tracing.otlp` would
   * to a collector. A type only: nothing of OpenTelemetry is loaded unless one of them is given.
   */
  readonly spanExporter?: SpanExporter;
}

/** Every capability of the application, as the transports and tests use them. */
export interface Services {
  readonly orders: OrdersApi;
  readonly refunds: RefundsApi;
  readonly payments: PaymentsApi;
  readonly wallet: WalletApi;
  readonly recharge: RechargeApi;
  readonly batch: BatchApi;
  readonly rules: RulesApi;
  readonly ledger: LedgerApi;
  /** Review flags: listed with filters, resolved with a note, acted on where safe. */
  readonly flags: FlagsApi;
  readonly maintenance: MaintenanceApi;
  /** Every resource's audit trail; the hash chains' check and checkpoints. */
  readonly audit: AuditApi;
  readonly idempotency: IdempotencyApi;
  readonly identity: IdentityApi;
  readonly agent: AgentService;
  /** Failures per source and blocked sources. */
  readonly abuse: AbuseApi;
  /** Money actions the policy held for the person. */
  readonly confirmations: ConfirmationsApi;
  /** The data keys sealing phone numbers and conversations at rest (rotation). */
  readonly dataKeys: DataKeysApi;
  /** What each person allowed their agents to spend without asking (signed, budgeted). */
  readonly mandates: MandatesApi;
  /** Outbound webhooks: endpoints, delivery logs, redelivery. */
  readonly webhooks: WebhooksApi;
  /** Our records against the channels' statements, and the repairs that follow. */
  readonly reconciliation: ReconciliationApi;
  /** Live order changes from the shared audit log (the console's orders list). */
  readonly orderFeed: OrderFeed;
  readonly rechargeFeed: RechargeFeed;
  readonly batchFeed: BatchFeed;
}

export interface App {
  readonly config: AppConfig;
  readonly services: Services;
  /** The one job runner (tests run jobs and wait on it). */
  readonly runner: JobRunner;
  readonly deps: Deps;
  readonly registry: ActionRegistry;
  readonly http: FastifyInstance;
  readonly storage: Storage;
  readonly logger: Logger;
  /** The embedded SMS provider simulator, when the notifications use it. */
  readonly sms: AliyunSmsSimulator | undefined;
  /** The embedded payment simulator, when a gateway entry is one (supplied, or built by the app). */
  readonly paymentSimulator: SimulatedGateway | undefined;
  /**
   * The first admin API key, when this start created the tenant's admin (first start only; also
   * written to the admin key file, mode 0600). Shown once, then never again.
   */
  readonly adminKey: string | undefined;
  /** Where the first admin key was written, when it was. */
  readonly adminKeyFile: string | undefined;
  /** Start the worker and the timers (repair rules, maintenance) without listening. */
  start(): void;
  /** Start the worker and listen; resolves with the URL. */
  listen(): Promise<string>;
  /** Graceful shutdown: refuse new work, finish or release in-flight jobs, close the database. */
  close(deadlineMs?: number): Promise<void>;
  /** Reload policy, menu and custom repair rules (SIGHUP, POST /api/v1/admin/reload). */
  readonly reloader: ConfigReloader;
}

/** The composition root: builds adapters from the validated configuration and wires the capabilities. */
export async function createApp(config: AppConfig, options: AppOptions = {}): Promise<App> {
  const { logger, pino } = createPinoLogger({
    level: config.log.level,
    pretty: config.log.pretty,
    ...(options.logDestination === undefined ? {} : { destination: options.logDestination }),
  });
  // Read before the database is opened: a missing certificate fails the start, not the first request.
  const tls =
    config.server.tls === undefined
      ? undefined
      : {
          cert: readFileSync(config.server.tls.cert_file),
          key: readFileSync(config.server.tls.key_file),
          hstsMaxAgeSeconds: config.server.tls.hsts_max_age_seconds,
        };
  const storage: Storage = await openStorage(config, logger, {
    ...(options.transactionFaults === undefined ? {} : { transactionFaults: options.transactionFaults }),
  });
  const clock = options.clock ?? systemClock;
  const sim = config.simulator;
  // The simulators' books and secrets live under the data directory unless told otherwise.
  const simDir = sim.journal_dir ?? join(dataDir(config), 'simulator');
  const journaling = sim.journal;
  if (journaling) mkdirSync(simDir, { recursive: true });
  const journal = (name: string): { journalPath?: string } => (journaling ? { journalPath: join(simDir, name) } : {});
  let secrets: ((label: string) => string) | undefined;
  const simSecret = (label: string): string => (secrets ??= embeddedSimulatorSecrets(simDir))(label);
  // The simulators the app holds: those supplied, and those it builds because the configuration
  // routes something through them (none for a configuration of real channels). Their journals
  // are closed on shutdown.
  const simulators: Array<{ closeJournal(): void }> = [options.gateway, options.merchant, options.carriers].filter(
    (s) => s !== undefined,
  );
  /** The simulators this process built itself: an outside world of its own (see warnOwnSimulators). */
  const built: string[] = [];
  const held = <S extends { closeJournal(): void }>(s: S): S => {
    simulators.push(s);
    built.push(s.constructor.name);
    return s;
  };
  // Built on first use: only when some gateway entry is of type simulator (one order book for them all).
  let gateway = options.gateway;
  // The pay pages live on this server: their address is known for sure once it listens.
  const scheme = config.server.tls === undefined ? 'http' : 'https';
  let payPageBase = `${scheme}://${config.server.host}:${config.server.port}`;
  const simulatedGateway = (): SimulatedGateway =>
    (gateway ??= held(
      new SimulatedGateway({
        name: 'simulator',
        seed: sim.seed,
        startingBalance: sim.starting_balance,
        now: () => clock.now(),
        // QR methods wait for the payer, as at the standalone simulator and a real gateway.
        payerActionMethods: SIM_QR_METHODS,
        payPageUrl: (tradeNo) => `${payPageBase}${PAY_PAGE_PATH}/${payPageId(simSecret('pay-page'), tradeNo)}`,
        notifySecret: simSecret('gateway-notify'),
        ...journal('gateway.jsonl'),
        chaos: { latencyMs: sim.latency_ms, failureRate: sim.failure_rate, timeoutRate: sim.timeout_rate, hangMs: 0 },
      }),
    ));
  const workerId = options.workerId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  // Spans only when configured (the SDK is loaded then, not otherwise); W3C ids always.
  const tracing = await buildTracing(config, logger, workerId, () => clock.now(), options.spanExporter);
  /** Kept-alive connection pools to close on shutdown. */
  const remotes: Remote[] = [];
  const { gateways, routeGateway } = buildGateways(config, simulatedGateway, clock, remotes, (name, g) =>
    // Inside the resilience wrapper: one client span per attempt.
    tracing.traced(g, { kind: 'gateway', name }, ['create', 'query', 'refund', 'queryRefund', 'close', 'statement']),
  );

  // Joined before anything runs: the request path runs jobs too, even with the worker loop off,
  // and other instances must see this process alive before it holds any lease.
  await storage.coordination.join(workerId);

  let shop: Merchant;
  if (config.merchant.type === 'http') {
    const m = config.merchant;
    const remote = new HttpMerchant({
      baseUrl: m.base_url,
      secret: m.secret,
      timeoutMs: m.timeout_ms,
      connections: m.connections,
    });
    remotes.push(remote);
    shop = remote;
  } else {
    shop =
      options.merchant ??
      held(
        new SimulatedMerchant({
          seed: sim.seed + 1,
          ...journal('merchant.jsonl'),
          chaos: { latencyMs: sim.latency_ms, failureRate: sim.merchant_failure_rate },
        }),
      );
  }

  shop = tracing.traced(shop, { kind: 'merchant', name: shop.name }, ['submit', 'query']);

  // Abuse is built from the runtime below; a violation reported before then has nowhere to go.
  let reportViolation: (caller: Caller, code: string) => Promise<void> = () => Promise.resolve();
  // Each app its own registry: tests run many apps in one process.
  const metrics = new Metrics();
  const statementsSent = storage.statementsSent?.bind(storage);
  if (statementsSent !== undefined) countDatabaseStatements(metrics, statementsSent);
  // Outcomes (orders, payments, refunds, recharges, reconciliations) are counted as they commit.
  const observedUow = tracing.tracedUnitOfWork(
    observeCommits(storage.unitOfWork, (c) => metrics.outcomes.committed(c)),
    config.database.kind === 'postgres' ? 'postgresql' : 'sqlite',
  );
  // What a reload may replace while the process runs (read on every decision).
  const live: LiveConfig = { policy: config.policy, menu: config.menu, ...rulesOf(config) };
  const deps: Deps = {
    uow: options.crashHook === undefined ? observedUow : withCrashPoints(observedUow, options.crashHook),
    mandateSigner: await mandateSigner(storage, clock),
    onMandateViolation: (caller, code) => reportViolation(caller, code),
    clock,
    ids: new SortableIds(clock),
    random: options.random ?? Math.random,
    logger,
    gateways,
    routeGateway,
    merchant: shop,
    policy: () => live.policy,
    menu: () => live.menu,
    workerId,
    coordination: storage.coordination,
    tracing: tracing.tracing,
    settings: {
      paymentGateway: config.payment_gateway,
      paymentMethod: config.orders.payment_method,
      paymentMethods: ['wallet', 'alipay_qr', 'wechat_native', 'sim_qr'],
      unpaidTimeoutMs: config.orders.unpaid_timeout_seconds * 1000,
      payerWindowMs: payerWindowMs(config),
      leaseMs: config.worker.lease_ms,
      maxAttempts: config.worker.max_attempts,
      retryBaseMs: config.worker.retry_base_ms,
      retryMaxMs: config.worker.retry_max_ms,
      dayOffsetMinutes: 480,
      idempotencyTtlMs: config.idempotency.ttl_hours * 3_600_000,
      // Never shorter than a request may run, or a slow first request would lose its own key.
      idempotencyLockMs: Math.max(config.idempotency.lock_seconds * 1000, config.server.wait_for_completion_ms * 2),
      callbackWindowMs: config.callbacks.window_seconds * 1000,
    },
  };
  // Built on first use: only when a simulator recharge channel is not among those supplied.
  let carriers = options.carriers;
  const simulatedCarriers = (): SimulatedCarriers =>
    (carriers ??= held(new SimulatedCarriers(journal('carriers.jsonl'))));
  // Built below, from the runtime; a breaker that moves before then has nobody to tell.
  const late: { webhooks?: WebhooksApi } = {};
  const rechargeRuntime = buildRecharge(
    config,
    clock,
    deps.random,
    simulatedCarriers,
    options.rechargeChannels,
    remotes,
    breakerEvents(
      metrics,
      workerId,
      () => late.webhooks,
      (e) => logger.warn({ err: e }, 'could not announce a breaker change'),
    ),
    simSecret,
    (name, channel) =>
      tracing.traced(channel, { kind: 'recharge_channel', name }, ['submit', 'query', 'check', 'balance', 'statement']),
  );
  const runner = new JobRunner(deps, {
    concurrency: config.worker.concurrency,
    pollIntervalMs: config.worker.poll_interval_ms,
  });
  const runtime: Runtime = { deps, runner, waitForCompletionMs: config.server.wait_for_completion_ms };

  // Each capability is built from the runtime and registers the handlers of its own job kinds.
  const orders = createOrders(runtime);
  const refunds = createRefunds(runtime);
  const payments = createPayments(runtime);
  const wallet = createWallet(runtime);
  const recharge = createRecharge(runtime, rechargeRuntime);
  const batch = createBatch(runtime, rechargeRuntime, {
    maxRows: config.recharge.batch.max_rows,
    chunkRows: config.recharge.batch.chunk_rows,
    expandRows: config.recharge.batch.expand_rows,
  });
  const rules = createRules(runtime, rechargeRuntime, {
    // The live arrays: a reload replaces their contents in place.
    orderRules: live.orderRules,
    rechargeRules: live.rechargeRules,
    ...(config.rules.built_in ? { unpaidTopUpMs: config.orders.unpaid_timeout_seconds * 1000 } : {}),
    sweepIntervalMs: config.rules.enabled ? config.rules.sweep_interval_ms : 0,
    sweepLimit: config.rules.batch,
  });
  const maintenance = createMaintenance(runtime, {
    intervalMs: config.maintenance.enabled ? config.maintenance.interval_ms : 0,
    doneJobsRetentionMs: config.maintenance.done_jobs_retention_hours * 3_600_000,
    failedJobsRetentionMs: config.maintenance.failed_jobs_retention_hours * 3_600_000,
    batch: config.maintenance.batch,
  });
  const audit = createAudit(deps, auditSettings(config));
  const dataKeys = createDataKeys(deps, dataKeySettings(config));
  const webhooks = buildWebhooks(config, runtime, remotes, options.sms, simSecret);
  late.webhooks = webhooks.api;
  const reconciliation = buildReconciliation(config, runtime, rechargeRuntime);
  metrics.outcomes.known({
    gateways: [...gateways.keys()],
    reconciliationSources: config.reconciliation.schedule.sources,
  });
  for (const c of [orders, refunds, payments, wallet, recharge, batch, rules, webhooks, reconciliation])
    runner.register(c.jobs);

  // One Redis, when configured, for every counter instances must share: request budgets and failures.
  const redis = config.rate_limit.redis_url === undefined ? undefined : openRedis(config.rate_limit.redis_url, logger);
  const block = config.security.block;
  const abuse = createAbuse(
    runtime,
    redis === undefined ? new MemoryFailureCounter() : new RedisFailureCounter(redis),
    {
      enabled: block.enabled,
      threshold: block.threshold,
      windowMs: block.window_seconds * 1000,
      durationMs: block.duration_seconds * 1000,
      refreshMs: block.refresh_ms,
      auditTenantId: config.tenant.default_id,
    },
  );

  reportViolation = async (caller, code) => {
    logger.warn({ actor: caller.actor, code }, 'an agent asked for a money action outside its mandates');
    await abuse.api.recordFailure(
      caller.source ?? `principal:${caller.tenantId}:${caller.agentId ?? caller.userId}`,
      'mandate_violation',
      caller.requestId,
    );
  };

  const registry = new ActionRegistry();
  const interpreter = buildInterpreter(config, registry, logger, options.llm);
  const agent = new AgentService({
    registry,
    interpreter,
    uow: storage.unitOfWork,
    clock,
    ids: deps.ids,
    policy: () => live.policy,
    retention: { enabled: config.context_retention.enabled, ttlMs: config.context_retention.ttl_seconds * 1000 },
  });
  const identity = createIdentity(runtime, await identityPorts(storage, clock), identitySettings(config));
  // First start: the tenant, its admin and an admin key — once, however many instances start together.
  const adminKey = await identity.api.bootstrap(config.tenant.default_id);
  const adminKeyFile = adminKey === undefined ? undefined : writeAdminKey(config, adminKey);
  // One reader of the audit log for every live list and progress bar of this instance.
  const liveFeed = createAuditFeed(deps, { pollIntervalMs: 250, batch: 200 });
  const services: Services = {
    orders: orders.api,
    refunds: refunds.api,
    payments: payments.api,
    wallet: wallet.api,
    recharge: recharge.api,
    batch: batch.api,
    rules: rules.api,
    ledger: createLedger(runtime).api,
    flags: createFlags(runtime, { refunds: refunds.api, rules: rules.api }).api,
    maintenance: maintenance.api,
    audit: audit.api,
    idempotency: createIdempotency(deps),
    identity: identity.api,
    agent,
    abuse: abuse.api,
    confirmations: buildConfirmations(deps, {
      recharge: recharge.api,
      wallet: wallet.api,
      refunds: refunds.api,
      batch: batch.api,
    }),
    dataKeys: dataKeys.api,
    mandates: createMandates(deps).api,
    webhooks: webhooks.api,
    reconciliation: reconciliation.api,
    orderFeed: createOrderFeed(liveFeed, (caller, id) => orders.api.get(caller, id)),
    rechargeFeed: createRechargeFeed(liveFeed, (caller, id) => recharge.api.get(caller, id)),
    batchFeed: createBatchFeed(liveFeed, (caller, id) => batch.api.get(caller, id)),
  };
  registerOrderHandlers(registry, services.orders, services.refunds);
  registerWalletHandlers(registry, services.recharge, services.wallet);
  options.actions?.(registry, services);

  const reloader = configReloader({
    load: options.reloadConfig,
    live,
    rulesOf,
    uow: deps.uow,
    clock,
    logger,
    initial: config,
  });
  let draining = false;
  const http = buildHttpServer({
    services: { ...services, reloader },
    log: pino,
    bodyLimitBytes: config.server.body_limit_bytes,
    requestTimeoutMs: config.server.request_timeout_ms,
    requestsPerTurn: config.server.requests_per_turn,
    corsOrigins: config.auth.cors_origins,
    homeTenant: config.tenant.default_id,
    metrics,
    tracing: tracing.tracing,
    trustProxy: config.server.trust_proxy,
    rateLimit: {
      enabled: config.rate_limit.enabled,
      perCredentialMax: config.rate_limit.per_credential_max,
      perIpMax: config.rate_limit.per_ip_max,
      windowMs: config.rate_limit.window_seconds * 1000,
      clock,
      ...(redis === undefined ? {} : { redis }),
    },
    ...(tls === undefined ? {} : { tls }),
    mcp: mcpOptions(config, services, registry, logger),
    // Beside dist/ whether this runs from src/ (tsx) or from dist/ (the build).
    consoleDir: fileURLToPath(new URL('../../dist/web', import.meta.url)),
    ...(gateway === undefined || !Object.values(config.gateways).some((g) => g.type === 'simulator')
      ? {}
      : {
          payerPages: buildPayerPages(
            gateway,
            new SimPayPages(gateway, simSecret('pay-page'), EMBEDDED_PAYEE),
            storage.unitOfWork.read.payments,
            payments.api,
            clock,
            (err, outTradeNo) =>
              logger.warn(
                { err, out_trade_no: outTradeNo },
                'a pay page’s callback was not taken: the payment’s job will ask the gateway',
              ),
          ),
        }),
    ready: async () => {
      const checks = {
        database: await storage.ping(),
        worker: !config.worker.enabled || runner.isRunning,
        accepting: !draining,
      };
      return { ready: Object.values(checks).every(Boolean), checks };
    },
  });

  // Several instances on one database share each recharge channel's capacity: each keeps to its
  // share, the instances counted at start and every SHARE_REFRESH_MS (an instance that died
  // leaves the others' shares small until then).
  let shareTimer: NodeJS.Timeout | undefined;
  const shareChannels = (): void => {
    storage.coordination.otherInstances().then(
      (others) => rechargeRuntime.router.setInstances(others + 1),
      () => undefined, // the count stays as it was; the next refresh asks again
    );
  };
  const start = (): void => {
    warnOwnSimulators(storage, built, logger);
    if (storage.engine === 'postgres') {
      shareChannels();
      shareTimer = setInterval(shareChannels, SHARE_REFRESH_MS);
      shareTimer.unref();
    }
    runner.start();
    rules.api.start();
    maintenance.api.start();
    audit.api.start();
    dataKeys.api.start();
    if (config.webhooks.enabled) webhooks.api.start();
    reconciliation.start();
  };
  return {
    config,
    services,
    runner,
    deps,
    registry,
    http,
    storage,
    logger,
    sms: webhooks.sms,
    paymentSimulator: gateway,
    adminKey,
    adminKeyFile,
    reloader,
    start,
    async listen() {
      if (config.worker.enabled) start();
      const address = await http.listen({ host: config.server.host, port: config.server.port });
      payPageBase = address;
      logger.info(
        {
          url: address,
          database: config.database.kind === 'sqlite' ? config.database.path : maskDatabaseUrl(config.database.url),
          gateway: config.payment_gateway,
          nlu: interpreter.mode,
          ...(interpreter.mode === 'grammar-only' ? {} : { model: config.llm.model }),
        },
        `Open-AutoGLM listening on ${address}`,
      );
      return address;
    },
    async close(deadlineMs = 10_000) {
      draining = true;
      rules.api.stop();
      maintenance.api.stop();
      audit.api.stop();
      dataKeys.api.stop();
      webhooks.api.stop();
      // Another instance takes the roles this one led (the webhook stream) now, not once it exits.
      await deps.coordination.resign();
      reconciliation.stop();
      liveFeed.close();
      // A keep-alive connection whose last answer was still being written when closing began
      // turns idle afterwards, and would hold close() open for the whole keep-alive timeout
      // (72 s in Fastify): close such connections as soon as they turn idle.
      const idle = setInterval(() => http.server.closeIdleConnections(), 100);
      try {
        await http.close();
      } finally {
        clearInterval(idle);
      }
      if (shareTimer !== undefined) clearInterval(shareTimer);
      await runner.stop(deadlineMs);
      await storage.close();
      // The spans of the drained work go out before the process ends.
      await tracing.shutdown();
      await redis?.quit().catch(() => redis.disconnect());
      await Promise.all(remotes.map((r) => r.shutdown()));
      for (const s of simulators) s.closeJournal();
    },
  };
}

/** The repair rules of a configuration: the built-in ones (unless turned off), then the custom ones. */
function rulesOf(config: AppConfig): { orderRules: Rule[]; rechargeRules: RechargeRule[] } {
  return {
    orderRules: [...(config.rules.built_in ? BUILT_IN_RULES : []), ...config.rules.custom.map(ruleFromConfig)],
    rechargeRules: [
      ...(config.rules.built_in ? BUILT_IN_RECHARGE_RULES : []),
      ...config.rules.custom_recharge.map(ruleFromConfig),
    ],
  };
}

/** Where the service keeps its files: beside the SQLite database, else ./data (as the admin key file). */
function dataDir(config: AppConfig): string {
  return config.database.kind === 'sqlite' ? dirname(config.database.path) : 'data';
}

/** How often an instance on PostgreSQL counts the instances sharing its recharge channels. */
const SHARE_REFRESH_MS = 2_000;

/** A QR code's own validity at Alipay and WeChat Pay when nothing closes the trade sooner. */
const GATEWAY_QR_VALIDITY_MS = 2 * 3_600_000;

/**
 * How long a payer has to pay a waiting trade: the soonest a repair rule settles (queries, then
 * closes) an order still being paid, or the gateways' own QR validity when no rule does.
 */
function payerWindowMs(config: AppConfig): number {
  const rules = config.rules.enabled
    ? [...(config.rules.built_in ? BUILT_IN_RULES : []), ...config.rules.custom.map(ruleFromConfig)]
    : [];
  const settling = rules
    .filter((r) => r.action === 'settle_payment' && r.statuses.includes('PAYMENT_PROCESSING'))
    .map((r) => r.olderThanMs);
  return Math.min(GATEWAY_QR_VALIDITY_MS, ...settling);
}

/**
 * Data-key settings from the configuration: instances look for a new key every
 * `security.key_refresh_ms`, so a rotation retires the old key no sooner than twice that (plus a
 * second for a transaction that sealed a value just before its instance refreshed).
 */
export function dataKeySettings(config: Pick<AppConfig, 'security'>): Parameters<typeof createDataKeys>[1] {
  const refreshMs = config.security.key_refresh_ms;
  return { refreshMs, graceMs: refreshMs * 2 + 1000, batch: 200, maxPasses: 5 };
}

/** Where and how often the audit chains' heads are checkpointed (the service and the CLI alike). */
export function auditSettings(config: Pick<AppConfig, 'audit'>): AuditSettings {
  const { checkpoint_file: file, checkpoint_url: url } = config.audit;
  const sinks = [
    ...(file === undefined ? [] : [new FileCheckpointSink(file)]),
    ...(url === undefined ? [] : [new WebhookCheckpointSink(url)]),
  ];
  const [only] = sinks;
  return {
    checkpointIntervalMs: config.audit.checkpoint_interval_ms,
    ...(only === undefined ? {} : { sink: sinks.length === 1 ? only : new AllCheckpointSinks(sinks) }),
  };
}

/**
 * Embedded simulators are one process's outside world. Several instances on one database would
 * each pay, order and top up in a world of their own: a trade opened through one is unknown to
 * the others' jobs (a status query, a refund, reconciliation). Say so when another instance is
 * alive; one `autoglm simulator` that every instance calls (or real gateways) is the fix.
 */
function warnOwnSimulators(storage: Storage, built: readonly string[], logger: Logger): void {
  if (built.length === 0 || storage.engine !== 'postgres') return;
  storage.coordination.otherInstances().then(
    (others) => {
      if (others > 0)
        logger.warn(
          { instances: others + 1, simulators: built },
          'several instances share this database but each runs its own embedded simulators: a payment or top-up made ' +
            'through one is unknown to the others; point every instance at one `autoglm simulator` ' +
            '(gateway type simulator-http, merchant type http, recharge channel type juhe) or at real gateways',
        );
    },
    () => undefined,
  );
}

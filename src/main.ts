import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { createInterface } from 'node:readline/promises';
import type { FastifyInstance } from 'fastify';
import type { DestinationStream } from 'pino';
import { AlipayGateway } from './adapters/gateways/alipay/alipay-gateway.js';
import { SimulatorHttpGateway } from './adapters/gateways/simulator-http/simulator-http-gateway.js';
import { OpenAiCompatibleProvider } from './adapters/llm/openai-compatible-provider.js';
import { createPinoLogger } from './adapters/logging/pino-logger.js';
import { HttpMerchant } from './adapters/merchants/http-merchant.js';
import { openPostgres } from './adapters/storage/postgres/database.js';
import { openSqlite } from './adapters/storage/sqlite/database.js';
import type { Storage } from './adapters/storage/storage.js';
import { systemClock } from './adapters/system/system-clock.js';
import { SortableIds } from './adapters/system/sortable-ids.js';
import { ActionRegistry } from './application/action-registry.js';
import type { Deps } from './application/context.js';
import { Engine } from './application/engine.js';
import { AgentService } from './application/handle-agent-message.js';
import { Interpreter, type NluMode, type ParseOutput, toParseOutput } from './application/interpret-text.js';
import { registerWalletHandlers } from './application/wallet-action-handlers.js';
import { registerOrderHandlers } from './application/order-action-handlers.js';
import { type AppConfig, describeConfig, loadConfig, maskDatabaseUrl } from './config/load-config.js';
import { runCli, type SimulatorCommandOptions } from './interfaces/cli/cli.js';
import { Metrics } from './interfaces/http/metrics.js';
import { buildHttpServer } from './interfaces/http/server.js';
import type { Clock } from './ports/clock.js';
import type { LlmProvider } from './ports/llm-provider.js';
import type { Logger } from './ports/logger.js';
import { wechatpayGatewayFromSettings } from './adapters/gateways/wechatpay/wechatpay-keys.js';
import type { PaymentGateway } from './ports/payment-gateway.js';
import { ResilientGateway } from './adapters/resilience/resilient-gateway.js';
import { chooseGateway, type GatewayRoute } from './domain/gateway-routing.js';
import { BUILT_IN_RECHARGE_RULES, BUILT_IN_RULES } from './domain/rules.js';
import type { Merchant } from './ports/merchant.js';
import { type HttpChaosInput, httpChaosSchema } from './simulator/server/http-chaos.js';
import { standardFaces } from './simulator/standard-faces.js';
import { startSimulatorServer } from './simulator/server/simulator-server.js';
import { SimulatedGateway } from './simulator/simulated-gateway.js';
import { SimulatedMerchant } from './simulator/simulated-merchant.js';
import { JuheRechargeChannel } from './adapters/recharge/juhe/juhe-channel.js';
import { ChannelRouter } from './application/channel-router.js';
import type { RechargeRuntime } from './application/execute-recharge.js';
import { rechargeSettings } from './config/recharge-schema.js';
import type { RechargeChannel } from './ports/recharge-channel.js';
import type { RoutingObserver } from './ports/routing-observer.js';
import { SimulatedCarriers } from './simulator/simulated-carriers.js';
import { SimulatedRechargeChannel } from './simulator/simulated-recharge-channel.js';

export interface AppOptions {
  /** Use these simulators (tests keep the "outside world" alive across a simulated crash). */
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
  readonly actions?: (registry: ActionRegistry, engine: Engine) => void;
  /** The phones' ground truth behind the simulated recharge channels (tests keep it across a crash). */
  readonly carriers?: SimulatedCarriers;
  /** Use these recharge channels instead of building them from the configuration. */
  readonly rechargeChannels?: ReadonlyMap<string, RechargeChannel>;
}

export interface App {
  readonly config: AppConfig;
  readonly engine: Engine;
  readonly agent: AgentService;
  readonly registry: ActionRegistry;
  readonly http: FastifyInstance;
  readonly storage: Storage;
  readonly gateway: SimulatedGateway;
  readonly merchant: SimulatedMerchant;
  /** Ground truth of the simulated recharge channels. */
  readonly carriers: SimulatedCarriers;
  readonly logger: Logger;
  /** Start the worker and listen; resolves with the URL. */
  listen(): Promise<string>;
  /** Graceful shutdown: refuse new work, finish or release in-flight jobs, close the database. */
  close(deadlineMs?: number): Promise<void>;
}

/** The composition root: builds adapters from the validated configuration and wires them in. */
export async function createApp(config: AppConfig, options: AppOptions = {}): Promise<App> {
  const { logger, pino } = createPinoLogger({
    level: config.log.level,
    pretty: config.log.pretty,
    ...(options.logDestination === undefined ? {} : { destination: options.logDestination }),
  });
  const storage: Storage =
    config.database.kind === 'postgres'
      ? await openPostgres(config.database.url, { poolSize: config.database.poolSize, logger })
      : await openSqlite(config.database.path);
  const clock = options.clock ?? systemClock;
  const sim = config.simulator;
  if (sim.journal_dir !== undefined) mkdirSync(sim.journal_dir, { recursive: true });
  const journal = (name: string): { journalPath?: string } =>
    sim.journal_dir === undefined ? {} : { journalPath: join(sim.journal_dir, name) };
  const gateway =
    options.gateway ??
    new SimulatedGateway({
      name: 'simulator',
      seed: sim.seed,
      startingBalance: sim.starting_balance,
      ...journal('gateway.jsonl'),
      chaos: { latencyMs: sim.latency_ms, failureRate: sim.failure_rate, timeoutRate: sim.timeout_rate, hangMs: 0 },
    });
  const merchant =
    options.merchant ??
    new SimulatedMerchant({
      seed: sim.seed + 1,
      ...journal('merchant.jsonl'),
      chaos: { latencyMs: sim.latency_ms, failureRate: sim.merchant_failure_rate },
    });

  const rs = config.resilience;
  const resilience = {
    timeoutMs: rs.timeout_ms,
    maxAttempts: rs.max_attempts,
    backoffInitialMs: rs.backoff_initial_ms,
    backoffMaxMs: rs.backoff_max_ms,
    maxRetryAfterMs: rs.max_retry_after_ms,
    breakerThreshold: rs.breaker_threshold,
    breakerWindowMs: rs.breaker_window_ms,
    breakerMinimumRps: rs.breaker_minimum_rps,
    halfOpenAfterMs: rs.half_open_after_ms,
    bulkheadLimit: rs.bulkhead_limit,
    bulkheadQueue: rs.bulkhead_queue,
  };
  const resilient = new Map<string, ResilientGateway>();
  const gateways = new Map<string, PaymentGateway>();
  /** Kept-alive connection pools to close on shutdown. */
  const remotes: Array<{ shutdown(): Promise<void> }> = [];
  const add = (name: string, g: PaymentGateway): void => {
    // Each configured name gets its own breaker, even when two names share one simulator.
    const wrapped = new ResilientGateway(g, resilience, name);
    resilient.set(name, wrapped);
    gateways.set(name, wrapped);
  };
  for (const [name, g] of Object.entries(config.gateways)) {
    switch (g.type) {
      case 'simulator':
        add(name, gateway);
        break;
      case 'alipay':
        add(
          name,
          new AlipayGateway({
            name,
            appId: g.app_id,
            privateKey: g.private_key,
            alipayPublicKey: g.alipay_public_key,
            gatewayUrl: g.gateway_url,
            timeoutMs: g.timeout_ms,
            ...(g.notify_url === undefined ? {} : { notifyUrl: g.notify_url }),
            clock,
          }),
        );
        break;
      case 'wechatpay':
        add(name, wechatpayGatewayFromSettings(name, g));
        break;
      case 'simulator-http': {
        const remote = new SimulatorHttpGateway({
          name,
          baseUrl: g.base_url,
          secret: g.secret,
          timeoutMs: g.timeout_ms,
          connections: g.connections,
          ...(g.notify_secret === undefined ? {} : { notifySecret: g.notify_secret }),
          ...(g.methods === undefined ? {} : { methods: g.methods }),
        });
        remotes.push(remote);
        add(name, remote);
        break;
      }
      default: {
        const never: never = g;
        // Only the type: the entry holds keys, which never go into a message.
        throw new Error(`unsupported gateway type ${String((never as { type?: unknown }).type)}`);
      }
    }
  }

  const routes: GatewayRoute[] = (config.payment_routing ?? [{ gateway: config.payment_gateway, priority: 0 }]).map(
    (r) => ({
      gateway: r.gateway,
      priority: r.priority,
      ...(r.methods === undefined ? {} : { methods: r.methods }),
      ...(r.min_amount === undefined ? {} : { minAmount: r.min_amount }),
      ...(r.max_amount === undefined ? {} : { maxAmount: r.max_amount }),
    }),
  );
  const routeGateway: Deps['routeGateway'] = (request) => {
    const states = new Map(
      [...resilient].map(([name, g]) => [name, { methods: g.methods, available: g.health().available }]),
    );
    return chooseGateway(routes, states, request);
  };
  // Joined before anything runs: the request path runs jobs too, even with the worker loop off,
  // and other instances must see this process alive before it holds any lease.
  const workerId = options.workerId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  await storage.coordination.join(workerId);

  let shop: Merchant = merchant;
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
  }

  let draining = false;
  const deps: Deps = {
    uow: storage.unitOfWork,
    clock,
    ids: new SortableIds(clock),
    random: options.random ?? Math.random,
    logger,
    gateways,
    routeGateway,
    merchant: shop,
    policy: () => config.policy,
    menu: () => config.menu,
    rules: [...(config.rules.built_in ? BUILT_IN_RULES : []), ...config.rules.custom.map(ruleFromConfig)],
    workerId,
    coordination: storage.coordination,
    settings: {
      paymentGateway: config.payment_gateway,
      paymentMethod: config.orders.payment_method,
      paymentMethods: ['wallet', 'alipay_qr', 'wechat_native'],
      unpaidTimeoutMs: config.orders.unpaid_timeout_seconds * 1000,
      leaseMs: config.worker.lease_ms,
      maxAttempts: config.worker.max_attempts,
      retryBaseMs: config.worker.retry_base_ms,
      retryMaxMs: config.worker.retry_max_ms,
      dayOffsetMinutes: 480,
      idempotencyTtlMs: config.idempotency.ttl_hours * 3_600_000,
      // Never shorter than a request may run, or a slow first request would lose its own key.
      idempotencyLockMs: Math.max(config.idempotency.lock_seconds * 1000, config.server.wait_for_completion_ms * 2),
      callbackWindowMs: config.callbacks.window_seconds * 1000,
      ruleSweepIntervalMs: config.rules.enabled ? config.rules.sweep_interval_ms : 0,
      ruleSweepLimit: config.rules.batch,
    },
  };
  const carriers = options.carriers ?? new SimulatedCarriers(journal('carriers.jsonl'));
  // Each app its own registry: tests run many apps in one process.
  const metrics = new Metrics();
  const recharge = buildRecharge(config, clock, deps.random, carriers, options.rechargeChannels, remotes, metrics);
  const engine = new Engine(
    deps,
    {
      concurrency: config.worker.concurrency,
      pollIntervalMs: config.worker.poll_interval_ms,
      waitForCompletionMs: config.server.wait_for_completion_ms,
    },
    recharge,
  );
  const registry = new ActionRegistry();
  registerOrderHandlers(registry, engine);
  registerWalletHandlers(registry, engine);
  // refund, recharge_phone and query_balance are understood already; their modules attach their
  // handlers here (registry.handle(name, handler)). Until then they answer ACTION_UNAVAILABLE.
  options.actions?.(registry, engine);
  const interpreter = buildInterpreter(config, registry, logger, options.llm);
  const agent = new AgentService({
    registry,
    interpreter,
    uow: storage.unitOfWork,
    clock,
    ids: deps.ids,
    policy: () => config.policy,
    retention: { enabled: config.context_retention.enabled, ttlMs: config.context_retention.ttl_seconds * 1000 },
  });
  // Expired conversations are dead weight; sweep them now and then.
  const sweep = setInterval(() => {
    storage.unitOfWork
      .run((r) => r.sessions.purgeExpired(clock.now()))
      .catch((e: unknown) => logger.warn({ err: e }, 'session sweep failed'));
  }, 600_000);
  sweep.unref();
  const http = buildHttpServer({
    engine,
    agent,
    log: pino,
    bodyLimitBytes: config.server.body_limit_bytes,
    requestTimeoutMs: config.server.request_timeout_ms,
    tenantId: config.tenant.default_id,
    metrics,
    ready: async () => {
      const checks = {
        database: await storage.ping(),
        worker: !config.worker.enabled || engine.runner.isRunning,
        accepting: !draining,
      };
      return { ready: Object.values(checks).every(Boolean), checks };
    },
  });

  return {
    config,
    engine,
    agent,
    registry,
    http,
    storage,
    gateway,
    merchant,
    carriers,
    logger,
    async listen() {
      if (config.worker.enabled) engine.start();
      const address = await http.listen({ host: config.server.host, port: config.server.port });
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
      clearInterval(sweep);
      // A keep-alive connection whose last answer was still being written when closing began
      // turns idle afterwards, and would hold close() open for the whole keep-alive timeout
      // (72 s in Fastify): close such connections as soon as they turn idle.
      const idle = setInterval(() => http.server.closeIdleConnections(), 100);
      try {
        await http.close();
      } finally {
        clearInterval(idle);
      }
      await engine.stop(deadlineMs);
      await storage.close();
      await Promise.all(remotes.map((r) => r.shutdown()));
      gateway.closeJournal();
      merchant.closeJournal();
      carriers.closeJournal();
    },
  };
}

/**
 * Words → intent as configured: the grammar alone (the default without an API key), or with a
 * model over the OpenAI-compatible API (`llm.mode`).
 */
function buildInterpreter(
  config: AppConfig,
  registry: ActionRegistry,
  logger: Logger,
  override?: LlmProvider,
): Interpreter {
  const key = config.llm.api_key;
  const mode: NluMode = config.llm.mode ?? (key === undefined || key === '' ? 'grammar-only' : 'grammar-then-llm');
  const llm =
    mode === 'grammar-only'
      ? undefined
      : (override ??
        new OpenAiCompatibleProvider({
          baseUrl: config.llm.base_url,
          model: config.llm.model,
          timeoutMs: config.llm.timeout_ms,
          temperature: config.llm.temperature,
          ...(key === undefined ? {} : { apiKey: key }),
        }));
  return new Interpreter({ registry, menu: () => config.menu, mode, logger, ...(llm === undefined ? {} : { llm }) });
}

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };

/** `autoglm parse` without a server: the configured grammar (and model) in this process. */
async function parseLocal(text: string): Promise<ParseOutput> {
  const loaded = loadConfig({ env: process.env });
  if (!loaded.ok)
    return {
      error: { code: loaded.error.code, message: `${loaded.error.message}: ${loaded.error.issues.join('; ')}` },
    };
  return toParseOutput(await buildInterpreter(loaded.value, new ActionRegistry(), quiet).interpret(text));
}

/** `autoglm do --local`: the service on its configured store, in this process, logging to stderr. */
async function openLocal(): Promise<{
  call: (
    method: 'GET' | 'POST',
    path: string,
    user: string,
    body?: unknown,
    headers?: Record<string, string>,
  ) => Promise<{ status: number; body: unknown }>;
  close(): Promise<void>;
}> {
  const loaded = loadConfig({ env: process.env, overrides: { log: { level: 'warn' } } });
  if (!loaded.ok) throw new Error(`${loaded.error.message}: ${loaded.error.issues.join('; ')}`);
  const app = await createApp(loaded.value, { logDestination: process.stderr });
  await app.http.ready();
  app.engine.start();
  return {
    async call(method, path, user, body, headers = {}) {
      const res = await app.http.inject({
        method,
        url: path,
        headers: {
          'x-user-id': user,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
      });
      return { status: res.statusCode, body: res.body === '' ? null : (JSON.parse(res.body) as unknown) };
    },
    close: () => app.close(),
  };
}

/** A yes/no question on the terminal (stderr, so stdout stays machine-readable); no answer when stdin closes. */
async function ask(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await new Promise<string>((resolve) => {
      rl.once('close', () => resolve(''));
      rl.question(question).then(resolve, () => resolve(''));
    });
  } finally {
    rl.close();
  }
}

/**
 * Recharge channels and their router from the `recharge` section: simulated carriers by
 * default, the Juhe aggregator when configured.
 */
function buildRecharge(
  config: AppConfig,
  clock: Clock,
  random: () => number,
  carriers: SimulatedCarriers,
  given: ReadonlyMap<string, RechargeChannel> | undefined,
  remotes: Array<{ shutdown(): Promise<void> }>,
  observer: RoutingObserver,
): RechargeRuntime {
  const rc = config.recharge;
  const settings = rechargeSettings(rc);
  const channels = new Map<string, RechargeChannel>();
  for (const [name, c] of Object.entries(rc.channels)) {
    const supplied = given?.get(name);
    if (supplied !== undefined) {
      channels.set(name, supplied);
      continue;
    }
    switch (c.type) {
      case 'simulator':
        channels.set(
          name,
          new SimulatedRechargeChannel({
            name,
            carriers,
            seed: c.seed,
            operatorSettings: settings.operatorSettings,
            now: () => clock.now(),
            profile: {
              chaos: {
                latencyMs: c.latency_ms,
                failureRate: c.failure_rate,
                timeoutRate: c.timeout_rate,
                errorRate: c.error_rate,
              },
              ...(c.processing_ms.max > 0 ? { processingMs: c.processing_ms } : {}),
              capacity: c.capacity,
            },
          }),
        );
        break;
      case 'juhe': {
        const juhe = new JuheRechargeChannel({
          name,
          baseUrl: c.base_url,
          apiKey: c.api_key,
          openId: c.openid_secret,
          operatorSettings: settings.operatorSettings,
          clock,
          maxSockets: c.max_sockets,
        });
        remotes.push({ shutdown: () => Promise.resolve(juhe.close()) });
        channels.set(name, juhe);
        break;
      }
      default: {
        const never: never = c;
        throw new Error(`unsupported recharge channel type ${String((never as { type?: unknown }).type)}`);
      }
    }
  }
  const router = new ChannelRouter(
    Object.entries(rc.channels).map(([name, c]) => ({ name, operators: c.operators, capacity: c.capacity })),
    settings.routing,
    { clock, random, observer },
  );
  return {
    router,
    channels,
    operatorSettings: settings.operatorSettings,
    faceValues: settings.faceValues,
    rechargeableCategories: settings.rechargeableCategories,
    maxAttempts: rc.max_attempts,
    pollIntervalMs: rc.poll_interval_ms,
    processingDeadlineMs: rc.processing_deadline_ms,
    batchLimits: { maxRows: rc.batch.max_rows, chunkRows: rc.batch.chunk_rows },
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    rules: [
      ...(config.rules.built_in ? BUILT_IN_RECHARGE_RULES : []),
      ...config.rules.custom_recharge.map(ruleFromConfig),
    ],
  };
}

/** A configured repair rule (seconds) as the domain takes it (ms), for orders and recharges alike. */
function ruleFromConfig<S extends string, A extends string>(r: {
  readonly name: string;
  readonly statuses: S[];
  readonly older_than_seconds: number;
  readonly younger_than_seconds?: number | undefined;
  readonly action: A;
}): { name: string; statuses: S[]; olderThanMs: number; youngerThanMs?: number; action: A } {
  return {
    name: r.name,
    statuses: r.statuses,
    olderThanMs: r.older_than_seconds * 1000,
    ...(r.younger_than_seconds === undefined ? {} : { youngerThanMs: r.younger_than_seconds * 1000 }),
    action: r.action,
  };
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** `autoglm serve`: load config, start, stop cleanly on SIGINT/SIGTERM. */
async function serve(overrides: { config?: string; host?: string; port?: number; db?: string }): Promise<void> {
  const loaded = loadConfig({
    ...(overrides.config === undefined ? {} : { file: overrides.config }),
    env: process.env,
    overrides: {
      ...(overrides.host === undefined && overrides.port === undefined
        ? {}
        : {
            server: {
              ...(overrides.host === undefined ? {} : { host: overrides.host }),
              ...(overrides.port === undefined ? {} : { port: overrides.port }),
            },
          }),
      ...(overrides.db === undefined ? {} : { database: { url: overrides.db } }),
    },
  });
  if (!loaded.ok) {
    process.stderr.write(
      `error ${loaded.error.code}: ${loaded.error.message}\n${loaded.error.issues.map((i) => `  - ${i}`).join('\n')}\n`,
    );
    process.exitCode = 2;
    return;
  }
  const app = await createApp(loaded.value);
  app.logger.debug({ config: describeConfig(loaded.value) }, 'configuration');
  const url = await app.listen();
  process.stdout.write(
    `Open-AutoGLM is running at ${url}  (try: curl -X POST ${url}/api/v1/order -H 'content-type: application/json' -d '{"drink":"latte","size":"medium"}')\n`,
  );
  await untilSignalled(app.logger, () => app.close());
}

/** Wait for SIGINT or SIGTERM, then run `stop` once. */
function untilSignalled(logger: Pick<Logger, 'info'>, stop: () => Promise<void>): Promise<void> {
  return new Promise<void>((resolve) => {
    let stopping = false;
    const onSignal = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'shutting down: draining in-flight work');
      stop().then(resolve, (e: unknown) => {
        process.stderr.write(`shutdown failed: ${e instanceof Error ? e.message : String(e)}\n`);
        resolve();
      });
    };
    process.once('SIGINT', () => onSignal('SIGINT'));
    process.once('SIGTERM', () => onSignal('SIGTERM'));
  });
}

/**
 * `autoglm simulator`: the outside world as its own process — one order book and one coffee
 * shop behind every protocol face the simulator speaks, HTTP chaos, callbacks and admin routes.
 */
async function simulator(o: SimulatorCommandOptions): Promise<void> {
  let chaos: HttpChaosInput | undefined;
  if (o.chaos !== undefined) {
    let raw: unknown;
    try {
      raw = JSON.parse(o.chaos);
    } catch {
      process.stderr.write('error CONFIG_INVALID: --chaos is not valid JSON\n');
      process.exitCode = 2;
      return;
    }
    const checked = httpChaosSchema.safeParse(raw);
    if (!checked.success) {
      process.stderr.write(
        `error CONFIG_INVALID: --chaos: ${checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}\n`,
      );
      process.exitCode = 2;
      return;
    }
    chaos = checked.data;
  }
  const keysDir = o.keysDir ?? o.journalDir ?? join('data', 'simulator');
  mkdirSync(keysDir, { recursive: true });
  if (o.journalDir !== undefined) mkdirSync(o.journalDir, { recursive: true });
  const journal = (name: string): { journalPath?: string } =>
    o.journalDir === undefined ? {} : { journalPath: join(o.journalDir, name) };
  // The secret outlives restarts (a service is configured with it); a new one only when none exists.
  const secretPath = join(keysDir, 'native.secret');
  if (!existsSync(secretPath)) writeFileSync(secretPath, randomBytes(24).toString('base64url'), { mode: 0o600 });
  const secret = readFileSync(secretPath, 'utf8').trim();
  const bank = new SimulatedGateway({
    seed: o.seed,
    notifySecret: secret,
    payerActionMethods: ['alipay_qr', 'wechat_native', 'sim_qr'],
    ...(o.payerDelayMs === undefined ? {} : { payerDelayMs: o.payerDelayMs }),
    ...journal('gateway.jsonl'),
  });
  const merchant = new SimulatedMerchant({ seed: o.seed + 1, ...journal('merchant.jsonl') });
  const carriers = new SimulatedCarriers(journal('carriers.jsonl'));
  const standard = standardFaces({ secret, keysDir, carriers, seed: o.seed });
  const server = await startSimulatorServer({
    bank,
    merchant,
    faces: standard.faces,
    seed: o.seed,
    host: o.host,
    port: o.port,
    keysDir,
    ...(chaos === undefined ? {} : { chaos }),
  });
  process.stdout.write(
    [
      `Simulator listening at ${server.url}  (seed ${o.seed})`,
      `  native protocol secret: ${secretPath}`,
      `  chaos:        curl -X PUT ${server.url}/_sim/chaos -H 'content-type: application/json' -d '{"error_rate":0.2,"hang_rate":0.05}'`,
      `  ground truth: curl ${server.url}/_sim/ground-truth`,
      `  point the service at it: {"gateways":{"sim-http":{"type":"simulator-http","base_url":"${server.url}","secret":"<contents of ${secretPath}>"}},"payment_gateway":"sim-http"}`,
      `  or through its Alipay and WeChat Pay faces (keys in ${keysDir}; replace SERVICE_URL with the service's address):`,
      `  ${JSON.stringify({ gateways: standard.entries(server.url, 'SERVICE_URL') }).replace(/"apiv3_key":"[^"]*"/, `"apiv3_key":"<apiv3_key in ${join(keysDir, 'wechatpay.json')}>"`)}`,
      `  phone recharges through its Juhe face (recharge ground truth: curl ${server.url}/_sim/recharge-ground-truth):`,
      `  ${JSON.stringify({ recharge: { channels: standard.rechargeEntries(server.url) } })}`,
      '',
    ].join('\n'),
  );
  await untilSignalled({ info: () => undefined }, async () => {
    await server.close();
    bank.closeJournal();
    merchant.closeJournal();
    carriers.closeJournal();
  });
}

/** Entry point of the `autoglm` executable. */
export async function main(argv: readonly string[]): Promise<void> {
  await runCli(argv, {
    serve,
    simulator,
    version: packageVersion(),
    defaultUrl: process.env.AUTOGLM_URL ?? 'http://127.0.0.1:8787',
    parseLocal,
    openLocal,
    ask,
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    // A terminal gets a progress bar redrawn in place; a pipe or a log gets plain lines.
    ...(process.stderr.isTTY
      ? { progress: (line: string) => process.stderr.write(line === '' ? '\r\x1b[K' : `\r${line}\x1b[K`) }
      : {}),
  });
}

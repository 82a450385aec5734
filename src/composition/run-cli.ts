import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { createPinoLogger } from '../adapters/logging/pino-logger.js';
import { ActionRegistry, type ParseOutput, toParseOutput } from '../application/agent/agent-api.js';
import { createDataKeys, type RotationProgress, type RotationReport } from '../application/data-keys/data-keys-api.js';
import { type AppConfig, describeConfig, loadConfig } from '../config/load-config.js';
import { encryptSecret as encryptConfigSecret } from '../config/secret-values.js';
import { CliError, runCli, type SimulatorCommandOptions } from '../interfaces/cli/cli.js';
import type { AuditVerifyOptions } from '../interfaces/cli/audit-commands.js';
import { type AuditApi, type ChainReport, createAudit } from '../application/audit/audit-api.js';
import { checkpointLine, FileCheckpointSink, parseCheckpoints } from '../adapters/audit/file-checkpoint-sink.js';
import type { AuditCheckpoint } from '../ports/audit-checkpoints.js';
import type { LocalIdentity } from '../interfaces/cli/credential-commands.js';
import { credentialHeaders } from '../interfaces/cli/credentials.js';
import type { LocalStoreOptions } from '../interfaces/cli/key-commands.js';
import type { Logger } from '../ports/logger.js';
import { type HttpChaosInput, httpChaosSchema } from '../simulator/server/http-chaos.js';
import { startSimulatorServer } from '../simulator/server/simulator-server.js';
import { SimulatedCarriers } from '../simulator/simulated-carriers.js';
import { SIM_QR_METHODS, SimulatedGateway } from '../simulator/simulated-gateway.js';
import { payPageKey, SimPayPages } from '../simulator/pay-pages.js';
import { PAY_PAGE_PATH } from '../domain/payer-page.js';
import { SimulatedMerchant } from '../simulator/simulated-merchant.js';
import { standardFaces } from '../simulator/standard-faces.js';
import { openLocalIdentity, readAdminKey } from './build-identity.js';
import { buildInterpreter } from './build-interpreter.js';
import { packageVersion } from './build-mcp.js';
import { runBackup, runRestore } from './run-backup.js';
import { runMcp } from './run-mcp.js';
import { runReconcileLocal } from './run-reconcile.js';
import { masterKeyBytes, openStorage } from './build-storage.js';
import { type App, auditSettings, createApp, dataKeySettings } from './create-app.js';
import { callerOf } from '../application/identity/identity-api.js';

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
    user: string | undefined,
    body?: unknown,
    headers?: Record<string, string>,
  ) => Promise<{ status: number; body: unknown }>;
  close(): Promise<void>;
}> {
  const loaded = loadConfig({ env: process.env, overrides: { log: { level: 'warn' } } });
  if (!loaded.ok) throw new Error(`${loaded.error.message}: ${loaded.error.issues.join('; ')}`);
  const app = await createApp(loaded.value, { logDestination: process.stderr });
  await app.http.ready();
  app.start();
  const apiKey = process.env.AUTOGLM_API_KEY ?? app.adminKey ?? readAdminKey(loaded.value);
  return {
    async call(method, path, user, body, headers = {}) {
      const res = await app.http.inject({
        method,
        url: path,
        headers: {
          ...credentialHeaders(apiKey, user),
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

/** The configuration the local commands (`keys`, `secrets`) act on: as `serve` would load it. */
function localConfig(o: LocalStoreOptions): AppConfig {
  const loaded = loadConfig({
    ...(o.config === undefined ? {} : { file: o.config }),
    env: process.env,
    overrides: { log: { level: 'warn' }, ...(o.db === undefined ? {} : { database: { url: o.db } }) },
  });
  if (!loaded.ok) throw new Error(`${loaded.error.message}: ${loaded.error.issues.join('; ')}`);
  return loaded.value;
}

/**
 * `autoglm keys rotate-data-key`: the rotation use case on the local database, in this process,
 * beside any running instances (they pick the new key up within security.key_refresh_ms).
 */
async function rotateDataKey(o: LocalStoreOptions, onProgress: (p: RotationProgress) => void): Promise<RotationReport> {
  const config = localConfig(o);
  const { logger } = createPinoLogger({ level: config.log.level, destination: process.stderr });
  const storage = await openStorage(config, logger);
  try {
    // The rotation waits for running instances to take the new key up: in a process with nothing
    // else to do, that wait must keep it alive (the system clock's timers never do).
    const clock = {
      now: () => Date.now(),
      schedule: (ms: number, fn: () => void): (() => void) => {
        const t = setTimeout(fn, Math.max(0, ms));
        return () => clearTimeout(t);
      },
    };
    const dataKeys = createDataKeys({ uow: storage.unitOfWork, clock, logger }, dataKeySettings(config));
    return await dataKeys.api.rotate(onProgress);
  } finally {
    await storage.close();
  }
}

/** The audit capability on the local database (no timers), for one command, then closed. */
async function withLocalAudit<T>(
  o: LocalStoreOptions,
  use: (audit: AuditApi, config: AppConfig) => Promise<T>,
): Promise<T> {
  const config = localConfig(o);
  const { logger } = createPinoLogger({ level: config.log.level, destination: process.stderr });
  const storage = await openStorage(config, logger);
  try {
    const clock = { now: () => Date.now(), schedule: () => () => undefined };
    const audit = createAudit({ uow: storage.unitOfWork, clock, logger }, auditSettings(config));
    return await use(audit.api, config);
  } finally {
    await storage.close();
  }
}

/** `autoglm audit verify`: walk the hash chains of the local database (and check a checkpoint file). */
function verifyAudit(o: AuditVerifyOptions): Promise<ChainReport> {
  const checkpoints = o.checkpoint === undefined ? [] : readCheckpointFile(o.checkpoint);
  return withLocalAudit(o, (audit) =>
    audit.verify({ ...(o.tenant === undefined ? {} : { tenantId: o.tenant }), checkpoints }),
  );
}

function readCheckpointFile(path: string): AuditCheckpoint[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CliError('CHECKPOINT_UNREADABLE', `cannot read ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  try {
    return parseCheckpoints(text);
  } catch (e) {
    throw new CliError('CHECKPOINT_UNREADABLE', `${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** `autoglm audit checkpoint`: every tenant's chain head, appended to the checkpoint file now. */
function checkpointAudit(o: LocalStoreOptions & { readonly out?: string }): Promise<string> {
  return withLocalAudit(o, async (audit, config) => {
    const path = o.out ?? config.audit.checkpoint_file;
    if (path === undefined)
      throw new CliError('CONFIG_INVALID', 'no checkpoint file: give --out FILE or set audit.checkpoint_file');
    const cp = await audit.heads();
    await new FileCheckpointSink(path).append(cp);
    return checkpointLine(cp);
  });
}

/** `autoglm secrets encrypt`: an `enc:v1:` value under the master key the service would use. */
function encryptSecret(plaintext: string, o: LocalStoreOptions): Promise<string> {
  const config = localConfig(o);
  if (config.security.master_key.source === 'ephemeral')
    throw new Error('an in-memory database has no lasting master key: give one (AUTOGLM_MASTER_KEY)');
  return Promise.resolve(encryptConfigSecret(masterKeyBytes(config.security.master_key), plaintext));
}

/** `autoglm keys … --db URL` and `users create --db URL`: the identity capability on that database, here. */
function openIdentity(db: string): Promise<LocalIdentity> {
  const loaded = loadConfig({ env: process.env, overrides: { log: { level: 'warn' }, database: { url: db } } });
  if (!loaded.ok) throw new Error(`${loaded.error.message}: ${loaded.error.issues.join('; ')}`);
  return openLocalIdentity(loaded.value);
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin as AsyncIterable<Buffer | string>)
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
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

/** `autoglm serve`: load config, start, stop cleanly on SIGINT/SIGTERM. */
async function serve(overrides: { config?: string; host?: string; port?: number; db?: string }): Promise<void> {
  const sources: Parameters<typeof loadConfig>[0] = {
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
  };
  const loaded = loadConfig(sources);
  if (!loaded.ok) {
    process.stderr.write(
      `error ${loaded.error.code}: ${loaded.error.message}\n${loaded.error.issues.map((i) => `  - ${i}`).join('\n')}\n`,
    );
    process.exitCode = 2;
    return;
  }
  // A reload (SIGHUP, POST /api/v1/admin/reload) reads the same file and environment again.
  const app = await createApp(loaded.value, { reloadConfig: () => loadConfig(sources) });
  app.logger.debug({ config: describeConfig(loaded.value) }, 'configuration');
  // SIGHUP: reload policy, menu and repair rules; a bad file is logged and the running ones stay.
  const onHangUp = (): void => {
    void app.reloader.reload({ actor: 'system:sighup', tenantId: loaded.value.tenant.default_id, requestId: null });
  };
  process.on('SIGHUP', onHangUp);
  const url = await app.listen();
  if (app.adminKey !== undefined) {
    // The one time this key is shown (stdout, never the log): it is also in the admin key file.
    process.stdout.write(
      `First start: created the admin API key ` +
        `(also written to ${app.adminKeyFile ?? 'the admin key file'}, mode 0600):\n` +
        `  ${app.adminKey}\n`,
    );
  }
  if (app.adminKey !== undefined) {
    const login = await consoleLogin(app);
    if (login !== undefined) {
      process.stdout.write(
        `Web console: ${url}/ — log in as ${login.user} with the password ${login.password} ` +
          `(also written to ${login.file}, mode 0600)\n`,
      );
    }
  }
  const keyHint = app.adminKeyFile === undefined ? 'your key' : `$(cat ${app.adminKeyFile})`;
  process.stdout.write(
    `Open-AutoGLM is running at ${url}  (try: curl -X POST ${url}/api/v1/order ` +
      `-H "authorization: Bearer ${keyHint}" ` +
      `-H 'content-type: application/json' -d '{"drink":"latte","size":"medium"}')\n`,
  );
  await untilSignalled(app.logger, () => app.close());
  process.off('SIGHUP', onHangUp);
}

/**
 * First start: the bootstrap admin (a person with only an API key so far) gets a password, so the
 * web console can be logged into with what this start prints. Shown once, kept beside the key.
 */
async function consoleLogin(app: App): Promise<{ user: string; password: string; file: string } | undefined> {
  const key = app.adminKey;
  if (key === undefined || app.adminKeyFile === undefined) return undefined;
  const principal = await app.services.identity.authenticate(key);
  if (!principal.ok) return undefined;
  const caller = callerOf(principal.value, 'first-start');
  if (!caller.ok) return undefined;
  const password = randomBytes(12).toString('base64url');
  const made = await app.services.identity.createUser(caller.value, {
    user: principal.value.id,
    password,
    role: caller.value.role,
  });
  if (!made.ok) return undefined;
  const file = join(dirname(app.adminKeyFile), 'admin-password');
  writeFileSync(file, `${password}\n`, { mode: 0o600 });
  return { user: principal.value.id, password, file };
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
        `error CONFIG_INVALID: --chaos: ` +
          `${checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}\n`,
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
  // A waiting trade's pay_url is this simulator's own pay page: its address is known once it
  // listens (or given, when payers reach it by another name than the one it binds).
  let publicUrl = o.publicUrl ?? '';
  const pages = new SimPayPages(
    { tradeByTradeNo: (no) => bank.tradeByTradeNo(no) },
    payPageKey(secret),
    'Open-AutoGLM simulator merchant',
  );
  const bank: SimulatedGateway = new SimulatedGateway({
    seed: o.seed,
    notifySecret: secret,
    payerActionMethods: SIM_QR_METHODS,
    payPageUrl: (tradeNo) => pages.url(publicUrl, tradeNo),
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
    payPages: pages,
    ...(chaos === undefined ? {} : { chaos }),
  });
  if (publicUrl === '') publicUrl = server.url;
  const faceGateways = JSON.stringify({ gateways: standard.entries(server.url, 'SERVICE_URL') }).replace(
    /"apiv3_key":"[^"]*"/,
    `"apiv3_key":"<apiv3_key in ${join(keysDir, 'wechatpay.json')}>"`,
  );
  process.stdout.write(
    [
      `Simulator listening at ${server.url}  (seed ${o.seed})`,
      `  native protocol secret: ${secretPath}`,
      `  chaos:        curl -X PUT ${server.url}/_sim/chaos -H 'content-type: application/json' ` +
        `-d '{"error_rate":0.2,"hang_rate":0.05}'`,
      `  ground truth: curl ${server.url}/_sim/ground-truth`,
      `  payers open a waiting trade's pay_url: ${publicUrl}${PAY_PAGE_PATH}/<trade>`,
      `  point the service at it: {"gateways":{"sim-http":{"type":"simulator-http","base_url":"${server.url}",` +
        `"secret":"<contents of ${secretPath}>"}},"payment_gateway":"sim-http"}`,
      `  or through its Alipay and WeChat Pay faces (keys in ${keysDir}; ` +
        `replace SERVICE_URL with the service's address):`,
      `  ${faceGateways}`,
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

/**
 * The credential client commands send: AUTOGLM_API_KEY, else the admin key the first start wrote
 * on this machine (so `autoglm serve` then `autoglm order latte` works with nothing to set).
 */
function clientApiKey(): string | undefined {
  if (process.env.AUTOGLM_API_KEY !== undefined && process.env.AUTOGLM_API_KEY !== '')
    return process.env.AUTOGLM_API_KEY;
  const loaded = loadConfig({ env: process.env });
  return loaded.ok ? readAdminKey(loaded.value) : undefined;
}

/** Entry point of the `autoglm` executable. */
export async function runMain(argv: readonly string[]): Promise<void> {
  await runCli(argv, {
    serve,
    simulator,
    version: packageVersion(),
    defaultUrl: process.env.AUTOGLM_URL ?? 'http://127.0.0.1:8787',
    apiKey: clientApiKey(),
    parseLocal,
    openLocal,
    openIdentity,
    readStdin,
    ask,
    rotateDataKey,
    encryptSecret,
    verifyAudit,
    checkpointAudit,
    mcp: runMcp,
    backup: runBackup,
    reconcileLocal: runReconcileLocal,
    restore: runRestore,
    mcpApiKey: process.env.AUTOGLM_API_KEY,
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    // A terminal gets a progress bar redrawn in place; a pipe or a log gets plain lines.
    ...(process.stderr.isTTY
      ? { progress: (line: string) => process.stderr.write(line === '' ? '\r\x1b[K' : `\r${line}\x1b[K`) }
      : {}),
  });
}

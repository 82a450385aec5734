import { randomUUID } from 'node:crypto';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { type AgentCliDeps, registerAgentCommands } from './agent-commands.js';
import { type AuditCliDeps, registerAuditCommands } from './audit-commands.js';
import { type BackupCliDeps, registerBackupCommands } from './backup-commands.js';
import { type BatchCliDeps, registerBatchCommands } from './batch-commands.js';
import { type CredentialCliDeps, registerCredentialCommands } from './credential-commands.js';
import { EXIT, problemLines, withExitCodes } from './answers.js';
import { credentialHeaders } from './credentials.js';
import { type KeyCliDeps, keysGroup, registerKeyCommands } from './key-commands.js';
import { type McpCliDeps, registerMcpCommand } from './mcp-command.js';
import { payerLines } from './pay-qr.js';
import { registerMoneyCommands } from './money-commands.js';
import { type ReconcileCliDeps, registerReconcileCommands } from './reconcile-commands.js';

/** What the composition root gives the CLI: the server it can start. */
export interface CliDeps
  extends
    AgentCliDeps,
    AuditCliDeps,
    BatchCliDeps,
    KeyCliDeps,
    CredentialCliDeps,
    McpCliDeps,
    BackupCliDeps,
    ReconcileCliDeps {
  /** Start the service with these overrides; resolves when it has stopped. */
  serve(options: { config?: string; host?: string; port?: number; db?: string }): Promise<void>;
  /** Run the standalone simulator (the outside world) until stopped. */
  simulator(options: SimulatorCommandOptions): Promise<void>;
  readonly version: string;
  /** Where client commands find the service (AUTOGLM_URL, read by the composition root). */
  readonly defaultUrl: string;
  /** The credential client commands send (AUTOGLM_API_KEY, or the admin key file). */
  readonly apiKey?: string | undefined;
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

export interface SimulatorCommandOptions {
  host: string;
  port: number;
  seed: number;
  journalDir?: string;
  keysDir?: string;
  /** A chaos document (JSON text) applied at start. */
  chaos?: string;
  payerDelayMs?: number;
  /** The origin payers reach the simulator at, for its pay pages' URLs (default: where it listens). */
  publicUrl?: string;
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('a port is an integer from 0 to 65535');
  return n;
}

function integer(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError('expected an integer');
  return n;
}

function nonNegativeInt(value: string): number {
  const n = integer(value);
  if (n < 0) throw new InvalidArgumentError('expected an integer ≥ 0');
  return n;
}

/** An http(s) origin (a path is kept: a simulator behind a proxy may live below one). */
function httpOrigin(value: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new InvalidArgumentError('expected an http(s) URL, e.g. http://192.168.1.20:9100');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new InvalidArgumentError('expected an http(s) URL, e.g. http://192.168.1.20:9100');
  if (u.search !== '' || u.hash !== '') throw new InvalidArgumentError('expected a URL without ?query or #fragment');
  return value.replace(/\/+$/, '');
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

interface ClientOptions {
  url: string;
  /** The person to act for (an operator's or admin's key only). */
  user?: string;
  json?: boolean;
  /** The credential (from the composition root). */
  apiKey?: string | undefined;
}

/** Call the running service; the CLI never touches the database behind the service's back. */
async function call(
  o: ClientOptions,
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: unknown }> {
  let res: Response;
  try {
    res = await fetch(new URL(path, o.url), {
      method,
      headers: {
        ...credentialHeaders(o.apiKey, o.user),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (e) {
    throw new CliError(
      'SERVICE_UNREACHABLE',
      `cannot reach ${o.url}: is \`autoglm serve\` running? (${e instanceof Error ? e.message : String(e)})`,
    );
  }
  const text = await res.text();
  let parsed: unknown = null;
  if (text !== '') {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  return { status: res.status, body: parsed };
}

/** A refusal with a stable code, printed `error CODE: message` (also thrown by the composition root's commands). */
export class CliError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function describeOrder(body: unknown): string {
  const order = (body as { order?: Record<string, unknown> } | null)?.order;
  if (order === undefined) return JSON.stringify(body, null, 2);
  const amount = Number(order.amount);
  return [
    `order   ${String(order.id)}`,
    `status  ${String(order.status)} — ${String(order.status_text)}`,
    `item    ${String(order.description)}`,
    `amount  ${(amount / 100).toFixed(2)} ${String(order.currency)}`,
    ...(typeof order.status_reason === 'string' ? [`reason  ${order.status_reason}`] : []),
  ].join('\n');
}

export function buildCli(deps: CliDeps): Command {
  const program = new Command('autoglm')
    .description('Open-AutoGLM: let an agent carry out real transactions, safely')
    .version(deps.version)
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (s) => deps.out(s.trimEnd()), writeErr: (s) => deps.err(s.trimEnd()) });

  withExitCodes(program.command('serve'), {
    2: 'the configuration is invalid (`error CONFIG_INVALID`, one line per problem)',
  })
    .description(
      'start the HTTP API with the worker (defaults: SQLite under ./data, built-in simulators, 127.0.0.1:8787)',
    )
    .option('-c, --config <file>', 'configuration file (JSON or YAML)')
    .option('--host <host>', 'address to listen on')
    .option('-p, --port <port>', 'port to listen on', port)
    .option('--db <url>', 'database: sqlite:<path> (default sqlite:./data/autoglm.db)')
    .action(async (o: { config?: string; host?: string; port?: number; db?: string }) => {
      await deps.serve(o);
    });

  withExitCodes(program.command('simulator'), { 2: '`--chaos` is not valid JSON or not a valid chaos document' })
    .description(
      'run the simulated outside world (payment gateway, coffee shop, Juhe phone top-ups, callbacks) ' +
        'as its own HTTP server, with chaos knobs under /_sim/',
    )
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('-p, --port <port>', 'port to listen on (0 = any free port)', port, 9100)
    .option('--seed <n>', 'seed of every random draw (chaos, callbacks), so a run can be replayed', integer, 42)
    .option('--journal-dir <dir>', "keep the simulator's books in fsync'd files here, so they survive a restart")
    .option(
      '--keys-dir <dir>',
      "where the shared secret (and the faces' keys) are written (default: the journal dir, else ./data/simulator)",
    )
    .option('--chaos <json>', 'chaos document applied at start, as PUT /_sim/chaos takes it')
    .option(
      '--payer-delay-ms <ms>',
      'the simulated payer pays QR trades after this long (default: the payer pays on the pay page)',
      nonNegativeInt,
    )
    .option(
      '--public-url <url>',
      "the address payers open the simulator's pay pages at (default: the address it listens on)",
      httpOrigin,
    )
    .action(async (o: SimulatorCommandOptions) => {
      await deps.simulator(o);
    });

  const client = (cmd: Command): Command =>
    cmd
      .option('--url <url>', 'service URL', deps.defaultUrl)
      .option('-u, --user <id>', 'act for this person (an operator or admin key); default: the key itself')
      .option('--json', 'print the raw JSON answer')
      .hook('preAction', (c) => {
        c.setOptionValue('apiKey', deps.apiKey);
      });

  const print = (o: ClientOptions, r: { status: number; body: unknown }): void => {
    if (o.json === true) deps.out(JSON.stringify(r.body));
    else if (r.status < 400) deps.out(describeOrder(r.body));
    if (r.status >= 400) {
      // The code, the request id to quote, and each validation detail — with --json too, on stderr.
      for (const line of problemLines(r.status, r.body)) deps.err(line);
      process.exitCode = EXIT.refused;
      return;
    }
    const order = (r.body as { order?: { id?: unknown; status?: unknown } } | null)?.order;
    if (order?.status === 'AWAITING_CONFIRMATION' || order?.status === 'AWAITING_PAYMENT') {
      // Placed but not paid: the person's confirmation is still needed.
      deps.err(`not paid yet: confirm it with \`autoglm confirm ${String(order.id)}\``);
      process.exitCode = EXIT.unconfirmed;
    }
  };

  /** An order answer, with what its payer needs when its payment waits for them (the QR, drawn). */
  const printOrder = async (o: ClientOptions, r: { status: number; body: unknown }): Promise<void> => {
    print(o, r);
    if (o.json === true || r.status >= 400) return;
    const order = (r.body as { order?: { payment?: Record<string, unknown> | null } } | null)?.order;
    for (const line of await payerLines(order?.payment)) deps.out(line);
  };

  client(
    program
      .command('order <drink> <size>')
      .description('order a coffee, e.g. `autoglm order latte medium -q 2 --iced`')
      .option('-q, --quantity <n>', 'how many', positiveInt, 1)
      .option('--iced', 'served iced')
      .option('-k, --idempotency-key <key>', 'Idempotency-Key (default: a fresh one)'),
  ).action(
    async (
      drink: string,
      size: string,
      o: ClientOptions & { quantity: number; iced?: boolean; idempotencyKey?: string },
    ) => {
      const body = {
        drink,
        size,
        quantity: o.quantity,
        ...(o.iced === true ? { options: { temperature: 'iced' } } : {}),
      };
      const placed = await call(o, 'POST', '/api/v1/order', body, {
        'idempotency-key': o.idempotencyKey ?? randomUUID(),
      });
      await printOrder(o, placed);
    },
  );

  client(program.command('menu').description('show the menu and prices')).action(async (o: ClientOptions) => {
    const r = await call(o, 'GET', '/api/v1/menu');
    if (o.json === true || r.status >= 400) return print(o, r);
    const menu = r.body as {
      currency: string;
      drinks: Array<{ id: string; name_zh: string; name_en: string; prices: Record<string, number> }>;
    };
    for (const d of menu.drinks) {
      const prices = Object.entries(d.prices)
        .map(([size, amount]) => `${size} ${(amount / 100).toFixed(2)}`)
        .join('  ');
      deps.out(`${d.id.padEnd(18)} ${d.name_zh} ${d.name_en}`.padEnd(48) + `${prices} ${menu.currency}`);
    }
  });

  client(program.command('get <order-id>').description('show an order')).action(
    async (id: string, o: ClientOptions) => {
      await printOrder(o, await call(o, 'GET', `/api/v1/orders/${encodeURIComponent(id)}`));
    },
  );

  client(
    program
      .command('confirm <order-id>')
      .description('confirm a waiting order and pay for it (or pay a waiting QR payment another way)')
      .option('-m, --method <method>', 'payment method: wallet, alipay_qr, wechat_native, sim_qr'),
  ).action(async (id: string, o: ClientOptions & { method?: string }) => {
    const body = o.method === undefined ? {} : { payment_method: o.method };
    const path = `/api/v1/orders/${encodeURIComponent(id)}/confirm`;
    await printOrder(o, await call(o, 'POST', path, body, { 'idempotency-key': randomUUID() }));
  });

  client(program.command('cancel <order-id>').description('cancel a waiting order')).action(
    async (id: string, o: ClientOptions) => {
      await printOrder(o, await call(o, 'POST', `/api/v1/orders/${encodeURIComponent(id)}/cancel`, {}));
    },
  );

  client(
    program
      .command('orders')
      .description('list orders, newest first')
      .option('-s, --status <list>', 'comma-separated statuses')
      .option('-n, --limit <n>', 'how many', positiveInt, 20),
  ).action(async (o: ClientOptions & { status?: string; limit: number }) => {
    const qs = new URLSearchParams({ limit: String(o.limit), ...(o.status === undefined ? {} : { status: o.status }) });
    const r = await call(o, 'GET', `/api/v1/orders?${qs.toString()}`);
    if (o.json === true || r.status >= 400) return print(o, r);
    const page = r.body as { data: Array<Record<string, unknown>> };
    for (const ord of page.data) {
      deps.out(
        `${String(ord.id)}  ${String(ord.status).padEnd(21)} ${(Number(ord.amount) / 100).toFixed(2).padStart(8)} ` +
          `${String(ord.currency)}  ${String(ord.description)}`,
      );
    }
  });

  const fail = (code: string, message: string): never => {
    throw new CliError(code, message);
  };
  registerAgentCommands(program, deps, client, call, fail);
  registerBatchCommands(program, deps, client, fail);
  registerMoneyCommands(program, deps, client, call, fail);
  registerKeyCommands(program, deps, fail);
  registerAuditCommands(program, deps, fail);
  registerCredentialCommands(program, keysGroup(program), deps, call, fail);
  registerMcpCommand(program, deps, fail);
  registerBackupCommands(program, deps, fail);
  registerReconcileCommands(program, deps, client, call, fail);
  return program;
}

/** Parse and run; errors print one line with a stable code and set a non-zero exit code. */
export async function runCli(argv: readonly string[], deps: CliDeps): Promise<void> {
  try {
    await buildCli(deps).parseAsync([...argv]);
  } catch (e) {
    // Commander already printed its message (bad flag, --help, --version); keep its exit code.
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode;
      return;
    }
    if (e instanceof CliError) deps.err(`error ${e.code}: ${e.message}`);
    else deps.err(`error: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 1;
  }
}

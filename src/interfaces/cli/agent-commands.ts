import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { type AgentOutcome, type Confirmation, describeOutcome } from '../../application/agent/agent-api.js';
import type { ParseOutput } from '../../application/agent/agent-api.js';
import type { OrderView } from '../../application/orders/orders-api.js';
import { EXIT, problemLines } from './answers.js';

/** What the agent commands need from the composition root and from cli.ts. */
export interface AgentCliDeps {
  /** Parse in this process with the configured grammar/model (no server needed). */
  readonly parseLocal?: (text: string) => Promise<ParseOutput>;
  /**
   * Open the service in this process on its configured (embedded) store, for `do --local`: the
   * same HTTP API, answered in-process instead of over the network.
   */
  readonly openLocal?: () => Promise<{
    call: (
      method: 'GET' | 'POST',
      path: string,
      user: string | undefined,
      body?: unknown,
      headers?: Record<string, string>,
    ) => Promise<{ status: number; body: unknown }>;
    close(): Promise<void>;
  }>;
  /** Ask the person a yes/no question in the terminal; resolves with their answer. */
  readonly ask?: (question: string) => Promise<string>;
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

interface ClientOptions {
  url: string;
  user?: string;
  json?: boolean;
  apiKey?: string | undefined;
}

type Call = (
  o: ClientOptions,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  headers?: Record<string, string>,
) => Promise<{ status: number; body: unknown }>;

interface Reply {
  session_id: string;
  intent: { action: string; params: Record<string, unknown> } | null;
  outcome: AgentOutcome;
}

function pendingConfirmation(o: AgentOutcome): Confirmation | undefined {
  if (o.kind === 'awaiting_confirmation') return o.confirm;
  if (o.kind === 'placed') return o.confirm;
  return undefined;
}

/** `autoglm parse` and `autoglm do`. */
export function registerAgentCommands(
  program: Command,
  deps: AgentCliDeps,
  client: (cmd: Command) => Command,
  call: Call,
  fail: (code: string, message: string) => never,
): void {
  client(
    program
      .command('parse <text...>')
      .description(
        'words → intent, e.g. `autoglm parse --json "给13800138000充100块话费"` ' +
          '(in this process; with --url, by the running service)',
      )
      .option('--local', 'parse in this process even when --url is given'),
  ).action(async (words: string[], o: ClientOptions & { local?: boolean }, cmd: Command) => {
    const text = words.join(' ');
    const viaServer = cmd.getOptionValueSource('url') === 'cli' && o.local !== true;
    let out: ParseOutput;
    if (viaServer || deps.parseLocal === undefined) {
      const r = await call(o, 'POST', '/api/v1/intents/parse', { text });
      const b = r.body as Record<string, unknown> | null;
      if (b !== null && typeof b === 'object' && ('intent' in b || 'clarify' in b)) out = b as ParseOutput;
      else if (b !== null && typeof b === 'object' && 'error' in b)
        out = { error: b.error as { code: string; message: string } };
      else
        out = {
          error: { code: String((b as { code?: string } | null)?.code ?? r.status), message: JSON.stringify(b) },
        };
    } else {
      out = await deps.parseLocal(text);
    }
    if (o.json === true) deps.out(JSON.stringify(out));
    else if ('intent' in out) deps.out(`${out.intent.action} ${JSON.stringify(out.intent.params)}  (${out.source})`);
    else if ('clarify' in out)
      deps.out(`? ${out.clarify.question}  (${out.clarify.action}, missing: ${out.clarify.missing.join(', ')})`);
    else deps.err(`error ${out.error.code}: ${out.error.message}`);
    if ('error' in out) process.exitCode = 1;
  });

  client(
    program
      .command('do <text...>')
      .description(
        'say it to the agent, e.g. `autoglm do "来一杯大杯拿铁"`; asks before paying where the policy wants the person',
      )
      .option('-s, --session <id>', 'continue this conversation (session id from an earlier answer)')
      .option('-y, --yes', 'answer yes to the confirmation question')
      .option('--local', 'run on the local embedded store in this process instead of a running service'),
  ).action(async (words: string[], opts: ClientOptions & { session?: string; yes?: boolean; local?: boolean }) => {
    const o = opts;
    const text = words.join(' ');
    let local: Awaited<ReturnType<NonNullable<AgentCliDeps['openLocal']>>> | undefined;
    if (o.local === true) {
      if (deps.openLocal === undefined)
        fail('LOCAL_UNAVAILABLE', 'this build cannot run the agent in-process; use --url');
      local = await deps.openLocal();
    }
    try {
      await converse(
        o,
        text,
        local === undefined
          ? call
          : (c, method, path, body, headers) => local.call(method, path, c.user, body, headers),
      );
    } finally {
      await local?.close();
    }
  });

  /** A refusal of the service: its code, the request id to quote and each validation detail. */
  function refused(r: { status: number; body: unknown }): void {
    for (const line of problemLines(r.status, r.body)) deps.err(line);
    process.exitCode = EXIT.refused;
  }

  async function converse(
    o: ClientOptions & { session?: string; yes?: boolean },
    text: string,
    call: Call,
  ): Promise<void> {
    const r = await call(
      o,
      'POST',
      '/api/v1/agent/messages',
      { text, ...(o.session === undefined ? {} : { session_id: o.session }) },
      { 'idempotency-key': randomUUID() },
    );
    if (r.status >= 400) return refused(r);
    let reply = r.body as Reply;
    const report = (x: Reply): void => {
      if (o.json !== true) deps.out(describeOutcome(x.outcome));
    };
    report(reply);
    const confirm = pendingConfirmation(reply.outcome);
    if (confirm !== undefined) {
      let yes = o.yes === true;
      if (!yes) {
        if (deps.ask === undefined) fail('CONFIRMATION_REQUIRED', `confirm with --yes, or POST ${confirm.path}`);
        const answer = await deps.ask(`Confirm ${confirm.what}? [y/N] `);
        yes = /^(y|yes|是|好|确认)$/i.test(answer.trim());
      }
      if (yes) {
        // The body names exactly what was shown (its digest): a "yes" never confirms anything else.
        const c = await call(o, 'POST', confirm.path, confirm.body ?? {}, { 'idempotency-key': randomUUID() });
        if (c.status >= 400) return refused(c);
        const b = c.body as Record<string, unknown>;
        // The session endpoint answers with a reply; a held action's with what it ran; the order
        // endpoint with the order (201 paid, 202 still waiting).
        if ('outcome' in b) reply = b as unknown as Reply;
        else if ('held' in b) reply = { ...reply, outcome: { kind: 'done', action: confirm.action, result: b } };
        else {
          const order = b.order as OrderView;
          reply = {
            ...reply,
            outcome:
              c.status === 201
                ? { kind: 'paid', order }
                : { kind: 'placed', order, next: typeof b.next === 'string' ? b.next : '' },
          };
        }
        report(reply);
      } else if (o.json !== true) {
        deps.out('not confirmed: nothing was paid');
      }
    }
    if (o.json === true) deps.out(JSON.stringify(reply));
    if (o.json !== true) deps.err(`session ${reply.session_id}`);
    if (reply.outcome.kind === 'refused' || reply.outcome.kind === 'payment_failed') process.exitCode = 1;
  }
}

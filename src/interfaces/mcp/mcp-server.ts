import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  CallToolRequestSchema,
  type CallToolResult,
  ElicitResultSchema,
  ListToolsRequestSchema,
  type ReadResourceResult,
  type ServerNotification,
  type ServerRequest,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { AbuseApi } from '../../application/abuse/abuse-api.js';
import type { ActionRegistry, AgentOutcome, AgentService } from '../../application/agent/agent-api.js';
import type { BatchApi } from '../../application/batch/batch-api.js';
import type { ConfirmationsApi } from '../../application/confirmations/confirmations-api.js';
import type { Caller } from '../../application/kernel/caller.js';
import type { IdempotencyApi, IdempotencyRef } from '../../application/kernel/idempotency.js';
import type { OrdersApi } from '../../application/orders/orders-api.js';
import type { RechargeApi } from '../../application/recharge/recharge-api.js';
import type { WalletApi } from '../../application/wallet/wallet-api.js';
import { can, type Permission } from '../../domain/auth/permissions.js';
import type { Logger } from '../../ports/logger.js';
import { BATCH_TOOL, batchArgsSchema, batchTool, submitBatch } from './batch-tool.js';
import { askThePerson, type PersonQuestion, type PersonReply } from './person-confirmation.js';
import { followWork } from './follow-recharge.js';
import { errorResult, outcomeResult } from './tool-result.js';

/** The capabilities the MCP tools and resources call: the same ones the HTTP routes call. */
export interface McpServices {
  readonly registry: ActionRegistry;
  readonly agent: AgentService;
  readonly orders: OrdersApi;
  readonly wallet: WalletApi;
  readonly recharge: RechargeApi;
  readonly batch: BatchApi;
  readonly confirmations: ConfirmationsApi;
  readonly idempotency: IdempotencyApi;
  /** Blocks in force: over stdio no HTTP hook refuses a blocked key, so each tool call asks. */
  readonly abuse: Pick<AbuseApi, 'blockOf'>;
}

/** `mcp` in the configuration, in milliseconds. */
export interface McpSettings {
  readonly confirmViaElicitation: boolean;
  readonly elicitationTimeoutMs: number;
  readonly followMs: number;
}

/** Who one MCP connection acts as, and what identifies its requests for idempotency. */
export interface McpSession {
  /** The caller of the connection (stdio: the key given at start). Over HTTP each request's own caller wins. */
  readonly caller: Caller;
  /** Identifies the connection when the transport has no session id (stdio: minted per process). */
  readonly connectionId: string;
}

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** The one free-text tool: words → the intent parser → the action, as `POST /api/v1/agent/messages`. */
export const TEXT_TOOL = 'do_in_words';
/** A client-chosen idempotency key for a tool call (`params._meta`), kept across reconnects. */
export const IDEMPOTENCY_META = 'open-autoglm/idempotency-key';
const KEY_RE = /^[\x21-\x7e]{1,200}$/;

const textArgsSchema = z
  .object({
    text: z.string().trim().min(1, 'text is empty').max(500, 'text is longer than 500 characters'),
  })
  .strict();

/** Refusals that mean no work began: a retry with the same key may run (as over HTTP). */
const NOT_STORED = new Set(['INSUFFICIENT_BALANCE', 'CONCURRENT_MODIFICATION', 'IDEMPOTENCY_IN_FLIGHT']);

const MONEY_NOTE =
  ' The server enforces the person’s policy and mandates: the result may be awaiting_confirmation, ' +
  'in which case the person is asked in this client or confirms in the console — never retry to get ' +
  'around it. Money is integer fen (100元 = 10000).';

const INSTRUCTIONS =
  'Open-AutoGLM carries out real payments for one person (coffee orders, phone recharges, wallet ' +
  'top-ups, refunds). The tools act within that person’s policy and spending mandates, enforced by ' +
  'the server: an action outside them is held for the person, who confirms it in this client when ' +
  'asked, or in the console. Amounts are integer fen. Read resources autoglm://menu, ' +
  'autoglm://orders/recent and autoglm://wallet for context.';

/**
 * The MCP server of one connection. Tools come from the action registry (its zod schemas as
 * JSON Schema, its descriptions, its permission and hints), validated and normalised by the
 * registry exactly as the agent's words are, and run by the registry's handlers — the same
 * capability calls as the HTTP routes. The tool handlers are set on the SDK's server directly
 * rather than with `registerTool`, whose own validation would refuse what the registry
 * normalises ("100元", "138 0013 8000") and answer without our stable error codes.
 */
export function createMcpServer(
  s: McpServices,
  settings: McpSettings,
  session: McpSession,
  opts: { readonly version: string; readonly logger: Logger },
): McpServer {
  const mcp = new McpServer(
    { name: 'open-autoglm', title: 'Open-AutoGLM', version: opts.version },
    { instructions: INSTRUCTIONS },
  );
  const server = mcp.server;
  const callerOf = (extra: Extra): Caller => {
    const c = extra.authInfo?.extra?.caller as Caller | undefined;
    return c ?? session.caller;
  };
  // The text tool's conversation: one agent session per MCP connection (multi-turn, "that order").
  const conversations = new Map<string, string>();

  server.registerCapabilities({ tools: { listChanged: false } });
  server.setRequestHandler(ListToolsRequestSchema, (_req, extra) => ({ tools: toolsFor(s, callerOf(extra)) }));
  server.setRequestHandler(CallToolRequestSchema, async (req, extra) => {
    const caller = callerOf(extra);
    try {
      // A key blocked mid-session (say, for asking outside its mandates) is refused from then on.
      const block = caller.source === undefined ? undefined : await s.abuse.blockOf([caller.source]);
      if (block !== undefined) {
        return errorResult('SOURCE_BLOCKED', 'too many failures came from this key; it is blocked for a while', {
          until: new Date(block.until).toISOString(),
          retry_after_seconds: block.retryAfterSeconds,
        });
      }
      return await callTool(req.params.name, req.params.arguments, req.params._meta, extra, caller);
    } catch (e) {
      opts.logger.error(
        { tool: req.params.name, actor: caller.actor, error: e instanceof Error ? e.message : String(e) },
        'MCP tool failed unexpectedly',
      );
      return errorResult(
        'INTERNAL_ERROR',
        'the tool failed unexpectedly; ask about the order or balance before trying again',
      );
    }
  });

  const callTool = async (
    name: string,
    args: Readonly<Record<string, unknown>> | undefined,
    meta: Readonly<Record<string, unknown>> | undefined,
    extra: Extra,
    caller: Caller,
  ): Promise<CallToolResult> => {
    if (name === TEXT_TOOL) {
      if (!can(caller.role, 'agent.message')) return forbidden(caller, 'agent.message');
      const parsed = textArgsSchema.safeParse(args ?? {});
      if (!parsed.success) return invalid(parsed.error);
      const text = parsed.data.text;
      const conversation = extra.sessionId ?? session.connectionId;
      return idempotently(name, { text }, meta, extra, caller, false, async (idem) => {
        const sessionId = conversations.get(conversation);
        const r = await s.agent.message(caller, {
          text,
          ...(sessionId === undefined ? {} : { sessionId }),
          ...(idem === undefined ? {} : { idem }),
        });
        if (!r.ok) return { kind: 'refused', code: r.error.code, reason: r.error.message };
        conversations.set(conversation, r.value.session_id);
        return r.value.outcome;
      });
    }
    if (name === BATCH_TOOL) {
      if (!can(caller.role, 'batches.create')) return forbidden(caller, 'batches.create');
      const parsed = batchArgsSchema.safeParse(args ?? {});
      if (!parsed.success) return invalid(parsed.error);
      const { rows } = parsed.data;
      return idempotently(name, { rows }, meta, extra, caller, false, (idem) =>
        submitBatch(s.batch, caller, rows, idem),
      );
    }
    const spec = s.registry.catalog.get(name);
    const handler = s.registry.handlerFor(name);
    if (spec === undefined || handler === undefined) {
      return errorResult('UNKNOWN_TOOL', `there is no tool "${name.slice(0, 64)}"`, {
        allowed: toolsFor(s, caller).map((t) => t.name),
      });
    }
    const permission = spec.permission ?? 'agent.message';
    if (!can(caller.role, permission)) return forbidden(caller, permission);
    const resolved = s.registry.catalog.resolve(name, args ?? {}, { menu: s.orders.menu() }, 'en');
    switch (resolved.kind) {
      case 'error':
        return errorResult(resolved.error.code, resolved.error.message, resolved.error.details);
      case 'clarify':
        return errorResult('MISSING_PARAMETERS', resolved.clarify.question, { missing: resolved.clarify.missing });
      case 'intent':
        break;
      default: {
        const never: never = resolved;
        throw new Error(`unknown resolution ${JSON.stringify(never)}`);
      }
    }
    const params = resolved.intent.params;
    return idempotently(name, params, meta, extra, caller, spec.hints?.readOnly === true, (idem) =>
      handler(params, {
        caller,
        lastOrderId: null,
        ...(idem === undefined ? {} : { idem: idem.ref, recoveryPoint: idem.recoveryPoint }),
      }),
    );
  };

  /**
   * A tool call that may change something runs once per request: the server claims a key for
   * it (the client's `_meta` key, else this session and the JSON-RPC request id) with the same
   * mechanism as HTTP's Idempotency-Key, and a retry of the same request gets the first answer.
   */
  const idempotently = async (
    name: string,
    params: Readonly<Record<string, unknown>>,
    meta: Readonly<Record<string, unknown>> | undefined,
    extra: Extra,
    caller: Caller,
    readOnly: boolean,
    exec: (idem: { ref: IdempotencyRef; recoveryPoint: string | null } | undefined) => Promise<AgentOutcome>,
  ): Promise<CallToolResult> => {
    if (readOnly) return finish(await exec(undefined), extra, caller);
    const explicit = meta?.[IDEMPOTENCY_META];
    if (explicit !== undefined && (typeof explicit !== 'string' || !KEY_RE.test(explicit))) {
      return errorResult(
        'IDEMPOTENCY_KEY_INVALID',
        `_meta["${IDEMPOTENCY_META}"] must be 1–200 printable ASCII characters without spaces`,
      );
    }
    const key =
      typeof explicit === 'string'
        ? `meta:${explicit}`
        : `rpc:${extra.sessionId ?? session.connectionId}:${String(extra.requestId)}`;
    const scope = `${caller.actor} mcp tools/call ${name}`;
    const start = await s.idempotency.begin(caller.tenantId, scope, key, { tool: name, arguments: params });
    switch (start.kind) {
      case 'invalid_key':
        return errorResult('IDEMPOTENCY_KEY_INVALID', start.reason);
      case 'conflict':
        return errorResult(
          'IDEMPOTENCY_CONFLICT',
          'this request was first made with other arguments; a different request needs a new call',
        );
      case 'in_flight':
        return errorResult('IDEMPOTENCY_IN_FLIGHT', 'the same request is still being carried out; ask again shortly', {
          retry_after_seconds: start.retryAfterSeconds,
        });
      case 'replay': {
        const first = JSON.parse(start.body) as CallToolResult;
        return { ...first, _meta: { ...first._meta, 'open-autoglm/replayed': true } };
      }
      case 'proceed': {
        let result: CallToolResult;
        try {
          result = await finish(await exec({ ref: start.ref, recoveryPoint: start.recoveryPoint }), extra, caller);
        } catch (e) {
          await s.idempotency.finish(caller.tenantId, start.ref, { status: 500, body: '', headers: {}, store: false });
          throw e;
        }
        const code = (result.structuredContent as { code?: unknown } | undefined)?.code;
        await s.idempotency.finish(caller.tenantId, start.ref, {
          status: 200,
          body: JSON.stringify(result),
          headers: {},
          store: !(typeof code === 'string' && NOT_STORED.has(code)),
        });
        return result;
      }
      default: {
        const never: never = start;
        throw new Error(`unknown idempotency state ${JSON.stringify(never)}`);
      }
    }
  };

  /** The engine's outcome, then the person's answer where the policy held it, then a recharge or batch followed. */
  const finish = async (outcome: AgentOutcome, extra: Extra, caller: Caller): Promise<CallToolResult> => {
    const canAsk = server.getClientCapabilities()?.elicitation !== undefined;
    const answered = await askThePerson(s, caller, outcome, {
      enabled: settings.confirmViaElicitation,
      method: s.orders.defaultPaymentMethod,
      ask: canAsk ? (q) => ask(q, extra) : undefined,
    });
    const followed = await followWork(s, caller, answered.outcome, extra, settings.followMs);
    return outcomeResult(followed, answered.person);
  };

  const ask = async (q: PersonQuestion, extra: Extra): Promise<PersonReply> => {
    try {
      const r = await extra.sendRequest(
        { method: 'elicitation/create', params: { message: q.message, requestedSchema: q.requestedSchema } },
        ElicitResultSchema,
        { timeout: settings.elicitationTimeoutMs },
      );
      return r.action === 'accept'
        ? { action: 'accept', ...(r.content === undefined ? {} : { content: r.content }) }
        : { action: r.action };
    } catch (e) {
      return {
        action: 'unavailable',
        reason: `the client did not answer (${e instanceof Error ? e.message : String(e)})`,
      };
    }
  };

  registerResources(mcp, s, callerOf);
  return mcp;
}

/** Arguments the tool's own schema refused, with each issue's field. */
function invalid(error: z.ZodError): CallToolResult {
  return errorResult('VALIDATION_FAILED', error.issues.map((i) => i.message).join('; '), {
    issues: error.issues.map((i) => ({ field: i.path.join('.') || '(arguments)', message: i.message })),
  });
}

function forbidden(caller: Caller, permission: Permission): CallToolResult {
  return errorResult('FORBIDDEN', `a ${caller.role} may not ${permission}`);
}

/** The tools this caller may use: every registry action something runs, and the free-text tool. */
function toolsFor(s: McpServices, caller: Caller): Tool[] {
  const tools: Tool[] = [];
  for (const a of s.agent.actions()) {
    const spec = s.registry.catalog.get(a.name);
    if (spec === undefined || !a.available || !can(caller.role, spec.permission ?? 'agent.message')) continue;
    const h = spec.hints ?? {};
    const readOnly = h.readOnly === true;
    tools.push({
      name: a.name,
      description: readOnly ? a.description : `${a.description}${MONEY_NOTE}`,
      inputSchema: a.parameters as Tool['inputSchema'],
      annotations: {
        title: a.name.replace(/_/g, ' '),
        readOnlyHint: readOnly,
        destructiveHint: !readOnly && h.destructive !== false,
        idempotentHint: h.idempotent === true,
        openWorldHint: h.openWorld !== false,
      },
    });
  }
  if (can(caller.role, 'batches.create')) tools.push(batchTool(MONEY_NOTE));
  if (can(caller.role, 'agent.message')) {
    tools.push({
      name: TEXT_TOOL,
      description:
        'Say what the person wants in their own words, Chinese or English ("来一杯大杯拿铁", ' +
        '"给13800138000充值100元话费", "把刚才那单退了"); the server parses it into one action and runs it. ' +
        'It may answer with a clarification question to put to the person.' +
        MONEY_NOTE,
      inputSchema: z.toJSONSchema(textArgsSchema, { io: 'input' }) as Tool['inputSchema'],
      annotations: {
        title: 'do in words',
        readOnlyHint: false,
        destructiveHint: true,
        idempotentHint: false,
        openWorldHint: true,
      },
    });
  }
  return tools;
}

function json(uri: URL, value: unknown): ReadResourceResult {
  return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(value) }] };
}

/** The menu, the person's recent orders and their wallet balance, as resources. */
function registerResources(mcp: McpServer, s: McpServices, callerOf: (extra: Extra) => Caller): void {
  const guarded =
    (permission: Permission, read: (caller: Caller) => Promise<unknown>) =>
    async (uri: URL, extra: Extra): Promise<ReadResourceResult> => {
      const caller = callerOf(extra);
      if (!can(caller.role, permission)) throw new Error(`FORBIDDEN: a ${caller.role} may not ${permission}`);
      return json(uri, await read(caller));
    };
  mcp.registerResource(
    'menu',
    'autoglm://menu',
    { title: 'Menu', description: 'Drinks, sizes and prices in fen', mimeType: 'application/json' },
    guarded('actions.read', () => Promise.resolve(s.orders.menu())),
  );
  mcp.registerResource(
    'recent-orders',
    'autoglm://orders/recent',
    { title: 'Recent orders', description: "The person's 20 newest orders", mimeType: 'application/json' },
    guarded('orders.read', (caller) => s.orders.list(caller, { limit: 20, userId: caller.userId })),
  );
  mcp.registerResource(
    'wallet',
    'autoglm://wallet',
    { title: 'Wallet', description: "The person's wallet balance in fen", mimeType: 'application/json' },
    guarded('wallet.read', async (caller) => {
      const r = await s.wallet.balance(caller);
      return r.ok ? { wallet: { user_id: caller.userId, ...r.value } } : { error: r.error };
    }),
  );
}

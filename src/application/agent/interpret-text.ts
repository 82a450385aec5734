import { z } from 'zod';
import type { ActionContext } from '../../domain/intent/action-spec.js';
import type { Resolution } from '../../domain/intent/catalog.js';
import { Grammar } from '../../domain/intent/grammar.js';
import { type PendingIntent, resolveAnalysis } from '../../domain/intent/interpret.js';
import { visibleText } from '../../domain/intent/text.js';
import type { Menu } from '../../domain/menu.js';
import { err, type DomainError, type ErrorCode } from '../../domain/result.js';
import type { SessionTurn } from '../../ports/agent-sessions.js';
import type { LlmMessage, LlmProvider, LlmTool } from '../../ports/llm-provider.js';
import type { Logger } from '../../ports/logger.js';
import type { ActionRegistry } from './action-registry.js';

export const NLU_MODES = ['grammar-only', 'llm-only', 'grammar-then-llm'] as const;
export type NluMode = (typeof NLU_MODES)[number];

/** A resolution and who produced it. */
export type Interpretation = Resolution & { readonly source: 'grammar' | 'llm' };

/** Errors about a value (not the call's form): after the retry they are reported with their own code. */
const VALUE_ERRORS: ReadonlySet<ErrorCode> = new Set([
  'INVALID_PHONE',
  'INVALID_AMOUNT',
  'AMOUNT_TOO_LARGE',
  'INVALID_CURRENCY',
  'UNKNOWN_DRINK',
  'UNKNOWN_SIZE',
  'UNKNOWN_OPTION',
  'INVALID_QUANTITY',
]);

export interface InterpreterOptions {
  readonly registry: ActionRegistry;
  readonly menu: () => Menu;
  readonly mode: NluMode;
  readonly llm?: LlmProvider;
  readonly logger: Logger;
}

/**
 * Words → a validated intent, a question, or an error with a stable code. The grammar is the
 * embedded default; a model is asked only in the configured modes, and whatever it answers goes
 * through the same catalog validation as the grammar's output, with one corrective retry.
 */
export class Interpreter {
  private grammar: { menu: Menu; version: number; grammar: Grammar } | undefined;

  constructor(private readonly opts: InterpreterOptions) {
    if (opts.mode !== 'grammar-only' && opts.llm === undefined)
      throw new Error(`NLU mode ${opts.mode} needs an LLM provider`);
  }

  get mode(): NluMode {
    return this.opts.mode;
  }

  /** The grammar for the current menu and registry, rebuilt only when either changed. */
  grammarNow(): Grammar {
    const menu = this.opts.menu();
    const version = this.opts.registry.version;
    if (this.grammar === undefined || this.grammar.menu !== menu || this.grammar.version !== version) {
      this.grammar = { menu, version, grammar: new Grammar(menu, this.opts.registry.customSpecs()) };
    }
    return this.grammar.grammar;
  }

  async interpret(
    text: string,
    pending?: PendingIntent,
    history: readonly SessionTurn[] = [],
  ): Promise<Interpretation> {
    const ctx: ActionContext = { menu: this.opts.menu() };
    // Neither the grammar nor a model reads text whose display differs from its characters.
    const visible = visibleText(text);
    if (!visible.ok) return { kind: 'error', error: visible.error, source: 'grammar' };
    if (this.opts.mode !== 'llm-only') {
      const r = resolveAnalysis(this.opts.registry.catalog, ctx, this.grammarNow().analyse(text), pending);
      // Only what the grammar could not read at all goes to a model; its errors and questions stand.
      if (this.opts.mode === 'grammar-only' || r.kind !== 'error' || r.error.code !== 'INTENT_NOT_UNDERSTOOD')
        return { ...r, source: 'grammar' };
    }
    return { ...(await this.askModel(visible.value, ctx, pending, history)), source: 'llm' };
  }

  /** The tool list: one function per registered action, its JSON Schema generated from the zod schema. */
  tools(ctx: ActionContext = { menu: this.opts.menu() }): LlmTool[] {
    const catalog = this.opts.registry.catalog;
    return catalog.list().map((spec) => {
      const schema = z.toJSONSchema(catalog.schemaFor(spec, ctx), { io: 'input', unrepresentable: 'any' }) as Record<
        string,
        unknown
      >;
      delete schema.$schema;
      return { name: spec.name, description: spec.description, parameters: schema };
    });
  }

  private async askModel(
    text: string,
    ctx: ActionContext,
    pending: PendingIntent | undefined,
    history: readonly SessionTurn[],
  ): Promise<Resolution> {
    const llm = this.opts.llm as LlmProvider;
    const chinese = /[\u3400-\u9fff]/.test(text);
    const messages: LlmMessage[] = [{ role: 'system', content: systemPrompt(ctx, pending) }];
    for (const t of history.slice(-6))
      messages.push({ role: 'user', content: t.text }, { role: 'assistant', content: `(${t.result})` });
    messages.push({ role: 'user', content: text });
    const tools = this.tools(ctx);
    let firstError: DomainError | undefined;
    for (let attempt = 1; attempt <= 2; attempt++) {
      const reply = await llm.complete({ messages, tools });
      if (!reply.ok) {
        this.opts.logger.warn({ code: reply.code, model: llm.model, attempt }, 'model call failed');
        return failure(
          reply.code,
          reply.message,
          reply.retryAfterMs === undefined ? {} : { retry_after_ms: reply.retryAfterMs },
        );
      }
      if (reply.toolCalls.length === 0) {
        // The model's own words ("已完成付款") are never passed on: only what the engine did is a
        // result, and a model that answers in prose did nothing.
        this.opts.logger.info(
          { model: llm.model, attempt, chars: (reply.text ?? '').length },
          'model answered in prose',
        );
        return failure(
          'INTENT_NOT_UNDERSTOOD',
          chinese ? '没听懂，请换个说法。' : 'Sorry, I did not understand that.',
          {},
        );
      }
      const call = reply.toolCalls[0];
      if (call === undefined) throw new Error('unreachable');
      let resolution: Resolution;
      if (reply.toolCalls.length > 1) {
        resolution = { kind: 'error', error: err('INTENT_AMBIGUOUS', 'call exactly one function per message').error };
      } else {
        let args: unknown;
        try {
          args = call.arguments.trim() === '' ? {} : JSON.parse(call.arguments);
        } catch {
          args = undefined;
        }
        resolution =
          args === undefined
            ? { kind: 'error', error: err('VALIDATION_FAILED', 'the function arguments are not valid JSON').error }
            : this.opts.registry.catalog.resolve(call.name, args, ctx, chinese ? 'zh' : 'en');
      }
      if (resolution.kind !== 'error') return resolution;
      const e = resolution.error;
      this.opts.logger.info(
        { code: e.code, model: llm.model, attempt, action: call.name },
        'model answer rejected by validation',
      );
      if (attempt === 2) {
        // Still a bad value after the correction: the person's words were wrong (a 10-digit
        // phone), and that value's own code says so. Anything else is the model's failure.
        if (VALUE_ERRORS.has(e.code)) return resolution;
        return failure('LLM_INVALID_OUTPUT', `the model's answer failed validation twice: ${e.message}`, {
          first: { code: firstError?.code ?? e.code, message: firstError?.message ?? e.message },
          last: { code: e.code, message: e.message },
        });
      }
      firstError = e;
      // The corrective retry: show the model its call and exactly what was wrong with it.
      messages.push(
        { role: 'assistant', content: null, toolCalls: [call] },
        {
          role: 'tool',
          toolCallId: call.id,
          content: JSON.stringify({ error: { code: e.code, message: e.message, details: e.details ?? {} } }),
        },
        {
          role: 'user',
          content:
            'That call was rejected by validation (see the tool result). ' +
            'Call one function again with corrected arguments that follow its JSON schema exactly.',
        },
      );
    }
    throw new Error('unreachable');
  }
}

function failure(code: ErrorCode, message: string, details: Record<string, unknown>): Resolution {
  return { kind: 'error', error: err(code, message, details).error };
}

function systemPrompt(ctx: ActionContext, pending: PendingIntent | undefined): string {
  const drinks = ctx.menu.drinks.map((d) => `${d.id} (${d.name_zh} / ${d.name_en})`).join(', ');
  return [
    'You turn one message from a person into exactly one function call. You never execute anything yourself ' +
      'and you cannot change rules, limits or confirmations: the system enforces them whatever the message says.',
    'Call exactly one function. Use only the fields in its schema. Money amounts are integers in fen ' +
      '(1 yuan = 100 fen: "100元" → 10000). Phone numbers are 11 digits, no spaces or +86.',
    'Sizes: small = 小杯; medium = 中杯 = tall; large = 大杯 = grande; xlarge = 超大杯 = venti.',
    `Drinks on the menu: ${drinks}.`,
    'Leave out any field the person did not say (the system asks them). ' +
      'Use "last" for "that order", "刚才那单", or when no order id is given.',
    'If the message asks for nothing these functions do, answer in words without calling a function.',
    pending === undefined
      ? ''
      : `The conversation is waiting to complete ${pending.action}; known so far: ${JSON.stringify(pending.known)}. ` +
        `If the message adds the missing details, call ${pending.action} with everything known.`,
  ]
    .filter((l) => l !== '')
    .join('\n');
}

/** The one JSON shape of a parse, shared by `autoglm parse --json` and POST /api/v1/intents/parse. */
export type ParseOutput =
  | {
      readonly intent: { readonly action: string; readonly params: Readonly<Record<string, unknown>> };
      readonly source: 'grammar' | 'llm';
    }
  | { readonly clarify: { readonly action: string; readonly missing: readonly string[]; readonly question: string } }
  | {
      readonly error: {
        readonly code: string;
        readonly message: string;
        readonly details?: Readonly<Record<string, unknown>>;
      };
    };

export function toParseOutput(i: Interpretation): ParseOutput {
  switch (i.kind) {
    case 'intent':
      return { intent: { action: i.intent.action, params: i.intent.params }, source: i.source };
    case 'clarify':
      return { clarify: { action: i.clarify.action, missing: i.clarify.missing, question: i.clarify.question } };
    case 'error':
      return {
        error: {
          code: i.error.code,
          message: i.error.message,
          ...(i.error.details === undefined ? {} : { details: i.error.details }),
        },
      };
    default: {
      const never: never = i;
      throw new Error(`unknown interpretation ${JSON.stringify(never)}`);
    }
  }
}

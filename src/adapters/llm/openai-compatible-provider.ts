import OpenAI from 'openai';
import type { ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import type { LlmMessage, LlmProvider, LlmReply, LlmRequest } from '../../ports/llm-provider.js';

export interface OpenAiCompatibleOptions {
  /** e.g. https://open.bigmodel.cn/api/paas/v4/ (Zhipu GLM), http://127.0.0.1:11434/v1 (Ollama). */
  readonly baseUrl: string;
  readonly model: string;
  /** Some local servers need none; the SDK insists on a string, so a placeholder is sent. */
  readonly apiKey?: string;
  readonly timeoutMs: number;
  readonly temperature?: number;
  /** For tests: a fetch to use instead of the global one. */
  readonly fetch?: typeof fetch;
}

function toParam(m: LlmMessage): ChatCompletionMessageParam {
  switch (m.role) {
    case 'system':
    case 'user':
      return { role: m.role, content: m.content };
    case 'assistant':
      return {
        role: 'assistant',
        content: m.content,
        ...(m.toolCalls === undefined || m.toolCalls.length === 0
          ? {}
          : {
              tool_calls: m.toolCalls.map((c) => ({
                id: c.id,
                type: 'function' as const,
                function: { name: c.name, arguments: c.arguments },
              })),
            }),
      };
    case 'tool':
      return { role: 'tool', tool_call_id: m.toolCallId, content: m.content };
    default: {
      const never: never = m;
      throw new Error(`unknown message ${JSON.stringify(never)}`);
    }
  }
}

function retryAfterMs(headers: Headers | undefined): number | undefined {
  const v = headers?.get('retry-after');
  if (v === null || v === undefined) return undefined;
  const s = Number(v);
  if (Number.isFinite(s)) return Math.max(0, s * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/**
 * The LLM port over the official `openai` SDK against any OpenAI-compatible chat completions
 * endpoint. The SDK's own retries are off: a 429 or a timeout is reported to the caller, which
 * decides; the only retry in the NLU path is the corrective one after a validation failure.
 */
export class OpenAiCompatibleProvider implements LlmProvider {
  readonly model: string;
  private readonly client: OpenAI;
  private readonly temperature: number;

  constructor(opts: OpenAiCompatibleOptions) {
    this.model = opts.model;
    this.temperature = opts.temperature ?? 0;
    this.client = new OpenAI({
      apiKey: opts.apiKey === undefined || opts.apiKey === '' ? 'not-needed' : opts.apiKey,
      baseURL: opts.baseUrl,
      timeout: opts.timeoutMs,
      maxRetries: 0,
      ...(opts.fetch === undefined ? {} : { fetch: opts.fetch }),
    });
  }

  async complete(request: LlmRequest): Promise<LlmReply> {
    const tools: ChatCompletionTool[] = request.tools.map((t) => ({
      type: 'function',
      function: { name: t.name, description: t.description, parameters: t.parameters },
    }));
    try {
      const res = await this.client.chat.completions.create({
        model: this.model,
        messages: request.messages.map(toParam),
        tools,
        tool_choice: 'auto',
        temperature: this.temperature,
      });
      const message = (res as { choices?: Array<{ message?: OpenAI.Chat.ChatCompletionMessage }> }).choices?.[0]
        ?.message;
      if (message === undefined)
        return { ok: false, code: 'LLM_INVALID_OUTPUT', message: 'the model answered without a message' };
      const toolCalls = (message.tool_calls ?? []).flatMap((c) =>
        c.type === 'function' ? [{ id: c.id, name: c.function.name, arguments: c.function.arguments }] : [],
      );
      return { ok: true, toolCalls, text: message.content ?? null };
    } catch (e) {
      if (e instanceof OpenAI.APIConnectionTimeoutError)
        return { ok: false, code: 'LLM_TIMEOUT', message: `the model did not answer within the timeout` };
      if (e instanceof OpenAI.RateLimitError) {
        const after = retryAfterMs(e.headers);
        return {
          ok: false,
          code: 'LLM_RATE_LIMITED',
          message: 'the model provider is rate limiting (429)',
          ...(after === undefined ? {} : { retryAfterMs: after }),
        };
      }
      if (e instanceof OpenAI.APIError && e.status !== undefined) {
        return { ok: false, code: 'LLM_UNAVAILABLE', message: `the model provider answered HTTP ${e.status}` };
      }
      if (e instanceof OpenAI.APIConnectionError)
        return { ok: false, code: 'LLM_UNAVAILABLE', message: 'cannot reach the model provider' };
      // A 200 whose body is not JSON, or any other malformed answer.
      return {
        ok: false,
        code: 'LLM_INVALID_OUTPUT',
        message:
          `the model provider's answer could not be read: ` +
          `${e instanceof Error ? e.message.slice(0, 200) : 'unknown'}`,
      };
    }
  }
}

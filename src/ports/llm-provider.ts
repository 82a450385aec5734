/** A function the model may call: one per registered action, parameters as JSON Schema. */
export interface LlmTool {
  readonly name: string;
  readonly description: string;
  /** JSON Schema of the arguments (generated from the action's zod schema). */
  readonly parameters: Readonly<Record<string, unknown>>;
}

/** A function call the model asked for; `arguments` is the raw text it wrote (maybe not JSON). */
export interface LlmToolCall {
  readonly id: string;
  readonly name: string;
  readonly arguments: string;
}

export type LlmMessage =
  | { readonly role: 'system' | 'user'; readonly content: string }
  | { readonly role: 'assistant'; readonly content: string | null; readonly toolCalls?: readonly LlmToolCall[] }
  | { readonly role: 'tool'; readonly toolCallId: string; readonly content: string };

/** Why a model call produced no answer; each has a stable error code. */
export type LlmFailureCode = 'LLM_TIMEOUT' | 'LLM_RATE_LIMITED' | 'LLM_UNAVAILABLE' | 'LLM_INVALID_OUTPUT';

export type LlmReply =
  | { readonly ok: true; readonly toolCalls: readonly LlmToolCall[]; readonly text: string | null }
  | { readonly ok: false; readonly code: LlmFailureCode; readonly message: string; readonly retryAfterMs?: number };

export interface LlmRequest {
  readonly messages: readonly LlmMessage[];
  readonly tools: readonly LlmTool[];
}

/**
 * A chat model that can call functions (OpenAI-compatible chat completions: GLM, DeepSeek,
 * Qwen, Ollama, vLLM …). It only proposes: whatever it answers is validated by the action
 * catalog exactly like the grammar's output, and policy is never its to decide.
 * Implementations never throw for network, timeout or HTTP errors; they return `ok: false`.
 */
export interface LlmProvider {
  /** e.g. "glm-4-flash", for logs and answers. */
  readonly model: string;
  complete(request: LlmRequest): Promise<LlmReply>;
}

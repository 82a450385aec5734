import { OpenAiCompatibleProvider } from '../adapters/llm/openai-compatible-provider.js';
import { type ActionRegistry, Interpreter, type NluMode } from '../application/agent/agent-api.js';
import type { AppConfig } from '../config/load-config.js';
import type { LlmProvider } from '../ports/llm-provider.js';
import type { Logger } from '../ports/logger.js';

/**
 * Words → intent as configured: the grammar alone (the default without an API key), or with a
 * model over the OpenAI-compatible API (`llm.mode`).
 */
export function buildInterpreter(
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

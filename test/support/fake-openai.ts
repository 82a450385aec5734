import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One recorded answer: a tool call, plain text, or a raw HTTP reply (errors, garbage, delays). */
export type Recorded =
  | {
      readonly toolCall: { readonly name: string; readonly arguments: string | Record<string, unknown> };
      readonly delayMs?: number;
    }
  | { readonly toolCalls: ReadonlyArray<{ readonly name: string; readonly arguments: string }> }
  | { readonly text: string }
  | {
      readonly status: number;
      readonly body: string;
      readonly headers?: Readonly<Record<string, string>>;
      readonly delayMs?: number;
    };

export interface ReceivedRequest {
  readonly path: string;
  readonly authorization: string | undefined;
  readonly body: {
    model: string;
    messages: Array<{ role: string; content: string | null; tool_call_id?: string; tool_calls?: unknown[] }>;
    tools?: Array<{
      type: string;
      function: {
        name: string;
        description: string;
        parameters: { properties?: Record<string, unknown>; required?: string[] };
      };
    }>;
  };
}

/**
 * A local server speaking the OpenAI chat completions protocol that plays recorded answers in
 * order, and remembers every request it got (so tests can check the corrective retry).
 */
export class FakeOpenAi {
  readonly received: ReceivedRequest[] = [];
  private queue: Recorded[] = [];
  private server: Server | undefined;
  url = '';

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1/`;
    return this.url;
  }

  play(...answers: Recorded[]): this {
    this.queue.push(...answers);
    return this;
  }

  /** Forget answers and requests (between tests). */
  reset(): void {
    this.queue = [];
    this.received.length = 0;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let raw = '';
    for await (const chunk of req) raw += (chunk as Buffer).toString('utf8');
    this.received.push({
      path: req.url ?? '',
      authorization: req.headers.authorization,
      body: JSON.parse(raw) as ReceivedRequest['body'],
    });
    const next = this.queue.shift();
    if (next === undefined) {
      res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"message":"no recorded answer left"}}');
      return;
    }
    if ('delayMs' in next && next.delayMs !== undefined) await new Promise((r) => setTimeout(r, next.delayMs));
    // The client gave up (a timeout test): nothing to answer.
    if (res.destroyed || req.socket.destroyed) return;
    if ('status' in next) {
      res.writeHead(next.status, { 'content-type': 'application/json', ...next.headers }).end(next.body);
      return;
    }
    const calls = 'toolCall' in next ? [next.toolCall] : 'toolCalls' in next ? next.toolCalls : [];
    const message = {
      role: 'assistant',
      content: 'text' in next ? next.text : null,
      ...(calls.length === 0
        ? {}
        : {
            tool_calls: calls.map((c, i) => ({
              id: `call_${this.received.length}_${i}`,
              type: 'function',
              function: {
                name: c.name,
                arguments: typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments),
              },
            })),
          }),
    };
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        id: `chatcmpl-${this.received.length}`,
        object: 'chat.completion',
        created: 1_700_000_000,
        model: 'glm-4-flash',
        choices: [{ index: 0, message, finish_reason: calls.length === 0 ? 'stop' : 'tool_calls' }],
        usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
      }),
    );
  }
}

import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/** Serve one MCP connection over this process's stdin/stdout; resolves when the client goes away. */
export async function serveStdio(server: McpServer): Promise<void> {
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
    process.stdin.once('end', () => resolve());
    process.stdin.once('close', () => resolve());
  });
  await server.connect(transport);
  await closed;
  await server.close();
}

/**
 * `autoglm mcp --url`: relay this process's stdio to a running service's `/mcp` with the key, so
 * the tools, the policy, the person's confirmation (elicitation requests pass through) and the
 * idempotency are the service's own. Messages go through unchanged; only the protocol version the
 * service agreed is noted, for the HTTP header later requests carry.
 */
export async function relayStdioToHttp(url: URL, apiKey: string, onError: (message: string) => void): Promise<void> {
  const local = new StdioServerTransport();
  const remote = new StreamableHTTPClientTransport(url, {
    requestInit: { headers: { authorization: `Bearer ${apiKey}` } },
  });
  const initializing = new Set<string | number>();
  let done: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => (done = resolve));
  const fail = (e: unknown, to: string): void => onError(`${to}: ${e instanceof Error ? e.message : String(e)}`);

  local.onmessage = (m: JSONRPCMessage) => {
    if ('method' in m && m.method === 'initialize' && 'id' in m) initializing.add(m.id);
    remote.send(m).catch((e: unknown) => {
      fail(e, url.href);
      // The client is waiting for an answer to its request: tell it, rather than leave it hanging.
      if ('id' in m && 'method' in m) {
        const message = e instanceof Error ? e.message : String(e);
        void local.send({
          jsonrpc: '2.0',
          id: m.id,
          error: { code: -32000, message: `the service refused: ${message}` },
        });
      }
    });
  };
  remote.onmessage = (m: JSONRPCMessage) => {
    if ('result' in m && 'id' in m && initializing.delete(m.id)) {
      const version = (m.result as { protocolVersion?: unknown }).protocolVersion;
      if (typeof version === 'string') remote.setProtocolVersion(version);
    }
    local.send(m).catch((e: unknown) => fail(e, 'stdout'));
  };
  remote.onerror = (e) => fail(e, url.href);
  local.onerror = (e) => fail(e, 'stdin');
  local.onclose = () => done();
  process.stdin.once('end', () => done());
  await remote.start();
  await local.start();
  await closed;
  await remote.terminateSession().catch(() => undefined);
  await remote.close();
}

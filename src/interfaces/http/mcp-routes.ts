import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Logger } from '../../ports/logger.js';
import type { RouteDoc } from './plumbing/openapi/route-doc.js';
import { createMcpServer, type McpServices, type McpSettings } from '../mcp/mcp-server.js';

/** What `/mcp` needs: the capabilities, the `mcp` settings, and how long an idle session lives. */
export interface McpRoutesOptions {
  readonly services: McpServices;
  readonly settings: McpSettings;
  readonly sessionIdleMs: number;
  readonly version: string;
  readonly logger: Logger;
}

interface Session {
  readonly transport: StreamableHTTPServerTransport;
  readonly server: McpServer;
  /** The credential's principal that opened it: nobody else may use its id. */
  readonly owner: string;
  lastSeen: number;
}

/** JSON-RPC 2.0 messages (the Model Context Protocol's own schema governs them, not this document). */
const rpcMessage = z.object({ jsonrpc: z.literal('2.0') }).passthrough();

/** `/mcp` in the OpenAPI document: one entry for its three methods (MCP's Streamable HTTP transport). */
const MCP_DOC: RouteDoc = {
  summary: 'Model Context Protocol (Streamable HTTP)',
  description:
    'MCP for agents: POST JSON-RPC messages (start with `initialize`; the answer carries `Mcp-Session-Id`), GET ' +
    'the server’s event stream, DELETE the session. An agent key acts for its person within their mandates; ' +
    'held actions are confirmed by the person through elicitation. See the README, section MCP.',
  tags: ['mcp'],
  headers: { 'Mcp-Session-Id': 'the session the initialize answer named (all but the first request)' },
  bodyContent: { 'application/json': rpcMessage },
  bodyOptional: true,
  responses: {
    200: {
      description: 'a JSON-RPC answer, or a stream of them',
      content: { 'application/json': rpcMessage, 'text/event-stream': z.string() },
    },
    202: { description: 'a notification or answer accepted' },
  },
  errorContent: { 'application/json': rpcMessage },
};

const ownerOf = (req: FastifyRequest): string => `${req.caller.tenantId}|${req.caller.actor}`;

function rpcError(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply
    .code(status)
    .type('application/json')
    .send({ jsonrpc: '2.0', error: { code: -32000, message }, id: null });
}

/**
 * The MCP server over Streamable HTTP at `/mcp` (POST messages, GET the server's stream, DELETE
 * the session). Every request is authenticated by the same hook as every other route — an agent's
 * key acts for its person, within their mandates — and its caller reaches the tools as the SDK's
 * `authInfo`. A session belongs to the principal that opened it: another credential naming its id
 * gets the same 404 as an unknown id. Sessions live in this instance's memory.
 */
export function registerMcpRoutes(app: FastifyInstance, o: McpRoutesOptions): void {
  const sessions = new Map<string, Session>();

  const handler = async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const header = req.headers['mcp-session-id'];
    const id = typeof header === 'string' ? header : undefined;
    let session = id === undefined ? undefined : sessions.get(id);
    if (id !== undefined && (session === undefined || session.owner !== ownerOf(req))) {
      return rpcError(reply, 404, 'Session not found');
    }
    if (session === undefined) {
      if (req.method !== 'POST' || !isInitializeRequest(req.body)) {
        return rpcError(reply, 400, 'Bad Request: no valid mcp-session-id; start with an initialize request');
      }
      const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (sid) => {
          if (opened !== undefined) sessions.set(sid, opened);
        },
      });
      const server = createMcpServer(
        o.services,
        o.settings,
        { caller: req.caller, connectionId: `http-${randomUUID()}` },
        { version: o.version, logger: o.logger },
      );
      const opened: Session = { transport, server, owner: ownerOf(req), lastSeen: Date.now() };
      transport.onclose = () => {
        if (transport.sessionId !== undefined) sessions.delete(transport.sessionId);
      };
      await server.connect(transport);
      session = opened;
    }
    session.lastSeen = Date.now();
    // The SDK hands `req.auth` to every handler as `extra.authInfo`: the caller this request authenticated as.
    const auth: AuthInfo = { token: '', clientId: req.caller.actor, scopes: [], extra: { caller: req.caller } };
    (req.raw as IncomingMessage & { auth?: AuthInfo }).auth = auth;
    // The SDK writes the answer itself; the headers already set for every answer go with it.
    reply.hijack();
    for (const [k, v] of Object.entries(reply.getHeaders())) if (v !== undefined) reply.raw.setHeader(k, v);
    await session.transport.handleRequest(req.raw, reply.raw, req.body);
    return undefined;
  };

  app.route({
    method: ['GET', 'POST', 'DELETE'],
    url: '/mcp',
    config: { permission: 'agent.message', openapi: MCP_DOC },
    handler,
  });

  const sweep = setInterval(
    () => {
      const idleBefore = Date.now() - o.sessionIdleMs;
      for (const [sid, s] of sessions) {
        if (s.lastSeen < idleBefore) {
          sessions.delete(sid);
          void s.server.close();
        }
      }
    },
    Math.min(o.sessionIdleMs, 60_000),
  );
  sweep.unref();
  app.addHook('onClose', async () => {
    clearInterval(sweep);
    const open = [...sessions.values()];
    sessions.clear();
    await Promise.all(open.map((s) => s.server.close()));
  });
}

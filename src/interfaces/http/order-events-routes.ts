import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { OrderChange, OrderFeed } from '../../application/orders/orders-api.js';
import type { RouteDoc } from './plumbing/openapi/route-doc.js';
import { orderViewSchema } from './plumbing/openapi/view-schemas.js';
import { problem, sendProblem } from './plumbing/problem.js';

/** How often an idle stream says it is alive, so proxies and the browser keep it open. */
const HEARTBEAT_MS = 15_000;

const DOCS = {
  events: {
    summary: 'Live order changes (server-sent events)',
    description:
      'A `text/event-stream` of the orders the caller may see (their own; the tenant’s for operators and ' +
      'viewers), one `order` event per change with the order as it is now, from any instance of the service. ' +
      'Send `Accept: text/event-stream` (a browser’s `EventSource` does). Comment lines keep an idle stream open.',
    tags: ['orders'],
    headers: { Accept: '`text/event-stream`' },
    responses: {
      200: {
        description: 'the stream: `id: <seq>`, `event: order`, `data: {"action": …, "order": {…}}` per change',
        content: {
          'text/event-stream': z
            .string()
            .describe(`data: ${JSON.stringify({ action: 'order.fulfilled', order: { id: 'ord_…' } })}`),
        },
      },
    },
    errors: ['NOT_ACCEPTABLE'],
  },
} satisfies Record<string, RouteDoc>;

/** What one event's `data` line carries. */
export const orderEventSchema = z.object({ action: z.string(), order: orderViewSchema });

/**
 * GET /api/v1/orders/events: the orders list's live feed. The stream ends when the client goes or
 * the server shuts down (the browser's EventSource then reconnects by itself).
 */
export function registerOrderEventRoutes(app: FastifyInstance, { orderFeed }: { readonly orderFeed: OrderFeed }): void {
  const open = new Set<() => void>();
  /** The streams' sockets: a stream is its connection's last answer; shutdown closes them whatever they do. */
  const sockets = new Set<Socket>();
  app.addHook('preClose', (done) => {
    for (const end of [...open]) end();
    for (const s of sockets) s.destroy();
    done();
  });

  app.get('/api/v1/orders/events', { config: { permission: 'orders.read', openapi: DOCS.events } }, (req, reply) => {
    if (!(req.headers.accept ?? '').includes('text/event-stream')) {
      return sendProblem(
        reply,
        problem('NOT_ACCEPTABLE', 'this is an event stream: send Accept: text/event-stream', req.id),
      );
    }
    const hsts = reply.getHeader('strict-transport-security');
    reply.hijack();
    const res = reply.raw;
    const socket = req.raw.socket;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    const send = (c: OrderChange): void => {
      res.write(`id: ${c.seq}\nevent: order\ndata: ${JSON.stringify({ action: c.action, order: c.order })}\n\n`);
    };
    let unsubscribe: (() => void) | undefined;
    let ended = false;
    const heartbeat = setInterval(() => res.write(': ping\n\n'), HEARTBEAT_MS);
    heartbeat.unref();
    const end = (): void => {
      if (ended) return;
      ended = true;
      open.delete(end);
      clearInterval(heartbeat);
      unsubscribe?.();
      // A stream is its connection's last answer: close it with the stream, so that neither a
      // client gone quiet nor a shutdown waits on a socket nobody will use again.
      res.end();
      socket.destroy();
    };
    open.add(end);
    res.once('close', end);
    socket.once('close', end);
    orderFeed.subscribe(req.caller, send).then(
      (stop) => {
        if (ended) return stop();
        unsubscribe = stop;
        res.writeHead(200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-store',
          'x-accel-buffering': 'no',
          'x-request-id': req.id,
          ...(hsts === undefined ? {} : { 'strict-transport-security': String(hsts) }),
        });
        // Reconnect after 2 s if the stream breaks; the first line says every later change will come.
        res.write('retry: 2000\n: open\n\n');
      },
      (e: unknown) => {
        req.log.error({ err: e }, 'order feed could not start');
        if (!res.headersSent) res.writeHead(503, { 'content-type': 'text/plain' });
        end();
      },
    );
  });
}

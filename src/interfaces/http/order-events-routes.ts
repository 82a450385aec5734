import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { OrderFeed } from '../../application/orders/orders-api.js';
import type { RouteDoc } from './plumbing/openapi/route-doc.js';
import { orderViewSchema } from './plumbing/openapi/view-schemas.js';
import { eventStreams } from './plumbing/event-stream.js';

const DOCS = {
  events: {
    summary: 'Live order changes (server-sent events)',
    description:
      'A `text/event-stream` of the orders the caller may see (their own; the tenant’s for operators and ' +
      'viewers), one `order` event per change with the order as it is now, from any instance of the service. ' +
      'Send `Accept: text/event-stream` (a browser’s `EventSource` does). Comment lines keep an idle stream open. ' +
      'Event ids only increase, but nothing is replayed: a stream opened again (even with `Last-Event-ID`) ' +
      'starts from then, so read the list again after a reconnect.',
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

/** GET /api/v1/orders/events: the orders list's live feed. */
export function registerOrderEventRoutes(app: FastifyInstance, { orderFeed }: { readonly orderFeed: OrderFeed }): void {
  const streams = eventStreams(app);
  app.get('/api/v1/orders/events', { config: { permission: 'orders.read', openapi: DOCS.events } }, (req, reply) =>
    streams.serve(req, reply, (send) =>
      orderFeed.subscribe(req.caller, (c) =>
        send({ id: c.seq, event: 'order', data: { action: c.action, order: c.order } }),
      ),
    ),
  );
}

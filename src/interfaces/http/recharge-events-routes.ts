import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { BatchFeed } from '../../application/batch/batch-api.js';
import type { BatchApi } from '../../application/batch/batch-api.js';
import type { RechargeFeed } from '../../application/recharge/recharge-api.js';
import { parseId, problemResult, send } from './plumbing/http-result.js';
import { eventStreams } from './plumbing/event-stream.js';
import type { RouteDoc } from './plumbing/openapi/route-doc.js';
import { batchViewSchema, rechargeViewSchema } from './plumbing/openapi/view-schemas.js';
import { problem, sendProblem } from './plumbing/problem.js';
import { idParamSchema } from './plumbing/validation.js';

const DOCS = {
  recharges: {
    summary: 'Live recharge changes (server-sent events)',
    description:
      'A `text/event-stream` of the recharges the caller may see (their own; the tenant’s for operators and ' +
      'viewers), one `recharge` event per change with the recharge as it is now (number masked), from any ' +
      'instance of the service: it reads the audit log they share. Send `Accept: text/event-stream` (a ' +
      'browser’s `EventSource` does). Comment lines keep an idle stream open. Event ids only increase, but ' +
      'nothing is replayed: a stream opened again (even with `Last-Event-ID`) starts from then, so read the ' +
      'list again after a reconnect.',
    tags: ['recharges'],
    headers: { Accept: '`text/event-stream`' },
    responses: {
      200: {
        description: 'the stream: `id: <seq>`, `event: recharge`, `data: {"action": …, "recharge": {…}}` per change',
        content: {
          'text/event-stream': z
            .string()
            .describe(`data: ${JSON.stringify({ action: 'recharge.succeeded', recharge: { id: 'rc_…' } })}`),
        },
      },
    },
    errors: ['NOT_ACCEPTABLE'],
  },
  batch: {
    summary: 'A batch’s live progress (server-sent events)',
    description:
      'A `text/event-stream`: first a `batch` event with the batch as it stands, then one each time it changes ' +
      '(rows turned into recharges, recharges ending), from any instance of the service. The stream stays open ' +
      'after the batch is done; close it then. A reconnect starts again with the batch as it stands, so it ' +
      'misses nothing (`Last-Event-ID` is not needed); the counts never go back on a stream. Send ' +
      '`Accept: text/event-stream`.',
    tags: ['recharges'],
    params: idParamSchema,
    headers: { Accept: '`text/event-stream`' },
    responses: {
      200: {
        description: 'the stream: `id: <seq>`, `event: batch`, `data: {"batch": {…}}` per change',
        content: { 'text/event-stream': z.string().describe(`data: ${JSON.stringify({ batch: { id: 'bat_…' } })}`) },
      },
    },
    errors: ['NOT_ACCEPTABLE', 'BATCH_NOT_FOUND'],
  },
} satisfies Record<string, RouteDoc>;

/** What one recharge event's `data` line carries. */
export const rechargeEventSchema = z.object({ action: z.string(), recharge: rechargeViewSchema });
/** What one batch event's `data` line carries. */
export const batchEventSchema = z.object({ batch: batchViewSchema });

/** GET /api/v1/recharges/events and GET /api/v1/batches/:id/events: the console's live recharges and progress bar. */
export function registerRechargeEventRoutes(
  app: FastifyInstance,
  {
    rechargeFeed,
    batchFeed,
    batch,
  }: { readonly rechargeFeed: RechargeFeed; readonly batchFeed: BatchFeed; readonly batch: BatchApi },
): void {
  const streams = eventStreams(app);
  app.get(
    '/api/v1/recharges/events',
    { config: { permission: 'recharges.read', openapi: DOCS.recharges } },
    (req, reply) =>
      streams.serve(req, reply, (emit) =>
        rechargeFeed.subscribe(req.caller, (c) =>
          emit({ id: c.seq, event: 'recharge', data: { action: c.action, recharge: c.value } }),
        ),
      ),
  );

  app.get(
    '/api/v1/batches/:id/events',
    { config: { permission: 'batches.read', openapi: DOCS.batch } },
    async (req, reply) => {
      const id = parseId(req);
      if (id === undefined) return sendProblem(reply, problem('BATCH_NOT_FOUND', 'no such batch', req.id));
      // Refused before the stream starts: a batch the caller may not see is a 404, not an empty stream.
      const found = await batch.get(req.caller, id);
      if (!found.ok) return send(reply, problemResult(req, found.error));
      return streams.serve(req, reply, (emit) =>
        // The batch as it stands first (the page shows it at once, and a reconnect resumes from it), then each change.
        batchFeed.subscribe(req.caller, id, (c) => emit({ id: c.seq, event: 'batch', data: { batch: c.batch } })),
      );
    },
  );
}

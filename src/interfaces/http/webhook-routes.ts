import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { WebhooksApi } from '../../application/webhooks/webhooks-api.js';
import { parseId, problemResult, send } from './plumbing/http-result.js';
import { problem, sendProblem } from './plumbing/problem.js';
import { subscriptionCreateSchema, subscriptionPatchSchema } from '../../domain/webhooks.js';
import type { RouteDoc } from './plumbing/openapi/route-doc.js';
import { deliveryViewSchema, listOf, webhookViewSchema } from './plumbing/openapi/view-schemas.js';
import { idParamSchema } from './plumbing/validation.js';

const deliveryParams = z
  .object({ id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/), delivery: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/) })
  .strict();
const pageQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(200).default(50),
    before: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/)
      .optional(),
  })
  .strict();

const TAGS: ['webhooks'] = ['webhooks'];
const created = webhookViewSchema.extend({
  secret: z.string().describe('whsec_…: the signing secret, shown only here'),
});

const DOCS = {
  create: {
    summary: 'Subscribe an endpoint to events',
    description:
      'Events are signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`) with the ' +
      '`secret` this answer shows once. `events`: exact types or `family.*` (all when left out).',
    tags: TAGS,
    body: subscriptionCreateSchema,
    example: { url: 'https://example.com/hooks/autoglm', events: ['order.*', 'recharge.*'] },
    responses: { 201: { description: 'the endpoint, with its secret', body: z.object({ webhook: created }) } },
    errors: ['WEBHOOK_URL_INVALID', 'WEBHOOK_EVENTS_INVALID'],
  },
  list: {
    summary: 'The tenant’s webhook endpoints',
    tags: TAGS,
    responses: { 200: { description: 'endpoints', body: listOf(webhookViewSchema) } },
  },
  get: {
    summary: 'One webhook endpoint',
    tags: TAGS,
    params: idParamSchema,
    responses: { 200: { description: 'the endpoint', body: z.object({ webhook: webhookViewSchema }) } },
    errors: ['WEBHOOK_NOT_FOUND'],
  },
  update: {
    summary: 'Change an endpoint (url, events, enabled, description)',
    description: 'Re-enabling an endpoint that was disabled after failing deliveries resumes its deliveries.',
    tags: TAGS,
    params: idParamSchema,
    body: subscriptionPatchSchema,
    example: { enabled: true },
    responses: { 200: { description: 'the endpoint', body: z.object({ webhook: webhookViewSchema }) } },
    errors: ['WEBHOOK_NOT_FOUND', 'WEBHOOK_URL_INVALID', 'WEBHOOK_EVENTS_INVALID'],
  },
  remove: {
    summary: 'Delete an endpoint',
    tags: TAGS,
    params: idParamSchema,
    responses: { 204: { description: 'deleted' } },
    errors: ['WEBHOOK_NOT_FOUND'],
  },
  deliveries: {
    summary: 'The endpoint’s delivery log',
    description: 'Newest first, each with its attempts (status code, latency, error). Page with `before`.',
    tags: TAGS,
    params: idParamSchema,
    query: pageQuery,
    responses: { 200: { description: 'deliveries', body: listOf(deliveryViewSchema) } },
    errors: ['WEBHOOK_NOT_FOUND'],
  },
  redeliver: {
    summary: 'Send a delivery again',
    description: 'The same event, with the same `webhook-id`, queued now.',
    tags: TAGS,
    params: deliveryParams,
    bodyOptional: true,
    responses: { 202: { description: 'queued', body: z.object({ delivery: deliveryViewSchema }) } },
    errors: ['WEBHOOK_NOT_FOUND', 'WEBHOOK_DELIVERY_NOT_FOUND', 'WEBHOOK_DISABLED'],
  },
} satisfies Record<string, RouteDoc>;

/**
 * Outbound webhooks: POST/GET /api/v1/webhooks, GET/PATCH/DELETE /api/v1/webhooks/:id, the
 * delivery log GET /api/v1/webhooks/:id/deliveries and a redelivery
 * POST /api/v1/webhooks/:id/deliveries/:delivery/redeliver. Bodies are validated by the use
 * cases (one schema, in the domain). Transport only.
 */
export function registerWebhookRoutes(app: FastifyInstance, { webhooks }: { readonly webhooks: WebhooksApi }): void {
  const missing = (req: FastifyRequest) => problem('WEBHOOK_NOT_FOUND', 'no such webhook', req.id);

  app.post(
    '/api/v1/webhooks',
    { config: { permission: 'webhooks.manage' as const, openapi: DOCS.create } },
    async (req, reply) => {
      const r = await webhooks.create(req.caller, req.body ?? {});
      return r.ok ? reply.code(201).send({ webhook: r.value }) : send(reply, problemResult(req, r.error));
    },
  );

  app.get(
    '/api/v1/webhooks',
    { config: { permission: 'webhooks.read' as const, openapi: DOCS.list } },
    async (req) => ({
      data: await webhooks.list(req.caller),
    }),
  );

  app.get(
    '/api/v1/webhooks/:id',
    { config: { permission: 'webhooks.read' as const, openapi: DOCS.get } },
    async (req, reply) => {
      const id = parseId(req);
      if (id === undefined) return sendProblem(reply, missing(req));
      const r = await webhooks.get(req.caller, id);
      return r.ok ? { webhook: r.value } : send(reply, problemResult(req, r.error));
    },
  );

  app.patch(
    '/api/v1/webhooks/:id',
    { config: { permission: 'webhooks.manage' as const, openapi: DOCS.update } },
    async (req, reply) => {
      const id = parseId(req);
      if (id === undefined) return sendProblem(reply, missing(req));
      const r = await webhooks.update(req.caller, id, req.body ?? {});
      return r.ok ? { webhook: r.value } : send(reply, problemResult(req, r.error));
    },
  );

  app.delete(
    '/api/v1/webhooks/:id',
    { config: { permission: 'webhooks.manage' as const, openapi: DOCS.remove } },
    async (req, reply) => {
      const id = parseId(req);
      if (id === undefined) return sendProblem(reply, missing(req));
      const r = await webhooks.remove(req.caller, id);
      return r.ok ? reply.code(204).send() : send(reply, problemResult(req, r.error));
    },
  );

  app.get(
    '/api/v1/webhooks/:id/deliveries',
    { config: { permission: 'webhooks.read' as const, openapi: DOCS.deliveries } },
    async (req, reply) => {
      const id = parseId(req);
      if (id === undefined) return sendProblem(reply, missing(req));
      const q = pageQuery.safeParse(req.query ?? {});
      if (!q.success)
        return sendProblem(reply, problem('VALIDATION_FAILED', q.error.issues[0]?.message ?? 'bad query', req.id));
      const r = await webhooks.deliveries(req.caller, id, {
        limit: q.data.limit,
        ...(q.data.before === undefined ? {} : { before: q.data.before }),
      });
      return r.ok ? { data: r.value } : send(reply, problemResult(req, r.error));
    },
  );

  app.post(
    '/api/v1/webhooks/:id/deliveries/:delivery/redeliver',
    { config: { permission: 'webhooks.redeliver' as const, openapi: DOCS.redeliver } },
    async (req, reply) => {
      const p = deliveryParams.safeParse(req.params);
      if (!p.success) return sendProblem(reply, missing(req));
      const r = await webhooks.redeliver(req.caller, p.data.id, p.data.delivery);
      return r.ok ? reply.code(202).send({ delivery: r.value }) : send(reply, problemResult(req, r.error));
    },
  );
}

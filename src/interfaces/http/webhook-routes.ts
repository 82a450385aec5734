import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { WebhooksApi } from '../../application/webhooks/webhooks-api.js';
import { parseId, problemResult, send } from './plumbing/http-result.js';
import { problem, sendProblem } from './plumbing/problem.js';

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

/**
 * Outbound webhooks: POST/GET /api/v1/webhooks, GET/PATCH/DELETE /api/v1/webhooks/:id, the
 * delivery log GET /api/v1/webhooks/:id/deliveries and a redelivery
 * POST /api/v1/webhooks/:id/deliveries/:delivery/redeliver. Bodies are validated by the use
 * cases (one schema, in the domain). Transport only.
 */
export function registerWebhookRoutes(app: FastifyInstance, { webhooks }: { readonly webhooks: WebhooksApi }): void {
  const missing = (req: FastifyRequest) => problem('WEBHOOK_NOT_FOUND', 'no such webhook', req.id);

  app.post('/api/v1/webhooks', { config: { permission: 'webhooks.manage' as const } }, async (req, reply) => {
    const r = await webhooks.create(req.caller, req.body ?? {});
    return r.ok ? reply.code(201).send({ webhook: r.value }) : send(reply, problemResult(req, r.error));
  });

  app.get('/api/v1/webhooks', { config: { permission: 'webhooks.read' as const } }, async (req) => ({
    data: await webhooks.list(req.caller),
  }));

  app.get('/api/v1/webhooks/:id', { config: { permission: 'webhooks.read' as const } }, async (req, reply) => {
    const id = parseId(req);
    if (id === undefined) return sendProblem(reply, missing(req));
    const r = await webhooks.get(req.caller, id);
    return r.ok ? { webhook: r.value } : send(reply, problemResult(req, r.error));
  });

  app.patch('/api/v1/webhooks/:id', { config: { permission: 'webhooks.manage' as const } }, async (req, reply) => {
    const id = parseId(req);
    if (id === undefined) return sendProblem(reply, missing(req));
    const r = await webhooks.update(req.caller, id, req.body ?? {});
    return r.ok ? { webhook: r.value } : send(reply, problemResult(req, r.error));
  });

  app.delete('/api/v1/webhooks/:id', { config: { permission: 'webhooks.manage' as const } }, async (req, reply) => {
    const id = parseId(req);
    if (id === undefined) return sendProblem(reply, missing(req));
    const r = await webhooks.remove(req.caller, id);
    return r.ok ? reply.code(204).send() : send(reply, problemResult(req, r.error));
  });

  app.get(
    '/api/v1/webhooks/:id/deliveries',
    { config: { permission: 'webhooks.read' as const } },
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
    { config: { permission: 'webhooks.redeliver' as const } },
    async (req, reply) => {
      const p = deliveryParams.safeParse(req.params);
      if (!p.success) return sendProblem(reply, missing(req));
      const r = await webhooks.redeliver(req.caller, p.data.id, p.data.delivery);
      return r.ok ? reply.code(202).send({ delivery: r.value }) : send(reply, problemResult(req, r.error));
    },
  );
}

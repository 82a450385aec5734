import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Engine } from '../../application/engine.js';
import type { RefundView } from '../../application/refund-view.js';
import type { Result } from '../../domain/result.js';
import { type HttpResult, idempotent, parseId, problemResult, send, validationResult } from './order-routes.js';
import { problem, sendProblem, statusForCode } from './problem.js';

const refundBodySchema = z
  .object({
    /** Minor units; absent = everything not yet refunded. The domain checks the value. */
    amount: z.number().optional(),
    reason: z.string().min(1).max(200).optional(),
  })
  .strict();

const gatewayParamSchema = z.object({ gateway: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/) }).strict();
const flagsQuerySchema = z
  .object({
    open: z.enum(['true', 'false']).default('true'),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  })
  .strict();

function refundResult(req: FastifyRequest, r: Result<RefundView>): HttpResult {
  if (!r.ok) return problemResult(req, r.error);
  const refund = r.value;
  const location = { location: `/api/v1/refunds/${refund.id}` };
  if (refund.status === 'SUCCEEDED') return { status: 201, body: { refund }, headers: location, store: true };
  if (refund.status === 'PENDING')
    return {
      status: 202,
      body: { refund, next: `in progress: poll GET /api/v1/refunds/${refund.id}` },
      headers: location,
      store: true,
    };
  return {
    status: statusForCode('REFUND_DECLINED'),
    body: problem(
      'REFUND_DECLINED',
      `the gateway refused the refund: ${refund.failure_code ?? 'unknown reason'}`,
      req.id,
      { refund },
    ),
    headers: { ...location, 'content-type': 'application/problem+json; charset=utf-8' },
    store: true,
  };
}

/** Refunds, the ledger, findings for review, and gateway callbacks. Transport only. */
export function registerPaymentRoutes(app: FastifyInstance, engine: Engine): void {
  app.post('/api/v1/orders/:id/refund', async (req, reply) => {
    const id = parseId(req);
    if (id === undefined) return sendProblem(reply, problem('ORDER_NOT_FOUND', 'no such order', req.id));
    const parsed = refundBodySchema.safeParse(req.body ?? {});
    if (!parsed.success) return send(reply, validationResult(req, parsed.error));
    const b = parsed.data;
    return idempotent(engine, req, reply, async (ref, recovery) => {
      if (recovery !== null) return refundResult(req, await engine.refundOf(req.caller.tenantId, recovery));
      const request = {
        ...(b.amount === undefined ? {} : { amount: b.amount }),
        ...(b.reason === undefined ? {} : { reason: b.reason }),
      };
      return refundResult(req, await engine.requestRefund(req.caller, id, request, ref));
    });
  });

  app.get('/api/v1/orders/:id/refunds', async (req, reply) => {
    const id = parseId(req);
    if (id === undefined) return sendProblem(reply, problem('ORDER_NOT_FOUND', 'no such order', req.id));
    const r = await engine.listRefunds(req.caller.tenantId, id);
    return r.ok ? { data: r.value } : send(reply, problemResult(req, r.error));
  });

  app.get('/api/v1/refunds/:id', async (req, reply) => {
    const id = parseId(req);
    if (id === undefined) return sendProblem(reply, problem('REFUND_NOT_FOUND', 'no such refund', req.id));
    const r = await engine.refundOf(req.caller.tenantId, id);
    return r.ok ? { refund: r.value } : send(reply, problemResult(req, r.error));
  });

  app.get('/api/v1/gateways', () => ({
    data: engine.gateways().map((g) => ({
      name: g.name,
      methods: g.methods,
      ...(g.health === null
        ? {}
        : {
            breaker: g.health.breaker,
            available: g.health.available,
            in_flight: g.health.inFlight,
            calls: g.health.calls,
            failures: g.health.failures,
          }),
    })),
  }));

  app.get('/api/v1/ledger/balances', async (req) => {
    const tenant = req.caller.tenantId;
    const [balances, unbalanced] = await Promise.all([
      engine.ledgerBalances(tenant),
      engine.unbalancedJournals(tenant),
    ]);
    return {
      data: balances,
      balanced: unbalanced.length === 0,
      unbalanced_journals: unbalanced.map((u) => ({ journal_id: u.journalId, sum: u.sum })),
    };
  });

  app.get('/api/v1/review-flags', async (req, reply) => {
    const q = flagsQuerySchema.safeParse(req.query);
    if (!q.success) return send(reply, validationResult(req, q.error));
    const flags = await engine.reviewFlags(req.caller.tenantId, q.data.open === 'true', q.data.limit);
    return {
      data: flags.map((f) => ({
        id: f.id,
        code: f.code,
        resource_type: f.resourceType,
        resource_id: f.resourceId,
        detail: f.detail,
        created_at: new Date(f.createdAt).toISOString(),
        resolved_at: f.resolvedAt === null ? null : new Date(f.resolvedAt).toISOString(),
      })),
    };
  });

  // Callbacks carry their signature over the exact bytes received: keep the body as text,
  // whatever its type (JSON for WeChat Pay and the simulator, a form for Alipay).
  void app.register((scope, _opts, done) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, next) => next(null, body));
    scope.post('/api/v1/callbacks/:gateway', async (req, reply) => {
      const p = gatewayParamSchema.safeParse(req.params);
      if (!p.success) return sendProblem(reply, problem('GATEWAY_NOT_CONFIGURED', 'no such gateway', req.id));
      const headers: Record<string, string | undefined> = {};
      for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(',') : v;
      const body = typeof req.body === 'string' ? req.body : '';
      const r = await engine.handleCallback(p.data.gateway, { headers, body });
      if (r.accepted) {
        void reply.header('x-callback-effect', r.effect);
        return reply.code(r.ack.status).type(r.ack.contentType).send(r.ack.body);
      }
      void reply.header('x-error-code', r.code);
      if (r.ack === null) return sendProblem(reply, problem(r.code, r.message, req.id));
      // The gateway's own refusal format, at our status for the reason, so it retries or gives up as it should.
      return reply.code(statusForCode(r.code)).type(r.ack.contentType).send(r.ack.body);
    });
    done();
  });
}
